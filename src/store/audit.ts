/**
 * SQL for the append-only audit log (audit.event). Rows are only ever inserted: the table's
 * triggers refuse UPDATE, DELETE and TRUNCATE. Many events go in with one statement.
 */
import type { AuditReach } from '../core/access.ts';
import type { Db } from './db.ts';
import { Sql } from './sql.ts';

export interface AuditRow {
  /** ISO instant. */
  recorded: string;
  eventType: 'rest' | 'login';
  action: string;
  subtype: string;
  subtypeIhe: string | null;
  outcome: number;
  outcomeDesc: string | null;
  patientId: string | null;
  clientId: string | null;
  clientName: string | null;
  orgKind: string | null;
  orgCode: string | null;
  purpose: string;
  requestId: string | null;
  remoteAddr: string | null;
  tokenId: string | null;
  entityRef: string | null;
  query: string | null;
  /** The organization that provided what was resolved (a provider's sealed envelope, R21); absent for most events. */
  providerKind?: string | null;
  providerCode?: string | null;
  /** The access-log entry's nonce, when its leaf goes in with it (audit/access-log.ts). */
  nonce?: string | null;
}

/** Column order shared by the INSERT and the SELECTs (a closed list: no user input). */
const COLUMNS: [keyof AuditRow, string, string][] = [
  ['recorded', 'recorded', 'timestamptz'],
  ['eventType', 'event_type', 'text'],
  ['action', 'action', 'text'],
  ['subtype', 'subtype', 'text'],
  ['subtypeIhe', 'subtype_ihe', 'text'],
  ['outcome', 'outcome', 'int2'],
  ['outcomeDesc', 'outcome_desc', 'text'],
  ['patientId', 'patient_id', 'text'],
  ['clientId', 'client_id', 'text'],
  ['clientName', 'client_name', 'text'],
  ['orgKind', 'org_kind', 'text'],
  ['orgCode', 'org_code', 'text'],
  ['purpose', 'purpose', 'text'],
  ['requestId', 'request_id', 'text'],
  ['remoteAddr', 'remote_addr', 'text'],
  ['tokenId', 'token_id', 'text'],
  ['entityRef', 'entity_ref', 'text'],
  ['query', 'query', 'text'],
  ['providerKind', 'provider_kind', 'text'],
  ['providerCode', 'provider_code', 'text'],
  ['nonce', 'nonce', 'text'],
];

/** The event's columns as AuditRow keys, for readers that join audit.event as `alias` (store/access-log-read.ts). */
export const auditColumnsOf = (alias: string): string => COLUMNS.map(([k, c]) => `${alias}.${c} AS "${k}"`).join(', ');

// The batch travels as one JSON parameter: JSON.stringify is native and fast, where 19 array
// parameters would each be escaped element by element in JavaScript.
const INSERT = `INSERT INTO audit.event (${COLUMNS.map(([, c]) => c).join(', ')})
  SELECT ${COLUMNS.map(([k]) => `x."${k}"`).join(', ')}
  FROM json_to_recordset($1::json) AS x(${COLUMNS.map(([k, , t]) => `"${k}" ${t}`).join(', ')})`;

/**
 * A write that must commit exactly when a disclosure's audit record does (a confirmed visit is on
 * record only if its confirmation is audited, and the other way round): an INSERT or upsert over
 * JSON parameter `$param`, run as a CTE of the audit batch's own statement — together, at no extra
 * round trip. `kind` names it (a closed list: each owner registers one constant).
 */
export interface AuditedWriteSql {
  kind: string;
  cte(param: number): string;
}

/** Rows of one audited write, as the audit batch carries them. */
export interface AuditedWriteRows {
  sql: AuditedWriteSql;
  rows: readonly object[];
}

