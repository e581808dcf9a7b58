/**
 * Resource rows: current versions, version history and their search index rows. A write is one
 * SQL statement (data-modifying CTEs) so the resource, its history row and every index row
 * land together, in one round trip, on both drivers.
 */
import type { IndexRows } from '../fhir/search/index-rows.ts';
import { toSqlTime } from '../fhir/search/date-range.ts';
import type { StoredResource } from '../fhir/stored-resource.ts';
import type { RowAccess } from '../core/access.ts';
import { ALL_ROWS } from '../core/access.ts';
import { accessSql, accessSqlForType } from './access-sql.ts';
import type { Db } from './db.ts';
import { statementNames } from './prepared.ts';
import { Sql } from './sql.ts';

interface Row {
  seq: number;
  resource_type: string;
  id: string;
  version_id: number;
  last_updated: Date;
  deleted: boolean;
  content: string | null;
  compartment: string[] | null;
}

const toStored = (r: Row): StoredResource => ({
  seq: r.seq,
  resourceType: r.resource_type,
  id: r.id,
  versionId: r.version_id,
  lastUpdated: r.last_updated,
  deleted: r.deleted,
  content: r.content,
  compartment: r.compartment ?? [],
});

const COLS = 'seq, resource_type, id, version_id, last_updated, deleted, content, compartment';

/** The current version, when the caller may see it (`access`: the policy compiled into the query). */
export async function readCurrent(db: Db, type: string, id: string, access: RowAccess = ALL_ROWS): Promise<StoredResource | undefined> {
  if (access.kind === 'all') {
    const { rows } = await db.query<Row>(
      `SELECT ${COLS} FROM fhir.resource WHERE resource_type = $1 AND id = $2`,
      [type, id],
      'read_current',
    );
    return rows[0] ? toStored(rows[0]) : undefined;
  }
  const b = new Sql();
  const text = `SELECT ${COLS} FROM fhir.resource WHERE resource_type = ${b.p(type)} AND id = ${b.p(id)} AND ${accessSqlForType(b, access, type, 'compartment')}`;
  const { rows } = await db.query<Row>(text, b.params, statementNames.nameFor(text));
  return rows[0] ? toStored(rows[0]) : undefined;
}

