/**
 * The FHIR resource repository: create, read, vread, update, delete and their conditional
 * forms, with versioning, validation and indexing. Bound to one Db handle; `transaction` gives
 * a repository bound to a transaction so bundles reuse every rule here unchanged.
 *
 * Access policy and HTTP live elsewhere; `afterWrite` hooks (the audit log, My Number MACs, the
 * match index) run inside the same database transaction as each write, so a write and its audit
 * record commit together or not at all. The database handle stays inside: a service that needs
 * its own statements next to resources gets both from a UnitOfWork (unit-of-work.ts).
 */
import crypto from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { ALL_ROWS } from '../core/access.ts';
import type { RowAccess } from '../core/access.ts';
import type { Clock } from '../core/clock.ts';
import { carryDecimals, DECIMAL_MARKS, parseJson, stringifyJson } from '../core/json.ts';
import type { PatientCompartment } from '../fhir/compartment.ts';
import type { FhirDefinitions } from '../fhir/definitions/index.ts';
import { errors } from '../core/outcome.ts';
import { indexResource } from '../fhir/search/index-rows.ts';
import type { IdentifierNormalizer } from '../fhir/search/index-rows.ts';
import type { Criterion } from '../fhir/search/model.ts';
import type { StoredResource } from '../fhir/stored-resource.ts';
import { parseSearch } from '../fhir/search/parse.ts';
import { withAccess } from '../fhir/search/with-access.ts';
import type { Db } from '../store/db.ts';
import { lockKey } from '../store/locks.ts';
import {
  deleteResource,
  insertResource,
  insertResources,
  lockCurrent,
  readCurrent,
  readCurrentMany,
  readVersion,
  updateResource,
  withinReach,
} from '../store/resources.ts';
import { referringResources, resourcesByIdentifier } from '../store/resource-lookups.ts';
import { searchPage } from '../store/search.ts';
import { ID_RE } from './datatype-rules.ts';
import type { Validator } from './validator.ts';

export interface WriteChange {
  action: 'create' | 'update' | 'delete';
  stored: StoredResource;
  /** The resource as written (creates and updates), with any symbol-keyed side data hooks left on it. */
  resource?: Resource;
}

/**
 * Runs inside the transaction of every write; throwing undoes the write. A bulk create hands
 * over all its changes at once, so a hook can write its own rows in one statement too.
 */
export type AfterWrite = (db: Db, changes: readonly WriteChange[]) => Promise<void>;

/**
 * Checks a client's write (never medid's own, `trusted`) before it is stored, inside its
 * transaction: the registry's integrity rules. `before` is the current version's JSON (absent
 * for a create), `after` the resource to store (absent for a delete). Throws to refuse.
 */
export type WriteGuard = (
  db: Db,
  /** `minted`: a create whose id the server has just drawn (no row, person or link can name it yet). */
  w: { type: string; id: string; before: string | null | undefined; after: Resource | undefined; minted: boolean },
) => Promise<void>;

export interface RepositoryDeps {
  db: Db;
  defs: FhirDefinitions;
  validator: Validator;
  compartment: PatientCompartment;
  baseUrl: string;
  clock: Clock;
  normalizeIdentifier: IdentifierNormalizer;
  afterWrite: readonly AfterWrite[];
  /** Run before every untrusted write (registry integrity). */
  guards?: readonly WriteGuard[];
}

/** Who writes: the rows the caller may write (the access policy); medid's own writes are trusted. */
export interface WriteAccess {
  access?: RowAccess;
}

export interface WriteResult {
  stored: StoredResource;
  /** 201 when the write created the resource, 200 otherwise. */
  created: boolean;
}

export interface UpdateOptions extends WriteAccess {
  ifMatch?: string;
  /** Whether the caller may create the resource when the id is unknown (update-as-create). */
  canCreate?: boolean;
  /** medid built the resource itself from checked input: skip profile validation (see prepare). */
  trusted?: boolean;
}

export function assertId(id: string): void {
  if (!ID_RE.test(id)) {
    throw errors.badRequest(`"${id}" is not a valid FHIR id ([A-Za-z0-9-.]{1,64})`, 'invalid-resource', 'id');
  }
}

/** The resource without the server-assigned meta fields, for "did anything change?". */
function withoutVersionMeta(r: Resource): string {
  const { meta, ...rest } = r;
  const m = { ...meta };
  delete m.versionId;
  delete m.lastUpdated;
  return stringifyJson(carryDecimals(r, { ...rest, meta: m }));
}