/** Audited writes of the same kind folded into one CTE each, in kind order (a stable statement shape). */
function foldWrites(writes: readonly AuditedWriteRows[]): { sql: AuditedWriteSql; rows: object[] }[] {
  const byKind = new Map<string, { sql: AuditedWriteSql; rows: object[] }>();
  for (const w of writes) {
    if (w.rows.length === 0) continue;
    const f = byKind.get(w.sql.kind) ?? { sql: w.sql, rows: [] };
    f.rows.push(...w.rows);
    byKind.set(w.sql.kind, f);
  }
  return [...byKind.values()].sort((a, b) => a.sql.kind.localeCompare(b.sql.kind));
}

/** Statement text by name: its shape depends only on which kinds travel (a closed list). */
const statements = new Map<string, string>();

/** An event's place in the access log (audit.log_order): its leaf index; `nonce` finds it among the statement's new events. */
export interface PlaceRow {
  idx: number;
  nonce: string;
}

/** A leaf of the access log (audit.log_leaf), as the appender computed it; its event is the one placed at `idx`. */
export interface LeafRow {
  idx: number;
  /** Lowercase hex. */
  hash: string;
  /** Lowercase hex: a fingerprint byte per entry field (audit/log-entry.ts entryForm), or null. */
  fields: string | null;
  person: string | null;
  pseq: number | null;
}

/** A complete subtree above the leaves (audit.log_node). */
export interface NodeRow {
  level: number;
  idx: number;
  /** Lowercase hex. */
  hash: string;
}

/** What goes into the access log with a batch: its events' places, or (inside another transaction) a place in the queue. */
export type LogPart = { places: readonly PlaceRow[] } | 'pending';

const PLACES = (param: number): string =>
  `INSERT INTO audit.log_order (idx, event)
   SELECT o.idx, e.seq FROM json_to_recordset($${param}::json) AS o(idx int8, nonce text) JOIN events e ON e.nonce = o.nonce`;

/**
 * Audited writes as a statement carries them: one CTE per kind (in kind order, numbered from
 * parameter `first` on) and its rows as JSON, rendered once per batch — the access log's appender
 * may run its statement more than once (another node took the leaf indices first).
 */
export interface RenderedWrites {
  kinds: string[];
  ctes: string[];
  params: string[];
}

export function renderWrites(writes: readonly AuditedWriteRows[], first: number): RenderedWrites {
  const folded = foldWrites(writes);
  return {
    kinds: folded.map((w) => w.sql.kind),
    ctes: folded.map((w, i) => `w_${w.sql.kind} AS (${w.sql.cte(first + i)})`),
    params: folded.map((w) => JSON.stringify(w.rows)),
  };
}

function run(db: Db, name: string, ctes: () => string[], params: readonly string[]): Promise<unknown> {
  let text = statements.get(name);
  if (text === undefined) {
    text = `WITH ${ctes().join(', ')} SELECT 1`;
    statements.set(name, text);
  }
  return db.query(text, params, name);
}

/**
 * Appends events and, atomically with them, the audited writes of the disclosures they record
 * and their place in the access log — their leaf indices, or (inside another transaction) a place
 * in the queue the appender empties once it commits: one statement
 * (`WITH events AS (INSERT …), places AS (…), w_<kind> AS (…) SELECT 1`). With no events (the
 * audit switched off for a benchmark) the writes run alone, still in one statement.
 */
