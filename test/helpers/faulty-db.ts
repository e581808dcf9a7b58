/**
 * A database handle that lets a test make the real database fail on cue: inside transactions,
 * a statement matching a pattern can be run twice (so the database itself raises a unique
 * violation) or answered with a driver error (a serialization failure, a deadlock). Everything
 * else goes to the real driver, whose error mapping and retries are what the tests look at.
 */
import type { Db, QueryResult } from '../../src/store/db.ts';

export type Fault = { kind: 'run-twice' } | { kind: 'error'; code: string; message: string };

export class FaultyDb implements Db {
  readonly driver: Db['driver'];
  /** Statements inside transactions matching this get the fault (while armed). */
  pattern: RegExp = /$^/;
  fault: Fault | undefined;
  /** How many more times the fault fires (Infinity: until disarmed). */
  remaining = 0;
  /** How many times a matching statement was seen. */
  seen = 0;
  private readonly inner: Db;

  constructor(inner: Db) {
    this.inner = inner;
    this.driver = inner.driver;
  }

  arm(pattern: RegExp, fault: Fault, times = Infinity): void {
    Object.assign(this, { pattern, fault, remaining: times, seen: 0 });
  }

  disarm(): void {
    this.fault = undefined;
  }

  /** Inside a transaction: applies the fault to matching statements. */
  async inTx<R>(t: Db, sql: string, params: readonly unknown[] | undefined, name: string | undefined): Promise<QueryResult<R>> {
    if (this.fault && this.remaining > 0 && this.pattern.test(sql)) {
      this.seen++;
      this.remaining--;
      if (this.fault.kind === 'error') throw Object.assign(new Error(this.fault.message), { code: this.fault.code });
      await t.query(sql, params, name);
    }
    return t.query<R>(sql, params, name);
  }

  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], name?: string): Promise<QueryResult<R>> {
    return this.inner.query<R>(sql, params, name);
  }

  tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    return this.inner.tx((t) => fn(new FaultyTx(this, t)));
  }

  exec(sql: string): Promise<void> {
    return this.inner.exec(sql);
  }

  noteWrites(n: number): void {
    this.inner.noteWrites(n);
  }

  close(): Promise<void> {
    return Promise.resolve(); // the test database is closed by its owner
  }
}

class FaultyTx implements Db {
  readonly driver: Db['driver'];
  private readonly owner: FaultyDb;
  private readonly t: Db;

  constructor(owner: FaultyDb, t: Db) {
    this.owner = owner;
    this.t = t;
    this.driver = t.driver;
  }

  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], name?: string): Promise<QueryResult<R>> {
    return this.owner.inTx<R>(this.t, sql, params, name);
  }

  tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    return fn(this);
  }

  exec(sql: string): Promise<void> {
    return this.t.exec(sql);
  }

  noteWrites(n: number): void {
    this.t.noteWrites(n);
  }

  close(): Promise<void> {
    return Promise.reject(new Error('cannot close a transaction handle'));
  }
}
