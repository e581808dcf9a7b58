/**
 * SQL for FHIR search over the index tables. Each criterion becomes an EXISTS over one index
 * table (led by resource_type and param, which every index starts with), so PostgreSQL can
 * drive a selective search from the index and a broad one from the resource table.
 */
import type { SearchParam } from '../fhir/definitions/search-params.ts';
import type { Criterion, DatePrefix, NumberValue, SortKey, TokenValue } from '../fhir/search/model.ts';
import { toSqlTime } from '../fhir/search/date-range.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import type { Sql } from './sql.ts';
import { escapeLike } from './sql.ts';
import { accessSqlForType } from './access-sql.ts';

const TABLE: Record<string, string> = {
  token: 'fhir.sp_token',
  string: 'fhir.sp_string',
  date: 'fhir.sp_date',
  reference: 'fhir.sp_reference',
  number: 'fhir.sp_number',
  quantity: 'fhir.sp_quantity',
  uri: 'fhir.sp_uri',
};

function tableOf(p: SearchParam): string {
  const t = TABLE[p.type];
  if (!t) throw new Error(`no index table for ${p.type}`);
  return t;
}

class Aliases {
  private n = 0;
  next(prefix: string): string {
    return `${prefix}${++this.n}`;
  }
}

/** Date prefix semantics over stored ranges [lo, hi) against the search range [slo, shi). */
function dateCond(b: Sql, lo: string, hi: string, prefix: DatePrefix, slo: number, shi: number): string {
  // Placeholders are made on use: an unused parameter has no type and PostgreSQL refuses it.
  const L = (): string => b.p(toSqlTime(slo), 'timestamptz');
  const H = (): string => b.p(toSqlTime(shi), 'timestamptz');
  // `lo < H` follows from lo < hi <= H; saying it bounds the index range scan on lo.
  const eq = (): string => {
    const h = H();
    return `(${lo} >= ${L()} AND ${lo} < ${h} AND ${hi} <= ${h})`;
  };
  switch (prefix) {
    case 'eq':
      return eq();
    case 'ne':
      return `NOT ${eq()}`;
    case 'gt':
      return `${hi} > ${H()}`;
    case 'lt':
      return `${lo} < ${L()}`;
    case 'ge':
      return `(${hi} > ${H()} OR ${eq()})`;
    case 'le':
      return `(${lo} < ${L()} OR ${eq()})`;
    case 'sa':
      return `${lo} >= ${H()}`;
    case 'eb':
      return `${hi} <= ${L()}`;
    case 'ap': {
      // Approximately: the range widened by 10% of its distance from now (at least a day).
      const delta = Math.max(86_400_000, 0.1 * Math.abs(Date.now() - slo));
      return `(${lo} < ${b.p(toSqlTime(shi + delta), 'timestamptz')} AND ${hi} > ${b.p(toSqlTime(slo - delta), 'timestamptz')})`;
    }
  }
}

/** `_lastUpdated` is an instant column: its range is [t, t + 1 ms), which lets indexes work. */
function instantCond(b: Sql, col: string, prefix: DatePrefix, slo: number, shi: number): string {
  const L = (): string => b.p(toSqlTime(slo), 'timestamptz');
  const H = (): string => b.p(toSqlTime(shi), 'timestamptz');
  switch (prefix) {
    case 'eq':
      return `(${col} >= ${L()} AND ${col} < ${H()})`;
    case 'ne':
      return `NOT (${col} >= ${L()} AND ${col} < ${H()})`;
    case 'gt':
    case 'sa':
      return `${col} >= ${H()}`;
    case 'lt':
    case 'eb':
      return `${col} < ${L()}`;
    case 'ge':
      return `${col} >= ${L()}`;
    case 'le':
      return `${col} < ${H()}`;
    case 'ap': {
      const delta = Math.max(86_400_000, 0.1 * Math.abs(Date.now() - slo));
      return `(${col} >= ${b.p(toSqlTime(slo - delta), 'timestamptz')} AND ${col} < ${b.p(toSqlTime(shi + delta), 'timestamptz')})`;
    }
  }
}