export async function insertAuditEvents(
  db: Db,
  rows: readonly AuditRow[],
  writes: readonly AuditedWriteRows[] = [],
  log?: LogPart,
): Promise<void> {
  if (rows.length > 0 && log !== undefined && log !== 'pending') {
    await insertPlaced(db, JSON.stringify(rows), JSON.stringify(log.places), renderWrites(writes, 3));
    return;
  }
  const first = rows.length > 0 ? 2 : 1;
  const w = renderWrites(writes, first);
  if (rows.length === 0 && w.kinds.length === 0) return;
  if (w.kinds.length === 0 && log === undefined) {
    await db.query(INSERT, [JSON.stringify(rows)], 'insert_audit');
    return;
  }
  if (log === 'pending' && rows.some((r) => !r.nonce))
    // Its entry is rebuilt from the row when it gets its leaf: the row must hold the entry's nonce.
    throw new Error('an audit event queued for the access log needs its nonce');
  const pending = log === 'pending' && rows.length > 0;
  const name = `insert_audit${rows.length > 0 ? '' : '_none'}${pending ? '_pending' : ''}_${w.kinds.join('_')}`;
  await run(
    db,
    name,
    () => [
      ...(rows.length > 0 ? [`events AS (${INSERT} RETURNING seq, nonce)`] : []),
      ...(pending ? ['queued AS (INSERT INTO audit.log_pending (event) SELECT seq FROM events)'] : []),
      ...w.ctes,
    ],
    [...(rows.length > 0 ? [JSON.stringify(rows)] : []), ...w.params],
  );
}

/**
 * Events ($1) with their places in the access log ($2), as JSON the appender made, and the
 * audited writes rendered from $3 on: one statement.
 */
export async function insertPlaced(db: Db, events: string, places: string, writes: RenderedWrites): Promise<void> {
  await run(
    db,
    `insert_audit_placed_${writes.kinds.join('_')}`,
    () => [`events AS (${INSERT} RETURNING seq, nonce)`, `places AS (${PLACES(2)})`, ...writes.ctes],
    [events, places, ...writes.params],
  );
}

// ---- The access log: pending events, places, leaves and subtrees read back ----

/** Events written inside other transactions, committed and waiting for their places (oldest first). */
export async function pendingAuditEvents(db: Db, limit: number): Promise<StoredAudit[]> {
  const { rows } = await db.query<StoredAudit>(
    // Joined, so a queue row whose event is gone (only tampering can do that) never blocks the rest.
    `${SELECT} e WHERE e.seq IN (SELECT p.event FROM audit.log_pending p JOIN audit.event x ON x.seq = p.event ORDER BY p.event LIMIT $1) ORDER BY e.seq`,
    [limit],
    'audit_pending',
  );
  return rows.map(toStored);
}

/** Gives queued events their places (`[idx, event]` pairs) and takes them out of the queue: one statement. */
export async function placePending(db: Db, places: readonly (readonly [number, number])[]): Promise<void> {
  await db.query(
    `WITH placed AS (INSERT INTO audit.log_order (idx, event) SELECT * FROM unnest($1::int8[], $2::int8[]) RETURNING event),
       done AS (DELETE FROM audit.log_pending p USING placed o WHERE p.event = o.event) SELECT 1`,
    [places.map((p) => p[0]), places.map((p) => p[1])],
    'audit_log_place_pending',
  );
}

/**
 * The leaves of events already placed, and the subtrees they complete: one statement (a leaf's
 * event is the one placed at its index). Committed without waiting for the WAL flush (`synchronous_commit` off
 * for this transaction only): leaves and nodes are derived from the places, which were flushed —
 * a crash that loses the last of them loses nothing, the next run hashes those places again. A
 * later synchronous commit (a signed head) flushes the WAL up to itself, these leaves included.
 */
export async function insertLeaves(db: Db, leaves: readonly LeafRow[], nodes: readonly NodeRow[]): Promise<void> {
  await db.query(
    `WITH lazy AS (SELECT set_config('synchronous_commit', 'off', true)),
     leaves AS (
       INSERT INTO audit.log_leaf (idx, hash, fields, person, pseq)
       SELECT l.idx, decode(l.hash, 'hex'), decode(l.fields, 'hex'), l.person, l.pseq
       FROM json_to_recordset($1::json) AS l(idx int8, hash text, fields text, person text, pseq int4)),
     nodes AS (
       INSERT INTO audit.log_node (level, idx, hash)
       SELECT n.level, n.idx, decode(n.hash, 'hex') FROM json_to_recordset($2::json) AS n(level int2, idx int8, hash text))
     SELECT 1 FROM lazy`,
    [JSON.stringify(leaves), JSON.stringify(nodes)],
    'audit_log_leaves',
  );
}