/** Reads and row-locks the current version, for a read-modify-write in a transaction. */
export async function lockCurrent(db: Db, type: string, id: string): Promise<StoredResource | undefined> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLS} FROM fhir.resource WHERE resource_type = $1 AND id = $2 FOR UPDATE`,
    [type, id],
    'lock_current',
  );
  return rows[0] ? toStored(rows[0]) : undefined;
}

export async function readVersion(
  db: Db,
  type: string,
  id: string,
  versionId: number,
  access: RowAccess = ALL_ROWS,
): Promise<StoredResource | undefined> {
  const b = new Sql();
  const visible = access.kind === 'all' ? '' : ` AND ${accessSqlForType(b, access, type, 'compartment')}`;
  const text = `SELECT vseq AS seq, resource_type, id, version_id, last_updated, deleted, content, compartment FROM fhir.resource_version
     WHERE resource_type = ${b.p(type)} AND id = ${b.p(id)} AND version_id = ${b.p(versionId, 'int4')}${visible}`;
  const { rows } = await db.query<Row>(text, b.params, statementNames.nameFor(text));
  return rows[0] ? toStored(rows[0]) : undefined;
}

/** Whether every person of a compartment is within reach for a type (a write's before and after). */
export async function withinReach(db: Db, access: RowAccess, type: string, compartment: readonly string[]): Promise<boolean> {
  if (access.kind === 'all') return true;
  const b = new Sql();
  const text = `SELECT ${accessSqlForType(b, access, type, b.p([...compartment], 'text[]'))} AS ok`;
  const { rows } = await db.query<{ ok: boolean }>(text, b.params, statementNames.nameFor(text));
  return rows[0]?.ok ?? false;
}

/** Current versions of resources of one type by id (one round trip), in no particular order; only those the caller may see. */
export async function readCurrentMany(
  db: Db,
  type: string,
  ids: readonly string[],
  access: RowAccess = ALL_ROWS,
): Promise<StoredResource[]> {
  if (ids.length === 0) return [];
  const b = new Sql();
  const visible = access.kind === 'all' ? '' : ` AND ${accessSqlForType(b, access, type, 'compartment')}`;
  const text = `SELECT ${COLS} FROM fhir.resource WHERE resource_type = ${b.p(type)} AND id = ANY(${b.p([...ids], 'text[]')})${visible}`;
  const { rows } = await db.query<Row>(text, b.params, statementNames.nameFor(text));
  return rows.map(toStored);
}

export interface NewVersion {
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: string;
  content: string;
  compartment: string[];
}

/** Each index table: its rows' JSON keys, columns and SQL types (a closed list: no user input). */
const INDEX_SPECS: { key: keyof IndexRows; table: string; cols: [json: string, column: string, type: string][] }[] = [
  {
    key: 'token',
    table: 'fhir.sp_token',
    cols: [
      ['system', 'system', 'text'],
      ['code', 'code', 'text'],
      ['display', 'display', 'text'],
    ],
  },
  {
    key: 'string',
    table: 'fhir.sp_string',
    cols: [
      ['value', 'value', 'text'],
      ['exact', 'exact', 'text'],
    ],
  },
  {
    key: 'date',
    table: 'fhir.sp_date',
    cols: [
      ['lo', 'lo', 'timestamptz'],
      ['hi', 'hi', 'timestamptz'],
    ],
  },
  {
    key: 'reference',
    table: 'fhir.sp_reference',
    cols: [
      ['targetType', 'target_type', 'text'],
      ['targetId', 'target_id', 'text'],
      ['url', 'url', 'text'],
    ],
  },
  { key: 'number', table: 'fhir.sp_number', cols: [['value', 'value', 'numeric']] },
  {
    key: 'quantity',
    table: 'fhir.sp_quantity',
    cols: [
      ['value', 'value', 'numeric'],
      ['system', 'system', 'text'],
      ['code', 'code', 'text'],
    ],
  },
  { key: 'uri', table: 'fhir.sp_uri', cols: [['value', 'value', 'text']] },
];

/** A row as its JSON travels: dates as SQL instants (±infinity for open ends). */
function jsonRow(key: keyof IndexRows, row: IndexRows[keyof IndexRows][number]): object {
  if (key !== 'date') return row;
  const d = row as IndexRows['date'][number];
  return { param: d.param, lo: toSqlTime(d.lo), hi: toSqlTime(d.hi) };
}

/**
 * INSERT … SELECT FROM json_to_recordset(…) for each index table that has rows, as CTE parts.
 * Rows travel as one JSON parameter per table: JSON.stringify is native, where array
 * parameters are escaped element by element in JavaScript. `res` is the SQL of the owning
 * resource's seq, or 'many': for many resources at once, each row carries its resource's id as
 * `rid` and the seq is joined from the `r` CTE (which returns seq and id).
 */
function indexCtes(b: Sql, res: string, type: string, rows: Record<keyof IndexRows, object[]>): string[] {
  const specs = INDEX_SPECS.filter((spec) => rows[spec.key].length > 0);
  // A resource with no index rows (a Binary, an empty Parameters) binds no type parameter: a
  // parameter the statement never uses is a bind error on PostgreSQL.
  if (specs.length === 0) return [];
  const t = b.p(type);
  const many = res === 'many';
  return specs.map(({ key, table, cols }) => {
    const defs = [...(many ? ['rid text'] : []), 'param text', ...cols.map(([j, , ty]) => `"${j}" ${ty}`)].join(', ');
    return `i_${key} AS (INSERT INTO ${table} (res, resource_type, param, ${cols.map(([, c]) => c).join(', ')})
      SELECT ${many ? 'r.seq' : res}, ${t}, u.param, ${cols.map(([j]) => `u."${j}"`).join(', ')}
      FROM json_to_recordset(${b.p(JSON.stringify(rows[key]), 'json')}) AS u(${defs})${many ? ' JOIN r ON r.id = u.rid' : ''})`;
  });
}

const indexKeys = INDEX_SPECS.map((s) => s.key);

/** One resource's index rows, ready for indexCtes. */
function jsonRows(ix: IndexRows): Record<keyof IndexRows, object[]> {
  return Object.fromEntries(indexKeys.map((k) => [k, ix[k].map((r) => jsonRow(k, r))])) as Record<keyof IndexRows, object[]>;
}

/** The index rows of many resources, each row tagged with its resource's id. */
function jsonRowsOfMany(ids: readonly string[], ixs: readonly IndexRows[]): Record<keyof IndexRows, object[]> {
  const out = Object.fromEntries(indexKeys.map((k) => [k, [] as object[]])) as Record<keyof IndexRows, object[]>;
  ixs.forEach((ix, n) => {
    for (const k of indexKeys) for (const r of ix[k]) out[k].push({ rid: ids[n], ...jsonRow(k, r) });
  });
  return out;
}

const INDEX_TABLES = ['sp_token', 'sp_string', 'sp_date', 'sp_reference', 'sp_number', 'sp_quantity', 'sp_uri'];

/** Creates a resource (version 1, or a re-creation with a given version). Returns its seq. */
export async function insertResource(db: Db, v: NewVersion, ix: IndexRows): Promise<number> {
  const b = new Sql();
  const [type, id, vid, lu, content, comp] = [
    b.p(v.resourceType),
    b.p(v.id),
    b.p(v.versionId, 'int4'),
    b.p(v.lastUpdated, 'timestamptz'),
    b.p(v.content),
    b.p(v.compartment, 'text[]'),
  ];
  const ctes = [
    `r AS (INSERT INTO fhir.resource (resource_type, id, version_id, last_updated, content, compartment) VALUES (${type}, ${id}, ${vid}, ${lu}, ${content}, ${comp}) RETURNING seq)`,
    `v AS (INSERT INTO fhir.resource_version (resource_type, id, version_id, last_updated, deleted, content, compartment) VALUES (${type}, ${id}, ${vid}, ${lu}, false, ${content}, ${comp}))`,
    ...indexCtes(b, '(SELECT seq FROM r)', v.resourceType, jsonRows(ix)),
  ];
  const text = `WITH ${ctes.join(',\n')} SELECT seq FROM r`;
  const { rows } = await db.query<{ seq: number }>(text, b.params, statementNames.nameFor(text));
  db.noteWrites(1);
  return rows[0].seq;
}

/**
 * Creates many resources of one type (version 1) in one statement: rows, history rows and every
 * index row, for bulk loads. Returns each resource's seq, in input order.
 */
export async function insertResources(
  db: Db,
  type: string,
  vs: readonly Omit<NewVersion, 'resourceType'>[],
  ixs: readonly IndexRows[],
): Promise<number[]> {
  if (vs.length === 0) return [];
  const b = new Sql();
  const t = b.p(type);
  // One JSON parameter: resource JSON inside JSON is escaped natively by JSON.stringify.
  const nvJson = b.p(
    JSON.stringify(vs.map((v) => ({ id: v.id, vid: v.versionId, lu: v.lastUpdated, content: v.content, comp: v.compartment }))),
    'json',
  );
  const compartment = `ARRAY(SELECT jsonb_array_elements_text(nv.comp))`;
  const ctes = [
    `nv AS (SELECT * FROM json_to_recordset(${nvJson}) AS nv(id text, vid int4, lu timestamptz, content text, comp jsonb))`,
    `r AS (INSERT INTO fhir.resource (resource_type, id, version_id, last_updated, content, compartment)
      SELECT ${t}, nv.id, nv.vid, nv.lu, nv.content, ${compartment} FROM nv RETURNING seq, id)`,
    `v AS (INSERT INTO fhir.resource_version (resource_type, id, version_id, last_updated, deleted, content, compartment)
      SELECT ${t}, nv.id, nv.vid, nv.lu, false, nv.content, ${compartment} FROM nv)`,
    ...indexCtes(
      b,
      'many',
      type,
      jsonRowsOfMany(
        vs.map((v) => v.id),
        ixs,
      ),
    ),
  ];
  const { rows } = await db.query<{ seq: number; id: string }>(`WITH ${ctes.join(',\n')} SELECT seq, id FROM r`, b.params);
  db.noteWrites(vs.length);
  const seqOf = new Map(rows.map((r) => [r.id, r.seq]));
  return vs.map((v) => seqOf.get(v.id) as number);
}

/** Replaces the current version of an existing resource (also one that was deleted). */
export async function updateResource(db: Db, seq: number, v: NewVersion, ix: IndexRows): Promise<void> {
  const b = new Sql();
  const res = b.p(seq, 'int8');
  const [type, id, vid, lu, content, comp] = [
    b.p(v.resourceType),
    b.p(v.id),
    b.p(v.versionId, 'int4'),
    b.p(v.lastUpdated, 'timestamptz'),
    b.p(v.content),
    b.p(v.compartment, 'text[]'),
  ];
  const ctes = [
    `r AS (UPDATE fhir.resource SET version_id = ${vid}, last_updated = ${lu}, content = ${content}, compartment = ${comp}, deleted = false WHERE seq = ${res})`,
    `v AS (INSERT INTO fhir.resource_version (resource_type, id, version_id, last_updated, deleted, content, compartment) VALUES (${type}, ${id}, ${vid}, ${lu}, false, ${content}, ${comp}))`,
    ...INDEX_TABLES.map((t) => `d_${t} AS (DELETE FROM fhir.${t} WHERE res = ${res})`),
    ...indexCtes(b, res, v.resourceType, jsonRows(ix)),
  ];
  const text = `WITH ${ctes.join(',\n')} SELECT 1`;
  await db.query(text, b.params, statementNames.nameFor(text));
  db.noteWrites(1);
}

/** Marks a resource deleted: a history row without content, and no index rows left. */
export async function deleteResource(db: Db, seq: number, type: string, id: string, versionId: number, lastUpdated: string): Promise<void> {
  const ctes = [
    `r AS (UPDATE fhir.resource SET version_id = $4, last_updated = $5::timestamptz, content = NULL, deleted = true WHERE seq = $1)`,
    `v AS (INSERT INTO fhir.resource_version (resource_type, id, version_id, last_updated, deleted, content, compartment)
      SELECT $2, $3, $4, $5::timestamptz, true, NULL, compartment FROM fhir.resource WHERE seq = $1)`,
    ...INDEX_TABLES.map((t) => `d_${t} AS (DELETE FROM fhir.${t} WHERE res = $1)`),
  ];
  await db.query(`WITH ${ctes.join(',\n')} SELECT 1`, [seq, type, id, versionId, lastUpdated], 'delete_resource');
  db.noteWrites(1);
}

export interface HistoryQuery {
  resourceType?: string;
  id?: string;
  /** Only versions changed at or after this instant (ISO). */
  since?: string;
  /** Only versions that were current at this instant (ISO). */
  at?: string;
  /** Keyset: only versions older than this vseq. */
  beforeVseq?: number;
  limit: number;
  /** The versions the caller may see (each version by its own compartment). */
  access?: RowAccess;
}

function historyWhere(b: Sql, q: Omit<HistoryQuery, 'limit'>): string {
  const conds: string[] = [];
  if (q.resourceType !== undefined) conds.push(`v.resource_type = ${b.p(q.resourceType)}`);
  if (q.id !== undefined) conds.push(`v.id = ${b.p(q.id)}`);
  if (q.since !== undefined) conds.push(`v.last_updated >= ${b.p(q.since, 'timestamptz')}`);
  if (q.at !== undefined) {
    const at = b.p(q.at, 'timestamptz');
    conds.push(
      `v.last_updated <= ${at}`,
      `NOT EXISTS (SELECT 1 FROM fhir.resource_version n WHERE n.resource_type = v.resource_type
      AND n.id = v.id AND n.version_id = v.version_id + 1 AND n.last_updated <= ${at})`,
    );
  }
  if (q.beforeVseq !== undefined) conds.push(`v.vseq < ${b.p(q.beforeVseq, 'int8')}`);
  if (q.access && q.access.kind !== 'all') {
    conds.push(
      q.resourceType !== undefined
        ? accessSqlForType(b, q.access, q.resourceType, 'v.compartment')
        : accessSql(b, q.access, 'v.resource_type', 'v.compartment'),
    );
  }
  return conds.length ? `WHERE ${conds.join(' AND ')}` : '';
}

/** Versions newest first. The returned `seq` is the version's vseq (the history cursor). */
export async function history(db: Db, q: HistoryQuery): Promise<StoredResource[]> {
  const b = new Sql();
  const where = historyWhere(b, q);
  const { rows } = await db.query<Row>(
    `SELECT v.vseq AS seq, v.resource_type, v.id, v.version_id, v.last_updated, v.deleted, v.content, v.compartment
     FROM fhir.resource_version v ${where} ORDER BY v.vseq DESC LIMIT ${b.p(q.limit, 'int4')}`,
    b.params,
  );
  return rows.map(toStored);
}

/** Counts history entries (Bundle.total). */
export async function countHistory(db: Db, q: Omit<HistoryQuery, 'limit' | 'beforeVseq'>): Promise<number> {
  const b = new Sql();
  const where = historyWhere(b, q);
  const { rows } = await db.query<{ n: number }>(`SELECT count(*) AS n FROM fhir.resource_version v ${where}`, b.params);
  return rows[0]?.n ?? 0;
}