function numberCond(b: Sql, col: string, v: NumberValue): string {
  switch (v.prefix) {
    case 'eq':
      return `(${col} >= ${b.p(v.lo, 'numeric')} AND ${col} < ${b.p(v.hi, 'numeric')})`;
    case 'ne':
      return `NOT (${col} >= ${b.p(v.lo, 'numeric')} AND ${col} < ${b.p(v.hi, 'numeric')})`;
    case 'gt':
    case 'sa':
      return `${col} > ${b.p(v.value, 'numeric')}`;
    case 'lt':
    case 'eb':
      return `${col} < ${b.p(v.value, 'numeric')}`;
    case 'ge':
      return `${col} >= ${b.p(v.value, 'numeric')}`;
    case 'le':
      return `${col} <= ${b.p(v.value, 'numeric')}`;
    case 'ap': {
      const d = Math.abs(v.value) * 0.1;
      return `(${col} >= ${b.p(v.value - d, 'numeric')} AND ${col} <= ${b.p(v.value + d, 'numeric')})`;
    }
  }
}

function tokenCond(b: Sql, x: string, v: TokenValue): string {
  const parts: string[] = [];
  if (v.code !== undefined) parts.push(`${x}.code = ${b.p(v.code)}`);
  if (v.system !== undefined) parts.push(`${x}.system = ${b.p(v.system)}`);
  else if (!v.anySystem) parts.push(`${x}.system IS NULL`);
  return `(${parts.join(' AND ')})`;
}

/**
 * "Starts with" as a range on a C-collated column: [p, p + U+10FFFF). Unlike `LIKE $1 || '%'`
 * it keeps using the index in a prepared statement's generic plan, where the planner cannot
 * see the pattern. (U+10FFFF is the largest code point, so every extension of p sorts below.)
 */
function prefixCond(b: Sql, col: string, prefix: string): string {
  return `(${col} >= ${b.p(prefix)} AND ${col} < ${b.p(prefix + '\u{10FFFF}')})`;
}

/** Wraps per-value conditions into an EXISTS over the parameter's index table. */
function exists(b: Sql, a: Aliases, r: string, type: string, p: SearchParam, conds: (x: string) => string[], not = false): string {
  const x = a.next('x');
  const head = `${not ? 'NOT ' : ''}EXISTS (SELECT 1 FROM ${tableOf(p)} ${x} WHERE ${x}.res = ${r}.seq AND ${x}.resource_type = ${b.p(type)} AND ${x}.param = ${b.p(p.code)}`;
  return `${head} AND (${conds(x).join(' OR ')}))`;
}

