/**
 * Turns a resource into the rows of the search index tables: every supported search parameter
 * of its type is evaluated (compiled FHIRPath) and each value is mapped by its FHIR type to
 * token, string, date, reference, number, quantity or uri rows. Generic over all R4 types:
 * nothing here is written per resource type.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { SearchParam, SearchParameters, TypedValue } from '../definitions/search-params.ts';
import { MAX_TIME, MIN_TIME, parseDateRange } from './date-range.ts';
import { searchKey } from '../../jp/search-key.ts';
import { parseReference } from './reference.ts';

export interface TokenRow {
  param: string;
  system: string | null;
  code: string | null;
  display: string | null;
}
export interface StringRow {
  param: string;
  value: string;
  exact: string;
}
export interface DateRow {
  param: string;
  lo: number;
  hi: number;
}
export interface ReferenceRow {
  param: string;
  targetType: string | null;
  targetId: string | null;
  url: string | null;
}
export interface NumberRow {
  param: string;
  value: number;
}
export interface QuantityRow {
  param: string;
  value: number;
  system: string | null;
  code: string | null;
}
export interface UriRow {
  param: string;
  value: string;
}

export interface IndexRows {
  token: TokenRow[];
  string: StringRow[];
  date: DateRow[];
  reference: ReferenceRow[];
  number: NumberRow[];
  quantity: QuantityRow[];
  uri: UriRow[];
}

/**
 * Canonicalizes an identifier value for its system before it is indexed (and before a search
 * value is compared). The default keeps values as they are; the identifier modules plug in here.
 */
export type IdentifierNormalizer = (system: string | undefined, value: string) => string;

export const keepIdentifier: IdentifierNormalizer = (_system, value) => value;

type Obj = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
/** Display text, normalized like string parameters, for token :text searches. */
const norm = (v: unknown): string | null => (typeof v === 'string' && v.trim().length > 0 ? searchKey(v) : null);

function addString(rows: StringRow[], param: string, v: unknown): void {
  if (typeof v === 'string' && v.trim().length > 0) {
    rows.push({ param, value: searchKey(v), exact: v });
  }
}

function stringRows(param: string, tv: TypedValue, rows: StringRow[]): void {
  const v = tv.value;
  if (typeof v === 'string') {
    addString(rows, param, v);
    return;
  }
  if (typeof v !== 'object' || v === null) {
    return;
  }
  const o = v as Obj;
  if (tv.type === 'HumanName') {
    for (const k of ['family', 'text']) addString(rows, param, o[k]);
    for (const k of ['given', 'prefix', 'suffix']) for (const x of (o[k] as unknown[] | undefined) ?? []) addString(rows, param, x);
  } else if (tv.type === 'Address') {
    for (const k of ['city', 'district', 'state', 'postalCode', 'country', 'text']) addString(rows, param, o[k]);
    for (const x of (o['line'] as unknown[] | undefined) ?? []) addString(rows, param, x);
  }
}

function tokenRows(param: string, tv: TypedValue, rows: TokenRow[], normalizeId: IdentifierNormalizer): void {
  const v = tv.value;
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') {
    rows.push({ param, system: null, code: String(v), display: null });
    return;
  }
  if (typeof v !== 'object' || v === null) {
    return;
  }
  const o = v as Obj;
  switch (tv.type) {
    case 'Identifier': {
      const value = str(o['value']);
      const system = str(o['system']);
      const text = (o['type'] as Obj | undefined)?.['text'];
      rows.push({ param, system, code: value === null ? null : normalizeId(system ?? undefined, value), display: norm(text) });
      return;
    }
    case 'CodeableConcept': {
      for (const c of (o['coding'] as Obj[] | undefined) ?? []) {
        rows.push({ param, system: str(c['system']), code: str(c['code']), display: norm(c['display']) });
      }
      if (str(o['text'])) {
        rows.push({ param, system: null, code: null, display: norm(o['text']) });
      }
      return;
    }
    case 'Coding':
      rows.push({ param, system: str(o['system']), code: str(o['code']), display: norm(o['display']) });
      return;
    case 'ContactPoint':
      rows.push({ param, system: str(o['system']), code: str(o['value']), display: null });
      return;
    default:
      return;
  }
}

