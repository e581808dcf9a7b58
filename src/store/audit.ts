/**
 * SQL for the append-only audit log (audit.event). Rows are only ever inserted: the table's
 * triggers refuse UPDATE, DELETE and TRUNCATE. Many events go in with one statement.
 */
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
];

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

/**
 * Appends events and, atomically with them, the audited writes of the disclosures they record:
 * one statement (`WITH events AS (INSERT …), w_<kind> AS (…) SELECT 1`). With no events (the
 * audit switched off for a benchmark) the writes run alone, still in one statement.
 */
export async function insertAuditEvents(db: Db, rows: readonly AuditRow[], writes: readonly AuditedWriteRows[] = []): Promise<void> {
  const folded = foldWrites(writes);
  if (rows.length === 0 && folded.length === 0) return;
  if (folded.length === 0) {
    await db.query(INSERT, [JSON.stringify(rows)], 'insert_audit');
    return;
  }
  const events = rows.length > 0 ? [`events AS (${INSERT})`] : [];
  const first = rows.length > 0 ? 2 : 1;
  const ctes = [...events, ...folded.map((w, i) => `w_${w.sql.kind} AS (${w.sql.cte(first + i)})`)];
  const params = [...(rows.length > 0 ? [JSON.stringify(rows)] : []), ...folded.map((w) => JSON.stringify(w.rows))];
  const name = `insert_audit${rows.length > 0 ? '' : '_none'}_${folded.map((w) => w.sql.kind).join('_')}`;
  let text = statements.get(name);
  if (text === undefined) {
    text = `WITH ${ctes.join(', ')} SELECT 1`;
    statements.set(name, text);
  }
  await db.query(text, params, name);
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

/** One entry; with `clientId`, only if that client caused it (a non-authority caller's own events). */
export async function readAuditEvent(db: Db, seq: number, clientId?: string): Promise<StoredAudit | undefined> {
  const { rows } = await db.query<StoredAudit>(
    `${SELECT} WHERE seq = $1 AND ($2::text IS NULL OR client_id = $2::text)`,
    [seq, clientId ?? null],
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
  const any = (col: string, vals: readonly unknown[] | undefined, cast: string): void => {
    if (vals && vals.length > 0) c.push(`${col} = ANY(${b.p(vals, cast)})`);
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