export class Repository {
  private readonly deps: RepositoryDeps;

  constructor(deps: RepositoryDeps) {
    this.deps = deps;
  }

  /** Runs `fn` with a repository whose every statement is in one database transaction. */
  transaction<T>(fn: (repo: Repository) => Promise<T>): Promise<T> {
    return this.deps.db.tx((t) => fn(t === this.deps.db ? this : new Repository({ ...this.deps, db: t })));
  }

  /** The current version; a row the caller may not see (`access`) is 404, like an unknown one. */
  async read(type: string, id: string, access: RowAccess = ALL_ROWS): Promise<StoredResource> {
    const r = await readCurrent(this.deps.db, type, id, access);
    if (!r) throw errors.notFound(`${type}/${id} is not known`);
    if (r.deleted) throw errors.gone(`${type}/${id} was deleted`);
    return r;
  }

  /** Live resources of one type by id, in the order asked; unknown or deleted ids are left out. */
  async readMany(type: string, ids: readonly string[], access: RowAccess = ALL_ROWS): Promise<StoredResource[]> {
    const byId = new Map((await readCurrentMany(this.deps.db, type, ids, access)).filter((r) => !r.deleted).map((r) => [r.id, r]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  async vread(type: string, id: string, versionId: string, access: RowAccess = ALL_ROWS): Promise<StoredResource> {
    const vid = /^\d{1,9}$/.test(versionId) ? Number(versionId) : NaN;
    const r = Number.isSafeInteger(vid) ? await readVersion(this.deps.db, type, id, vid, access) : undefined;
    if (!r) throw errors.notFound(`${type}/${id}/_history/${versionId} is not known`);
    if (r.deleted) throw errors.gone(`${type}/${id} version ${versionId} is a deletion`);
    return r;
  }

  /**
   * Validates and normalizes a resource for writing; returns the resource to store. `trusted`
   * is for resources medid built itself from checked input (the registry's Patients): they
   * are valid by construction (tests validate the builder's output against the profile), and
   * profile validation costs milliseconds per resource at import scale.
   */
  prepare(body: unknown, type: string, trusted = false): Resource {
    return trusted ? (body as Resource) : this.deps.validator.prepare(body, type);
  }

  /** Creates; `access` marks a client's write (the registry's guards run, the new row must be within reach). */
  async create(
    type: string,
    body: unknown,
    /** `idMinted`: `id` was drawn by the server for this create (a transaction entry's), never a client's choice. */
    opts: { ifNoneExist?: string; id?: string; idMinted?: boolean; trusted?: boolean } & WriteAccess = {},
  ): Promise<WriteResult> {
    const resource = this.prepare(body, type, opts.trusted);
    if (opts.ifNoneExist === undefined && this.deps.afterWrite.length === 0 && opts.access === undefined) {
      // One INSERT statement is atomic on its own: no transaction round trips needed.
      return this.insert(resource, opts.id ?? crypto.randomUUID(), 1);
    }
    return this.transaction(async (repo) => {
      if (opts.ifNoneExist !== undefined) {
        await lockKey(repo.deps.db, `create:${type}?${opts.ifNoneExist}`);
        const found = await repo.findMatches(type, opts.ifNoneExist, opts.access);
        if (found.length > 1) throw errors.multipleMatches(`If-None-Exist matched ${found.length} ${type} resources`);
        if (found[0]) return { stored: found[0], created: false };
      }
      return repo.insert(resource, opts.id ?? crypto.randomUUID(), 1, opts.access, opts.id === undefined || opts.idMinted === true);
    });
  }

  /** A client's write: the guards, then whether the persons it concerns are within the writer's reach. */
  private async checkClientWrite(
    access: RowAccess | undefined,
    type: string,
    id: string,
    before: StoredResource | undefined,
    after: Resource | undefined,
    compartment: readonly string[] | undefined,
    minted = false,
  ): Promise<void> {
    if (access === undefined) return;
    for (const guard of this.deps.guards ?? []) await guard(this.deps.db, { type, id, before: before?.content, after, minted });
    if (compartment !== undefined && !(await withinReach(this.deps.db, access, type, compartment))) {
      throw errors.forbidden(
        `Access policy: this ${type} would concern a person outside the caller's reach (rule: writes stay within reach)`,
      );
    }
  }

  /** Writes a version (new or next) with its index rows and compartment, then the hooks. */
  private async write(
    resource: Resource,
    id: string,
    versionId: number,
    existing: StoredResource | undefined,
    access?: RowAccess,
    minted = false,
  ): Promise<StoredResource> {
    const lastUpdated = this.deps.clock.now().toISOString();
    const stored: Resource = { ...resource, id, meta: { ...resource.meta, versionId: String(versionId), lastUpdated } };
    const content = stringifyJson(stored);
    const ix = indexResource(stored, this.deps.defs.searchParams, {
      baseUrl: this.deps.baseUrl,
      normalizeIdentifier: this.deps.normalizeIdentifier,
    });
    const compartment = this.deps.compartment.patientsOf(resource.resourceType, id, ix);
    // An update that keeps the persons it concerns needs no second look: lockVisible saw them.
    const samePersons = existing !== undefined && sameMembers(existing.compartment, compartment);
    await this.checkClientWrite(access, resource.resourceType, id, existing, resource, samePersons ? undefined : compartment, minted);
    const v = { resourceType: resource.resourceType, id, versionId, lastUpdated, content, compartment };
    const seq = existing ? existing.seq : await insertResource(this.deps.db, v, ix);
    if (existing) await updateResource(this.deps.db, existing.seq, v, ix);
    const out: StoredResource = {
      seq,
      resourceType: resource.resourceType,
      id,
      versionId,
      lastUpdated: new Date(lastUpdated),
      deleted: false,
      content,
      compartment,
    };
    for (const hook of this.deps.afterWrite)
      await hook(this.deps.db, [{ action: existing && !existing.deleted ? 'update' : 'create', stored: out, resource }]);
    return out;
  }

  /**
   * Creates many resources of one type, trusted (built by medid from checked input), in one
   * statement plus one call of each hook: the registry's bulk load. Runs in the caller's
   * transaction; ids must be new.
   */
  async createManyTrusted(type: string, items: readonly { id: string; resource: Resource }[]): Promise<StoredResource[]> {
    if (items.length === 0) return [];
    const lastUpdated = this.deps.clock.now().toISOString();
    const prepared = items.map(({ id, resource }) => {
      const stored: Resource = { ...resource, id, meta: { ...resource.meta, versionId: '1', lastUpdated } };
      const ix = indexResource(stored, this.deps.defs.searchParams, {
        baseUrl: this.deps.baseUrl,
        normalizeIdentifier: this.deps.normalizeIdentifier,
      });
      return {
        resource,
        ix,
        v: { id, versionId: 1, lastUpdated, content: stringifyJson(stored), compartment: this.deps.compartment.patientsOf(type, id, ix) },
      };
    });
    const seqs = await insertResources(
      this.deps.db,
      type,
      prepared.map((p) => p.v),
      prepared.map((p) => p.ix),
    );
    const changes: WriteChange[] = prepared.map((p, n) => ({
      action: 'create',
      resource: p.resource,
      stored: { seq: seqs[n], resourceType: type, ...p.v, lastUpdated: new Date(lastUpdated), deleted: false },
    }));
    for (const hook of this.deps.afterWrite) await hook(this.deps.db, changes);
    return changes.map((c) => c.stored);
  }

  private async insert(resource: Resource, id: string, versionId: number, access?: RowAccess, minted = false): Promise<WriteResult> {
    return { stored: await this.write(resource, id, versionId, undefined, access, minted), created: true };
  }

  /**
   * Update by id; creates the resource when the id is unknown (update-as-create). An update
   * that changes nothing but meta returns the current version instead of writing a new one.
   */
  async update(type: string, id: string, body: unknown, opts: UpdateOptions = {}): Promise<WriteResult> {
    assertId(id);
    const resource = this.prepare(body, type, opts.trusted);
    if (resource.id === undefined) throw errors.badRequest('The resource must carry its id in an update', 'id-mismatch', 'id');
    if (resource.id !== id)
      throw errors.badRequest(`The resource id "${resource.id}" does not match the URL id "${id}"`, 'id-mismatch', 'id');
    return this.transaction(async (repo) => {
      const current = await repo.lockVisible(type, id, opts.access);
      checkIfMatch(current, opts.ifMatch);
      if (!current || current.deleted) {
        if (opts.canCreate === false) throw errors.forbidden(`Creating ${type} is not within the granted scopes`);
        if (!current) return repo.insert(resource, id, 1, opts.access);
      } else if (
        Object.getOwnPropertySymbols(resource).every((s) => DECIMAL_MARKS.has(s)) &&
        current.content !== null &&
        withoutVersionMeta(parseJson(current.content) as Resource) === withoutVersionMeta({ ...resource, id })
      ) {
        // Nothing changed (and no hook has side data to record): keep the current version.
        return { stored: current, created: false };
      }
      const stored = await repo.write(resource, id, current.versionId + 1, current, opts.access);
      return { stored, created: current.deleted };
    });
  }

  /**
   * PATCH: `apply` turns the current version (a fresh copy, its own to change) into the new
   * resource, which is then written exactly as an update (validation, guards, reach, hooks). The
   * current version is read under the update's row lock, in its transaction: two concurrent
   * patches apply one after the other, and neither is lost. If-Match is checked against it.
   */
  async patch(
    type: string,
    id: string,
    apply: (current: Resource) => unknown,
    opts: WriteAccess & { ifMatch?: string } = {},
  ): Promise<WriteResult> {
    assertId(id);
    return this.transaction(async (repo) => {
      const current = await repo.lockVisible(type, id, opts.access);
      if (!current) throw errors.notFound(`${type}/${id} is not known`);
      if (current.deleted || current.content === null) throw errors.gone(`${type}/${id} was deleted`);
      checkIfMatch(current, opts.ifMatch);
      const patched = apply(parseJson(current.content) as Resource);
      // The lock is held: the update below reads the same version and writes the next one.
      return repo.update(type, id, patched, { access: opts.access, canCreate: false });
    });
  }

  /** PATCH Type?criteria: the one match is patched; none is 404, more are 412. */
  async conditionalPatch(
    type: string,
    criteria: string,
    apply: (current: Resource) => unknown,
    opts: WriteAccess & { ifMatch?: string } = {},
  ): Promise<WriteResult> {
    return this.transaction(async (repo) => {
      const found = await repo.findMatches(type, criteria, opts.access);
      if (found.length > 1) throw errors.multipleMatches(`The patch criteria matched ${found.length} ${type} resources`);
      if (!found[0]) throw errors.notFound(`No ${type} matched the patch criteria`);
      return repo.patch(type, found[0].id, apply, opts);
    });
  }

  /** PUT Type?criteria: 0 matches create, 1 updates it, more are 412. */
  async conditionalUpdate(type: string, criteria: string, body: unknown, opts: UpdateOptions = {}): Promise<WriteResult> {
    const resource = this.prepare(body, type);
    return this.transaction(async (repo) => {
      await lockKey(repo.deps.db, `create:${type}?${criteria}`);
      const found = await repo.findMatches(type, criteria, opts.access);
      if (found.length > 1) throw errors.multipleMatches(`The update criteria matched ${found.length} ${type} resources`);
      const match = found[0];
      if (match) {
        if (resource.id !== undefined && resource.id !== match.id) {
          throw errors.badRequest(
            `The resource id "${resource.id}" does not match the resource found by the criteria`,
            'id-mismatch',
            'id',
          );
        }
        return repo.update(type, match.id, { ...resource, id: match.id }, opts);
      }
      if (opts.canCreate === false) throw errors.forbidden(`Creating ${type} is not within the granted scopes`);
      if (resource.id !== undefined) {
        assertId(resource.id);
        const existing = await readCurrent(repo.deps.db, type, resource.id, opts.access);
        if (existing && !existing.deleted) {
          throw errors.conflict(`${type}/${resource.id} exists but does not meet the update criteria`, 'multiple-matches');
        }
        return repo.update(type, resource.id, resource, opts);
      }
      return repo.insert(resource, crypto.randomUUID(), 1, opts.access);
    });
  }

  /**
   * Locks the current version for a read-modify-write; a row outside the caller's reach is
   * treated as unknown (the caller learns nothing of it) — but a hidden id cannot be taken
   * over by update-as-create either: that is refused.
   */
  private async lockVisible(type: string, id: string, access: RowAccess | undefined): Promise<StoredResource | undefined> {
    const current = await lockCurrent(this.deps.db, type, id);
    if (!current || access === undefined || access.kind === 'all') return current;
    if (await withinReach(this.deps.db, access, type, current.compartment)) return current;
    throw errors.notFound(`${type}/${id} is not known`);
  }

  /** Deletes; returns false when the resource was already deleted. Unknown ids are 404. */
  async delete(type: string, id: string, opts: { ifMatch?: string } & WriteAccess = {}): Promise<boolean> {
    return this.transaction(async (repo) => {
      const current = await repo.lockVisible(type, id, opts.access);
      if (!current) throw errors.notFound(`${type}/${id} is not known`);
      checkIfMatch(current, opts.ifMatch);
      if (current.deleted) return false;
      await repo.checkClientWrite(opts.access, type, id, current, undefined, undefined);
      const versionId = current.versionId + 1;
      const lastUpdated = repo.deps.clock.now().toISOString();
      await deleteResource(repo.deps.db, current.seq, type, id, versionId, lastUpdated);
      const stored: StoredResource = { ...current, versionId, lastUpdated: new Date(lastUpdated), deleted: true, content: null };
      for (const hook of repo.deps.afterWrite) await hook(repo.deps.db, [{ action: 'delete', stored }]);
      return true;
    });
  }

  /** DELETE Type?criteria: deletes the one match; more than one is 412; none is a no-op. */
  async conditionalDelete(type: string, criteria: string, opts: WriteAccess = {}): Promise<boolean> {
    return this.transaction(async (repo) => {
      const found = await repo.findMatches(type, criteria, opts.access);
      if (found.length > 1) throw errors.multipleMatches(`The delete criteria matched ${found.length} ${type} resources`);
      return found[0] ? repo.delete(type, found[0].id, opts) : false;
    });
  }

  /** Live resources of `type` that point at any of `targetType/targetIds` through search parameter `param` (Consent.patient). */
  async referring(
    type: string,
    param: string,
    targetType: string,
    targetIds: readonly string[],
  ): Promise<{ id: string; content: string }[]> {
    return referringResources(this.deps.db, type, param, targetType, targetIds);
  }

  /** Live resources of `type` carrying any of these identifier values (as indexed) in `system`. */
  async byIdentifier(type: string, system: string, values: readonly string[]): Promise<{ id: string; content: string }[]> {
    return resourcesByIdentifier(this.deps.db, type, system, values);
  }

  /** Whether a live resource meets every criterion (a scope constraint, say). */
  async meets(stored: StoredResource, criteria: readonly Criterion[]): Promise<boolean> {
    const idParam = this.deps.defs.searchParams.get(stored.resourceType, '_id');
    if (!idParam) return true;
    const page = await searchPage(this.deps.db, {
      resourceType: stored.resourceType,
      sort: [],
      cursor: undefined,
      limit: 1,
      criteria: [
        { kind: 'token', param: idParam, not: false, values: [{ system: undefined, code: stored.id, anySystem: true }] },
        ...criteria,
      ],
    });
    return page.rows.length > 0;
  }

  /** Up to two live matches of a search query string (enough to tell 0, 1 and many apart). */
  async findMatches(type: string, criteria: string, access: RowAccess = ALL_ROWS): Promise<StoredResource[]> {
    const query = [...new URLSearchParams(criteria)];
    if (query.length === 0) throw errors.badRequest('Conditional criteria must not be empty', 'invalid-search-value');
    const req = parseSearch(type, query, {
      searchParams: this.deps.defs.searchParams,
      isResourceType: this.deps.defs.isResourceType,
      baseUrl: this.deps.baseUrl,
      defaultCount: 2,
      maxCount: 2,
      lenient: false,
      normalizeIdentifier: this.deps.normalizeIdentifier,
    });
    // The caller's reach at every level: a chain or _has in the criteria sees only what it may.
    const criteriaSeen: Criterion[] = withAccess(req.criteria, access);
    const page = await searchPage(this.deps.db, { resourceType: type, criteria: criteriaSeen, sort: [], cursor: undefined, limit: 2 });
    return Promise.all(page.rows.map((r) => this.read(r.resourceType, r.id)));
  }
}

const sameMembers = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));

/** If-Match: W/"n" must name the current version (412 otherwise). */
function checkIfMatch(current: StoredResource | undefined, ifMatch: string | undefined): void {
  if (ifMatch === undefined) return;
  const m = /^(?:W\/)?"([^"]+)"$/.exec(ifMatch.trim());
  if (!m) throw errors.badRequest(`If-Match "${ifMatch}" must be an ETag such as W/"3"`, 'invalid-parameter', 'If-Match');
  if (!current || current.deleted || String(current.versionId) !== m[1]) {
    throw errors.preconditionFailed(
      `If-Match ${ifMatch} does not match the current version${current && !current.deleted ? ` W/"${current.versionId}"` : ''}`,
    );
  }
}