function dateRows(param: string, tv: TypedValue, rows: DateRow[]): void {
  const v = tv.value;
  if (typeof v === 'string') {
    const r = parseDateRange(v);
    if (r) rows.push({ param, ...r });
    return;
  }
  if (typeof v !== 'object' || v === null) {
    return;
  }
  const o = v as Obj;
  if (tv.type === 'Period') {
    const start = typeof o['start'] === 'string' ? parseDateRange(o['start']) : undefined;
    const end = typeof o['end'] === 'string' ? parseDateRange(o['end']) : undefined;
    if (start || end) rows.push({ param, lo: start?.lo ?? MIN_TIME, hi: end?.hi ?? MAX_TIME });
  } else if (tv.type === 'Timing') {
    for (const e of (o['event'] as unknown[] | undefined) ?? []) {
      const r = typeof e === 'string' ? parseDateRange(e) : undefined;
      if (r) rows.push({ param, ...r });
    }
  }
}

function referenceRows(param: string, tv: TypedValue, rows: ReferenceRow[], baseUrl: string): void {
  const v = tv.value;
  const ref = typeof v === 'string' ? v : typeof v === 'object' && v !== null ? str((v as Obj)['reference']) : null;
  if (!ref || ref.startsWith('#')) {
    return;
  }
  const parsed = parseReference(ref, baseUrl);
  rows.push({ param, targetType: parsed?.type ?? null, targetId: parsed?.id ?? null, url: parsed ? null : ref });
}

function numberRows(param: string, tv: TypedValue, rows: NumberRow[]): void {
  if (typeof tv.value === 'number' && Number.isFinite(tv.value)) {
    rows.push({ param, value: tv.value });
  }
}

function quantityRows(param: string, tv: TypedValue, rows: QuantityRow[]): void {
  const o = tv.value as Obj | null;
  if (typeof o === 'object' && o !== null && typeof o['value'] === 'number') {
    const code = str(o['code']) ?? str(o['currency']) ?? str(o['unit']);
    rows.push({ param, value: o['value'], system: str(o['system']), code });
  }
}

function uriRows(param: string, tv: TypedValue, rows: UriRow[]): void {
  if (typeof tv.value === 'string' && tv.value.length > 0) {
    rows.push({ param, value: tv.value });
  }
}

export interface IndexerOptions {
  baseUrl: string;
  normalizeIdentifier?: IdentifierNormalizer;
}

/** Computes all index rows for a resource; pure, no I/O. */
export function indexResource(resource: Resource, searchParams: SearchParameters, opts: IndexerOptions): IndexRows {
  const rows: IndexRows = { token: [], string: [], date: [], reference: [], number: [], quantity: [], uri: [] };
  const normalizeId = opts.normalizeIdentifier ?? keepIdentifier;
  for (const p of searchParams.forType(resource.resourceType).values()) {
    if (!p.extract) {
      continue;
    }
    for (const tv of evaluate(p, resource)) {
      switch (p.type) {
        case 'token':
          tokenRows(p.code, tv, rows.token, normalizeId);
          break;
        case 'string':
          stringRows(p.code, tv, rows.string);
          break;
        case 'date':
          dateRows(p.code, tv, rows.date);
          break;
        case 'reference':
          referenceRows(p.code, tv, rows.reference, opts.baseUrl);
          break;
        case 'number':
          numberRows(p.code, tv, rows.number);
          break;
        case 'quantity':
          quantityRows(p.code, tv, rows.quantity);
          break;
        case 'uri':
          uriRows(p.code, tv, rows.uri);
          break;
        default:
          break;
      }
    }
  }
  return dedupe(rows);
}

function evaluate(p: SearchParam, resource: Resource): TypedValue[] {
  try {
    return (p.extract as (r: Resource) => TypedValue[])(resource);
  } catch {
    // An expression that fails on one odd resource must not block the write; the value is
    // simply not searchable by this parameter.
    return [];
  }
}

function dedupe(rows: IndexRows): IndexRows {
  const uniq = <T>(xs: T[]): T[] => {
    if (xs.length < 2) return xs;
    const seen = new Set<string>();
    return xs.filter((x) => {
      const k = JSON.stringify(x);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  };
  return {
    token: uniq(rows.token),
    string: uniq(rows.string),
    date: uniq(rows.date),
    reference: uniq(rows.reference),
    number: uniq(rows.number),
    quantity: uniq(rows.quantity),
    uri: uniq(rows.uri),
  };
}