export function criterionSql(b: Sql, a: Aliases, r: string, type: string, c: Criterion): string {
  if (c.kind === 'any') {
    if (c.groups.length === 0) return 'FALSE';
    return `(${c.groups.map((g) => (g.length === 0 ? 'TRUE' : `(${g.map((x) => criterionSql(b, a, r, type, x)).join(' AND ')})`)).join(' OR ')})`;
  }
  if (c.kind === 'access') return accessSqlForType(b, c.access, type, `${r}.compartment`);
  const col = c.param.column;
  switch (c.kind) {
    case 'missing':
      if (col) return c.missing ? 'FALSE' : 'TRUE';
      return exists(b, a, r, type, c.param, () => ['TRUE'], c.missing);
    case 'token':
      if (col === 'id') {
        const ids = c.values.map((v) => v.code).filter((v): v is string => v !== undefined);
        return `${c.not ? 'NOT ' : ''}(${r}.id = ANY(${b.p(ids, 'text[]')}))`;
      }
      {
        // My Number is never indexed: its search key is a MAC, looked up in registry.my_number.
        const mn = c.values.filter((v) => v.system === ID_SYSTEMS.myNumber);
        const rest = c.values.filter((v) => v.system !== ID_SYSTEMS.myNumber);
        const parts: string[] = [];
        if (rest.length > 0) parts.push(exists(b, a, r, type, c.param, (x) => rest.map((v) => tokenCond(b, x, v))));
        if (mn.length > 0) {
          const ok = type === 'Patient' && c.param.code === 'identifier';
          parts.push(
            ok
              ? `EXISTS (SELECT 1 FROM registry.my_number m WHERE m.patient_id = ${r}.id AND m.mac IN (SELECT decode(h, 'hex') FROM unnest(${b.p(
                  mn.map((v) => v.code ?? ''),
                  'text[]',
                )}) AS h))`
              : 'FALSE',
          );
        }
        const any = parts.length === 1 ? parts[0] : `(${parts.join(' OR ')})`;
        return c.not ? `NOT ${any}` : any;
      }
    case 'token-text':
      return exists(b, a, r, type, c.param, (x) => c.values.map((v) => prefixCond(b, `${x}.display`, v)));
    case 'string':
      return exists(b, a, r, type, c.param, (x) =>
        c.values.map((v) => {
          switch (c.mode) {
            case 'exact':
              return `(${x}.value = ${b.p(v.norm)} AND ${x}.exact = ${b.p(v.raw)})`;
            case 'contains':
              return `${x}.value LIKE ${b.p('%' + escapeLike(v.norm) + '%')}`;
            case 'prefix':
              return prefixCond(b, `${x}.value`, v.norm);
          }
        }),
      );
    case 'date':
      if (col === 'last_updated') {
        return `(${c.values.map((v) => instantCond(b, `${r}.last_updated`, v.prefix, v.lo, v.hi)).join(' OR ')})`;
      }
      return exists(b, a, r, type, c.param, (x) => c.values.map((v) => dateCond(b, `${x}.lo`, `${x}.hi`, v.prefix, v.lo, v.hi)));
    case 'number':
      return exists(b, a, r, type, c.param, (x) => c.values.map((v) => numberCond(b, `${x}.value`, v)));
    case 'quantity':
      return exists(b, a, r, type, c.param, (x) =>
        c.values.map((v) => {
          const parts = [numberCond(b, `${x}.value`, v)];
          if (v.system !== undefined) parts.push(`${x}.system = ${b.p(v.system)}`);
          if (v.code !== undefined) parts.push(`${x}.code = ${b.p(v.code)}`);
          return `(${parts.join(' AND ')})`;
        }),
      );
    case 'uri':
      return exists(b, a, r, type, c.param, (x) =>
        c.values.map((v) => {
          switch (c.mode) {
            case 'exact':
              return `${x}.value = ${b.p(v)}`;
            case 'below':
              return prefixCond(b, `${x}.value`, v);
            case 'above':
              return `${b.p(v)} LIKE (replace(replace(replace(${x}.value, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')`;
          }
        }),
      );
    case 'reference':
      return exists(b, a, r, type, c.param, (x) =>
        c.values.map((v) => {
          if (v.url !== undefined) return `${x}.url = ${b.p(v.url)}`;
          const idc = `${x}.target_id = ${b.p(v.id)}`;
          return v.type ? `(${idc} AND ${x}.target_type = ${b.p(v.type)})` : idc;
        }),
      );
    case 'chain':
      return exists(b, a, r, type, c.param, (x) =>
        c.targetTypes.map((t, i) => {
          const r2 = a.next('r');
          const inner = criterionSql(b, a, r2, t, c.inner[i]);
          return `(${x}.target_type = ${b.p(t)} AND ${x}.target_id IN (SELECT ${r2}.id FROM fhir.resource ${r2} WHERE ${r2}.resource_type = ${b.p(t)} AND NOT ${r2}.deleted AND ${inner}))`;
        }),
      );
    case 'has': {
      // Some live source resource refers to this row (the reference index, led by the source's
      // type and parameter and the target id) and meets the inner criterion.
      const x = a.next('x');
      const r2 = a.next('r');
      const inner = criterionSql(b, a, r2, c.sourceType, c.inner);
      return (
        `EXISTS (SELECT 1 FROM fhir.sp_reference ${x} JOIN fhir.resource ${r2} ON ${r2}.seq = ${x}.res` +
        ` WHERE ${x}.resource_type = ${b.p(c.sourceType)} AND ${x}.param = ${b.p(c.param.code)} AND ${x}.target_id = ${r}.id AND ${x}.target_type = ${b.p(type)}` +
        ` AND ${r2}.resource_type = ${b.p(c.sourceType)} AND NOT ${r2}.deleted AND ${inner})`
      );
    }
  }
}

