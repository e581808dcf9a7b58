/**
 * Runs searches: one page of matches in keyset order, the total when asked, and the resources
 * named by _include / _revinclude.
 */
import type { SearchParam } from '../fhir/definitions/search-params.ts';
import type { Criterion, Cursor, SortKey } from '../fhir/search/model.ts';
import type { RowAccess } from '../core/access.ts';
import { accessSql } from './access-sql.ts';
import type { Db } from './db.ts';
import { keysetSql, sortExprs, whereSql } from './search-sql.ts';
import { statementNames } from './prepared.ts';
import { Sql } from './sql.ts';

export interface PageRow {
  seq: number;
  resourceType: string;
  id: string;
  content: string;
  compartment: string[];
  /** Sort key values as text (cursor material), one per sort key. */
  keys: (string | null)[];
}

export interface PageQuery {
  resourceType: string;
  criteria: readonly Criterion[];
  sort: readonly SortKey[];
  cursor: Cursor | undefined;
  /** Rows wanted; one more is read to learn whether another page exists. */
  limit: number;
}

export interface Page {
  rows: PageRow[];
  /** Whether rows exist beyond this page in the paging direction. */
  more: boolean;
}

interface RawRow {
  seq: number;
  id: string;
  content: string;
  compartment: string[] | null;
  [k: `k${number}`]: string | null;
}

export async function searchPage(db: Db, q: PageQuery): Promise<Page> {
  const b = new Sql();
  const forward = q.cursor?.direction !== 'previous';
  const where = whereSql(b, 'r', q.resourceType, q.criteria);
  const limit = b.p(q.limit + 1, 'int4');
  let text: string;
  if (q.sort.length === 0) {
    const ks = q.cursor ? ` AND ${keysetSql(b, [], [], 'r.seq', q.cursor.seq, forward)}` : '';
    text = `SELECT r.seq, r.id, r.content, r.compartment FROM fhir.resource r WHERE ${where}${ks} ORDER BY r.seq ${forward ? 'ASC' : 'DESC'} LIMIT ${limit}`;
  } else {
    const exprs = sortExprs(b, 'r', q.sort);
    const cols = exprs.map((e, i) => `${e.expr} AS k${i}`).join(', ');
    const keys = exprs.map((e, i) => ({ col: `q.k${i}`, cast: e.cast, descending: e.descending }));
    const ks = q.cursor ? `WHERE ${keysetSql(b, keys, q.cursor.values, 'q.seq', q.cursor.seq, forward)}` : '';
    const order = exprs
      .map((e, i) => `q.k${i} ${e.descending === forward ? 'DESC' : 'ASC'} ${forward ? 'NULLS LAST' : 'NULLS FIRST'}`)
      .concat(`q.seq ${forward ? 'ASC' : 'DESC'}`)
      .join(', ');
    const textKeys = exprs.map((_e, i) => `q.k${i}::text AS k${i}`).join(', ');
    text = `SELECT q.seq, q.id, q.content, q.compartment, ${textKeys} FROM (SELECT r.seq, r.id, r.content, r.compartment, ${cols} FROM fhir.resource r WHERE ${where}) q ${ks} ORDER BY ${order} LIMIT ${limit}`;
  }
  const { rows } = await db.query<RawRow>(text, b.params, statementNames.nameFor(text));
  const more = rows.length > q.limit;
  const page = rows.slice(0, q.limit).map((r) => ({
    seq: r.seq,
    resourceType: q.resourceType,
    id: r.id,
    content: r.content,
    compartment: r.compartment ?? [],
    keys: q.sort.map((_s, i) => r[`k${i}`] ?? null),
  }));
  if (!forward) page.reverse();
  return { rows: page, more };
}

export async function countMatches(db: Db, resourceType: string, criteria: readonly Criterion[]): Promise<number> {
  const b = new Sql();
  const text = `SELECT count(*) AS n FROM fhir.resource r WHERE ${whereSql(b, 'r', resourceType, criteria)}`;
  const { rows } = await db.query<{ n: number }>(text, b.params, statementNames.nameFor(text));
  return rows[0]?.n ?? 0;
}

export interface IncludedRow {
  seq: number;
  resourceType: string;
  id: string;
  content: string;
  compartment: string[];
}

interface IncRaw {
  seq: number;
  resource_type: string;
  id: string;
  content: string;
  compartment: string[] | null;
}
const toInc = (r: IncRaw): IncludedRow => ({
  seq: r.seq,
  resourceType: r.resource_type,
  id: r.id,
  content: r.content,
  compartment: r.compartment ?? [],
});

/** Resources that `param` of the given source rows points to (_include). */
export async function includeTargets(
  db: Db,
  sourceType: string,
  sourceSeqs: readonly number[],
  param: SearchParam,
  targetType: string | undefined,
  limit: number,
  access: RowAccess,
): Promise<IncludedRow[]> {
  if (sourceSeqs.length === 0) return [];
  const b = new Sql();
  const tt = targetType !== undefined ? ` AND x.target_type = ${b.p(targetType)}` : '';
  const visible = accessSql(b, access, 't.resource_type', 't.compartment');
  const { rows } = await db.query<IncRaw>(
    `SELECT DISTINCT t.seq, t.resource_type, t.id, t.content, t.compartment FROM fhir.sp_reference x
     JOIN fhir.resource t ON t.resource_type = x.target_type AND t.id = x.target_id AND NOT t.deleted
     WHERE x.res = ANY(${b.p(sourceSeqs, 'int8[]')}) AND x.resource_type = ${b.p(sourceType)} AND x.param = ${b.p(param.code)}${tt} AND ${visible}
     ORDER BY t.seq LIMIT ${b.p(limit, 'int4')}`,
    b.params,
  );
  return rows.map(toInc);
}

/** Resources of `sourceType` whose `param` points to one of the given targets (_revinclude). */
export async function revincludeSources(
  db: Db,
  sourceType: string,
  param: SearchParam,
  targets: readonly { resourceType: string; id: string }[],
  limit: number,
  access: RowAccess,
): Promise<IncludedRow[]> {
  if (targets.length === 0) return [];
  const b = new Sql();
  const visible = accessSql(b, access, 't.resource_type', 't.compartment');
  const { rows } = await db.query<IncRaw>(
    `SELECT DISTINCT t.seq, t.resource_type, t.id, t.content, t.compartment FROM fhir.sp_reference x
     JOIN fhir.resource t ON t.seq = x.res AND NOT t.deleted
     JOIN unnest(${b.p(
       targets.map((t) => t.resourceType),
       'text[]',
     )}, ${b.p(
       targets.map((t) => t.id),
       'text[]',
     )}) AS g(tt, ti)
       ON x.target_type = g.tt AND x.target_id = g.ti
     WHERE x.resource_type = ${b.p(sourceType)} AND x.param = ${b.p(param.code)} AND ${visible}
     ORDER BY t.seq LIMIT ${b.p(limit, 'int4')}`,
    b.params,
  );
  return rows.map(toInc);
}