/** How many places the log has given (leaf indices 0…n−1), hashed or not. */
export async function placedSize(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: string | number }>(
    `SELECT coalesce(max(idx) + 1, 0) AS n FROM audit.log_order`,
    [],
    'audit_log_placed',
  );
  return Number(rows[0]?.n ?? 0);
}

/** Placed events from leaf index `from` on, by index, each with its event row (absent if the row is gone). */
export async function placedEvents(db: Db, from: number, limit: number): Promise<{ idx: number; event: StoredAudit | undefined }[]> {
  const { rows } = await db.query<StoredAudit & { place: string | number }>(
    `SELECT o.idx AS place, e.seq, ${COLUMNS.map(([k, c]) => `e.${c} AS "${k}"`).join(', ')}
     FROM audit.log_order o LEFT JOIN audit.event e ON e.seq = o.event
     WHERE o.idx >= $1 ORDER BY o.idx LIMIT $2`,
    [from, limit],
    'audit_log_placed_events',
  );
  return rows.map(({ place, ...r }) => ({ idx: Number(place), event: r.seq === null || r.seq === undefined ? undefined : toStored(r) }));
}

/** How many leaves the log has (hashed). */
export async function logSize(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: string | number }>(
    `SELECT coalesce(max(idx) + 1, 0) AS n FROM audit.log_leaf`,
    [],
    'audit_log_size',
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Stored hashes, in one read: the subtrees `nodes` names (audit.log_node, level ≥ 1) and the leaf
 * hashes of the ranges `leaves` names ([start, end) each). Keyed `<level>/<index>` (level 0: a
 * leaf); what is not stored is absent.
 */
export async function readTreeHashes(
  db: Db,
  nodes: readonly { level: number; index: number }[],
  leaves: readonly { start: number; end: number }[],
): Promise<Map<string, Buffer>> {
  if (nodes.length === 0 && leaves.length === 0) return new Map();
  const { rows } = await db.query<{ level: number; idx: string | number; hash: Buffer }>(
    // One index range scan per leaf range (≤ 256 leaves each), one probe per node.
    `SELECT 0 AS level, l.idx, l.hash FROM unnest($1::int8[], $2::int8[]) AS r(lo, hi) JOIN audit.log_leaf l ON l.idx >= r.lo AND l.idx < r.hi
     UNION ALL
     SELECT n.level, n.idx, n.hash FROM audit.log_node n JOIN unnest($3::int2[], $4::int8[]) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx`,
    [leaves.map((r) => r.start), leaves.map((r) => r.end), nodes.map((t) => t.level), nodes.map((t) => t.index)],
    'audit_log_tree_hashes',
  );
  return new Map(rows.map((r) => [`${r.level}/${Number(r.idx)}`, Buffer.from(r.hash)]));
}

/** Where each person's chain stands: its last entry's seq and leaf hash. */
export async function chainHeads(db: Db, persons: readonly string[]): Promise<Map<string, { seq: number; hash: string }>> {
  if (persons.length === 0) return new Map();
  const { rows } = await db.query<{ person: string; pseq: number; hash: Buffer }>(
    // One index probe per person (the (person, pseq) key, backwards), however long their chains grow.
    `SELECT p.person, l.pseq, l.hash FROM unnest($1::text[]) AS p(person)
     CROSS JOIN LATERAL (SELECT pseq, hash FROM audit.log_leaf WHERE person = p.person ORDER BY pseq DESC LIMIT 1) l`,
    [[...persons]],
    'audit_log_heads',
  );
  return new Map(rows.map((r) => [r.person, { seq: r.pseq, hash: Buffer.from(r.hash).toString('hex') }]));
}

export interface StoredAudit extends AuditRow {
  /** The log's sequence number, which is also the AuditEvent's id. */
  seq: number;
}

const SELECT = `SELECT seq, ${COLUMNS.map(([k, c]) => `${c} AS "${k}"`).join(', ')} FROM audit.event`;

/** Both drivers return timestamptz as a Date; the row keeps ISO text. */
function toStored(r: StoredAudit): StoredAudit {
  const recorded = r.recorded as unknown;
  return { ...r, recorded: recorded instanceof Date ? recorded.toISOString() : String(recorded) };
}

/** One entry, if it is within the caller's reach (core/access.ts AuditReach; undefined: any). */
export async function readAuditEvent(db: Db, seq: number, reach?: AuditReach): Promise<StoredAudit | undefined> {
  const { rows } = await db.query<StoredAudit>(
    `${SELECT} WHERE seq = $1 AND ($2::text IS NULL OR client_id = $2::text) AND ($3::text IS NULL OR patient_id = $3::text)`,
    [seq, reach?.clientId ?? null, reach?.patientId ?? null],
    'read_audit_own',
  );
  return rows[0] ? toStored(rows[0]) : undefined;
}

/** Filters of an AuditEvent search; each array is OR, different fields AND. */
export interface AuditQuery {
  ids?: number[];
  patients?: string[];
  clients?: string[];
  actions?: string[];
  subtypes?: string[];
  outcomes?: number[];
  /** Type/id references; a stored Type/id/_history/v matches its Type/id. */
  entities?: string[];
  /** [from, to) on `recorded`, ISO strings; either may be absent. */
  recorded?: { from?: string; to?: string }[];
  /** Keyset: only events older than this seq (results are newest first). */
  beforeSeq?: number;
  limit: number;
}

function where(b: Sql, q: Omit<AuditQuery, 'limit'>): string {
  const c: string[] = [];
  // A filter given with no usable value matches nothing (a caller's reach narrowed to none, an
  // unknown outcome code): never "no filter", which would widen the answer to every event.
  const any = (col: string, vals: readonly unknown[] | undefined, cast: string): void => {
    if (vals) c.push(vals.length > 0 ? `${col} = ANY(${b.p(vals, cast)})` : 'FALSE');
  };
  any('seq', q.ids, 'int8[]');
  any('patient_id', q.patients, 'text[]');
  any('client_id', q.clients, 'text[]');
  any('action', q.actions, 'text[]');
  any('subtype', q.subtypes, 'text[]');
  any('outcome', q.outcomes, 'int2[]');
  if (q.entities && q.entities.length > 0) c.push(`split_part(entity_ref, '/_history/', 1) = ANY(${b.p(q.entities, 'text[]')})`);
  for (const r of q.recorded ?? []) {
    const parts: string[] = [];
    if (r.from) parts.push(`recorded >= ${b.p(r.from, 'timestamptz')}`);
    if (r.to) parts.push(`recorded < ${b.p(r.to, 'timestamptz')}`);
    if (parts.length) c.push(`(${parts.join(' AND ')})`);
  }
  if (q.beforeSeq !== undefined) c.push(`seq < ${b.p(q.beforeSeq, 'int8')}`);
  return c.length ? `WHERE ${c.join(' AND ')}` : '';
}

/** Newest first. */
export async function searchAuditEvents(db: Db, q: AuditQuery): Promise<StoredAudit[]> {
  const b = new Sql();
  const w = where(b, q);
  const { rows } = await db.query<StoredAudit>(`${SELECT} ${w} ORDER BY seq DESC LIMIT ${b.p(q.limit, 'int4')}`, b.params);
  return rows.map(toStored);
}

export async function countAuditEvents(db: Db, q: Omit<AuditQuery, 'limit' | 'beforeSeq'>): Promise<number> {
  const b = new Sql();
  const { rows } = await db.query<{ n: number }>(`SELECT count(*) AS n FROM audit.event ${where(b, q)}`, b.params);
  return rows[0]?.n ?? 0;
}