/** The WHERE clause selecting live resources of a type that meet every criterion. */
export function whereSql(b: Sql, r: string, type: string, criteria: readonly Criterion[]): string {
  const a = new Aliases();
  const conds = [`${r}.resource_type = ${b.p(type)}`, `NOT ${r}.deleted`];
  for (const c of criteria) conds.push(criterionSql(b, a, r, type, c));
  return conds.join(' AND ');
}

export interface SortExpr {
  /** SQL expression of the key for row alias `r`. */
  expr: string;
  /** SQL type the cursor value is cast back to. */
  cast: 'text' | 'timestamptz' | 'numeric';
  descending: boolean;
}

/** The sort key of each _sort entry: the min (ascending) or max (descending) indexed value. */
export function sortExprs(b: Sql, r: string, sort: readonly SortKey[]): SortExpr[] {
  return sort.map(({ param, descending }) => {
    if (param.column === 'last_updated') return { expr: `${r}.last_updated`, cast: 'timestamptz', descending };
    if (param.column === 'id') return { expr: `${r}.id`, cast: 'text', descending };
    const agg = descending ? 'max' : 'min';
    const sub = (col: string): string =>
      `(SELECT ${agg}(s.${col}) FROM ${tableOf(param)} s WHERE s.res = ${r}.seq AND s.param = ${b.p(param.code)})`;
    switch (param.type) {
      case 'date':
        return { expr: sub(descending ? 'hi' : 'lo'), cast: 'timestamptz', descending };
      case 'number':
      case 'quantity':
        return { expr: sub('value'), cast: 'numeric', descending };
      case 'token':
        return { expr: sub('code'), cast: 'text', descending };
      default:
        return { expr: sub('value'), cast: 'text', descending };
    }
  });
}

/**
 * Keyset condition "row comes after (or before) the cursor row" in the sort order
 * (each key ascending or descending, NULLs last, then seq ascending as the tiebreaker).
 */
export function keysetSql(
  b: Sql,
  keys: readonly { col: string; cast: string; descending: boolean }[],
  values: readonly (string | null)[],
  seqCol: string,
  seq: number,
  forward: boolean,
): string {
  let cond = forward ? `${seqCol} > ${b.p(seq, 'int8')}` : `${seqCol} < ${b.p(seq, 'int8')}`;
  for (let i = keys.length - 1; i >= 0; i--) {
    const k = keys[i];
    const v = values[i] ?? null;
    const after = forward !== k.descending; // does "later" mean a greater value?
    let beyond: string;
    let same: string;
    if (v === null) {
      // NULLs sort last: after a NULL only NULLs follow; before it, every non-NULL value.
      beyond = forward ? 'FALSE' : `${k.col} IS NOT NULL`;
      same = `${k.col} IS NULL`;
    } else {
      const pv = b.p(v, k.cast);
      beyond = forward ? `(${k.col} ${after ? '>' : '<'} ${pv} OR ${k.col} IS NULL)` : `${k.col} ${after ? '>' : '<'} ${pv}`;
      same = `${k.col} = ${pv}`;
    }
    cond = `(${beyond} OR (${same} AND ${cond}))`;
  }
  return cond;
}
