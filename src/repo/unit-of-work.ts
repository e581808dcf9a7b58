/**
 * A unit of work: the FHIR resources and the database handle of one connection or transaction,
 * side by side. A service that writes resources and its own rows together (the registry: a
 * Patient and its person, medical ID and identifiers) takes one and runs `transaction`; both
 * halves are then bound to the same transaction. The Repository alone never hands out its
 * database handle; this is the one place the pair is made.
 */
import type { Db } from '../store/db.ts';
import { Repository } from './repository.ts';
import type { RepositoryDeps } from './repository.ts';

export class UnitOfWork {
  /** The FHIR resources, bound to this unit's connection or transaction. */
  readonly resources: Repository;
  /** The same connection or transaction, for a service's own statements (store/ functions). */
  readonly db: Db;
  private readonly deps: RepositoryDeps;

  constructor(deps: RepositoryDeps) {
    this.deps = deps;
    this.db = deps.db;
    this.resources = new Repository(deps);
  }

  /** Runs `fn` with a unit bound to one transaction (inside a transaction: the same one). */
  transaction<T>(fn: (tx: UnitOfWork) => Promise<T>): Promise<T> {
    return this.db.tx((t) => fn(t === this.db ? this : new UnitOfWork({ ...this.deps, db: t })));
  }
}
