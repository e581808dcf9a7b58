/**
 * Parses a FHIR search query (GET query string or POST _search form) into a SearchRequest.
 * Unknown or unsupported parameters are errors (400), unless the client sent
 * `Prefer: handling=lenient`, in which case they are ignored and reported as warnings.
 * Malformed values of known parameters are always errors: guessing would return wrong data.
 */
import { isSearchable } from '../definitions/search-params.ts';
import type { SearchParam, SearchParameters } from '../definitions/search-params.ts';
import { errors } from '../../core/outcome.ts';
import type { IdentifierNormalizer } from './index-rows.ts';
import { decodeCursor } from './cursor.ts';
import type { Criterion, IncludeSpec, SearchRequest, SortKey, SummaryMode, TotalMode } from './model.ts';
import {
  parseBoolean,
  parseDateValue,
  parseNumberValue,
  parseQuantityValue,
  parseReferenceValue,
  parseTokenValue,
  splitEscaped,
  unescape,
} from './parse-values.ts';
import { searchKey } from '../../jp/search-key.ts';

export interface SearchParseOptions {
  searchParams: SearchParameters;
  isResourceType: (t: string) => boolean;
  baseUrl: string;
  defaultCount: number;
  maxCount: number;
  lenient: boolean;
  normalizeIdentifier: IdentifierNormalizer;
}

/** Transport and result parameters: handled here or by the HTTP edge, never criteria. */
const TRANSPORT = new Set(['_format', '_pretty']);
const UNSUPPORTED = new Set(['_contained', '_containedType', '_list', '_filter', '_query', '_text', '_content', '_type', '_score']);
const SUMMARY = new Set<SummaryMode>(['true', 'false', 'text', 'data', 'count']);
const TOTAL = new Set<TotalMode>(['none', 'estimate', 'accurate']);
const SORTABLE = new Set(['string', 'date', 'token', 'number', 'quantity', 'uri']);

class Unsupported extends Error {}

const CONTROL = /\p{Cc}/u;

export function parseSearch(resourceType: string, query: readonly [string, string][], o: SearchParseOptions): SearchRequest {
  // Every search passes here — the URL's own (checked at the edge too), conditional criteria of
  // a create, update or delete, and conditional references in a transaction: a NUL cannot be
  // compared with stored text (PostgreSQL refuses it), and its value is not repeated.
  for (const [name, value] of query) {
    if (CONTROL.test(name) || CONTROL.test(value)) {
      throw errors.badRequest('A search parameter contains a control character', 'invalid-parameter');
    }
  }
  const req: SearchRequest = {
    resourceType,
    criteria: [],
    sort: [],
    count: o.defaultCount,
    total: 'none',
    summary: undefined,
    elements: undefined,
    include: [],
    revinclude: [],
    cursor: undefined,
    linkParams: [],
    ignored: [],
  };
  const reject = (name: string, reason: string): void => {
    if (!o.lenient) {
      throw errors.badRequest(`Search parameter ${name}: ${reason}`, 'unknown-search-parameter', name, 'not-supported');
    }
    req.ignored.push({ name, reason });
  };

  for (const [name, value] of query) {
    if (TRANSPORT.has(name)) {
      if (name === '_format') req.linkParams.push([name, value]);
      continue;
    }
    if (name === '_cursor') {
      req.cursor = decodeCursor(value);
      continue;
    }
    if (name.startsWith('_has:')) {
      try {
        const c = parseHas(resourceType, name, value, o);
        req.criteria.push(c);
        req.linkParams.push([name, linkValue(c, value)]);
      } catch (e) {
        if (!(e instanceof Unsupported)) throw e;
        reject(name, e.message);
      }
      continue;
    }
    if (name.startsWith('_') && !o.searchParams.get(resourceType, name.split(/[:.]/)[0])) {
      if (UNSUPPORTED.has(name)) {
        reject(name, 'is not supported by this server');
        continue;
      }
      if (!parseResultParam(req, name, value, o, reject)) {
        reject(name, 'is not a known search result parameter');
        continue;
      }
      req.linkParams.push([name, value]);
      continue;
    }
    try {
      const c = parseCriterion(resourceType, name, value, o);
      req.criteria.push(c);
      req.linkParams.push([name, linkValue(c, value)]);
    } catch (e) {
      if (e instanceof Unsupported) {
        reject(name.split(/[:.]/)[0], e.message);
      } else {
        throw e;
      }
    }
  }
  if (req.summary === 'count') {
    req.count = 0;
  }
  return req;
}

function parseResultParam(
  req: SearchRequest,
  name: string,
  value: string,
  o: SearchParseOptions,
  reject: (n: string, r: string) => void,
): boolean {
  switch (name) {
    case '_count': {
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(n)) {
        throw errors.badRequest(`Search parameter _count: "${value}" is not a non-negative integer`, 'invalid-search-value', '_count');
      }
      req.count = Math.min(n, o.maxCount);
      return true;
    }
    case '_total':
      if (!TOTAL.has(value as TotalMode)) {
        throw errors.badRequest(`Search parameter _total: "${value}" must be none, estimate or accurate`, 'invalid-search-value', '_total');
      }
      req.total = value as TotalMode;
      return true;
    case '_summary':
      if (!SUMMARY.has(value as SummaryMode)) {
        throw errors.badRequest(
          `Search parameter _summary: "${value}" must be true, false, text, data or count`,
          'invalid-search-value',
          '_summary',
        );
      }
      req.summary = value as SummaryMode;
      return true;
    case '_elements': {
      const names = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = names.find((n) => !/^[a-zA-Z][a-zA-Z0-9]*$/.test(n));
      if (bad !== undefined || names.length === 0) {
        throw errors.badRequest(
          `Search parameter _elements: "${bad ?? value}" is not an element name`,
          'invalid-search-value',
          '_elements',
        );
      }
      req.elements = names;
      return true;
    }
    case '_sort':
      req.sort = parseSort(req.resourceType, value, o);
      return true;
    case '_include':
    case '_include:iterate':
    case '_include:recurse':
    case '_revinclude':
    case '_revinclude:iterate':
    case '_revinclude:recurse': {
      const rev = name.startsWith('_revinclude');
      const spec = parseInclude(name, value, rev, name.includes(':'), req.resourceType, o, reject);
      if (spec) (rev ? req.revinclude : req.include).push(spec);
      return true;
    }
    default:
      return false;
  }
}

function parseSort(resourceType: string, value: string, o: SearchParseOptions): SortKey[] {
  return value.split(',').map((raw) => {
    const descending = raw.startsWith('-');
    const code = descending ? raw.slice(1) : raw;
    const param = o.searchParams.get(resourceType, code);
    if (!param || !isSearchable(param) || !SORTABLE.has(param.type)) {
      throw errors.badRequest(`Search parameter _sort: cannot sort ${resourceType} by "${code}"`, 'invalid-search-value', '_sort');
    }
    return { param, descending };
  });
}

function parseInclude(
  name: string,
  value: string,
  rev: boolean,
  iterate: boolean,
  resourceType: string,
  o: SearchParseOptions,
  reject: (n: string, r: string) => void,
): IncludeSpec | undefined {
  const [source, code, target, extra] = value.split(':');
  if (value === '*' || !source || !code || extra !== undefined) {
    reject(name, `"${value}" must be SourceType:parameter[:TargetType]`);
    return undefined;
  }
  if (!o.isResourceType(source) || (target !== undefined && !o.isResourceType(target))) {
    throw errors.badRequest(`Search parameter ${name}: "${value}" names an unknown resource type`, 'invalid-search-value', name);
  }
  if (!rev && !iterate && source !== resourceType) {
    throw errors.badRequest(
      `Search parameter ${name}: "${value}" must start from ${resourceType} (or use :iterate)`,
      'invalid-search-value',
      name,
    );
  }
  const param = o.searchParams.get(source, code);
  if (!param || param.type !== 'reference' || !param.extract) {
    throw errors.badRequest(
      `Search parameter ${name}: ${source} has no reference search parameter "${code}"`,
      'invalid-search-value',
      name,
    );
  }
  if (target !== undefined && param.targets.length > 0 && !param.targets.includes(target)) {
    throw errors.badRequest(`Search parameter ${name}: ${source}.${code} cannot refer to ${target}`, 'invalid-search-value', name);
  }
  return { sourceType: source, param, targetType: target, iterate };
}

/** Parses `name[:modifier][.chain]=value` into one criterion. */
function parseCriterion(resourceType: string, name: string, value: string, o: SearchParseOptions): Criterion {
  if (name.startsWith('_has:')) return parseHas(resourceType, name, value, o);
  const dot = name.indexOf('.');
  if (dot > 0) {
    return parseChain(resourceType, name.slice(0, dot), name.slice(dot + 1), value, o);
  }
  const [code, modifier, extra] = name.split(':') as [string, string | undefined, string | undefined];
  const param = lookup(resourceType, code, o);
  if (extra !== undefined) {
    throw errors.badRequest(`Search parameter ${name}: more than one modifier`, 'invalid-search-value', name);
  }
  if (modifier === 'missing') {
    return { kind: 'missing', param, missing: parseBoolean(name, value) };
  }
  const raw = splitEscaped(value, ',');
  const bad = (): never => {
    throw new Unsupported(`modifier :${modifier ?? ''} is not supported for ${param.type} parameters`);
  };
  switch (param.type) {
    case 'token':
      if (modifier === 'text') return { kind: 'token-text', param, values: raw.map((v) => searchKey(unescape(v))) };
      if (modifier !== undefined && modifier !== 'not') bad();
      return { kind: 'token', param, not: modifier === 'not', values: raw.map((v) => parseTokenValue(name, v, o.normalizeIdentifier)) };
    case 'string': {
      if (modifier !== undefined && modifier !== 'exact' && modifier !== 'contains') bad();
      const mode = modifier === 'exact' ? 'exact' : modifier === 'contains' ? 'contains' : 'prefix';
      const values = raw.map(unescape).map((v) => ({ raw: v, norm: searchKey(v) }));
      if (values.some((v) => v.norm === '')) throw errors.badRequest(`Search parameter ${name}: empty value`, 'invalid-search-value', name);
      return { kind: 'string', param, values, mode };
    }
    case 'date':
      if (modifier !== undefined) bad();
      return { kind: 'date', param, values: raw.map((v) => parseDateValue(name, v)) };
    case 'number':
      if (modifier !== undefined) bad();
      return { kind: 'number', param, values: raw.map((v) => parseNumberValue(name, v)) };
    case 'quantity':
      if (modifier !== undefined) bad();
      return { kind: 'quantity', param, values: raw.map((v) => parseQuantityValue(name, v)) };
    case 'uri': {
      if (modifier !== undefined && modifier !== 'below' && modifier !== 'above') bad();
      return {
        kind: 'uri',
        param,
        values: raw.map(unescape),
        mode: modifier === 'below' ? 'below' : modifier === 'above' ? 'above' : 'exact',
      };
    }
    case 'reference': {
      if (modifier !== undefined && !o.isResourceType(modifier)) bad();
      if (modifier !== undefined && param.targets.length > 0 && !param.targets.includes(modifier)) {
        throw errors.badRequest(`Search parameter ${name}: ${code} cannot refer to ${modifier}`, 'invalid-search-value', name);
      }
      return { kind: 'reference', param, values: raw.map((v) => parseReferenceValue(name, v, modifier, o.baseUrl, o.isResourceType)) };
    }
    default:
      throw new Unsupported(`${param.type} parameters are not supported`);
  }
}

function lookup(resourceType: string, code: string, o: SearchParseOptions): SearchParam {
  const param = o.searchParams.get(resourceType, code);
  if (!param) {
    throw new Unsupported(`is not a search parameter of ${resourceType}`);
  }
  if (!isSearchable(param)) {
    throw new Unsupported(`${param.type} search parameters are not supported`);
  }
  return param;
}

function parseChain(resourceType: string, head: string, rest: string, value: string, o: SearchParseOptions): Criterion {
  const [code, typeModifier] = head.split(':') as [string, string | undefined];
  const param = lookup(resourceType, code, o);
  if (param.type !== 'reference') {
    throw errors.badRequest(`Search parameter ${head}.${rest}: only reference parameters can be chained`, 'invalid-search-value', head);
  }
  const candidates = typeModifier ? [typeModifier] : [...param.targets];
  if (typeModifier && (!o.isResourceType(typeModifier) || (param.targets.length > 0 && !param.targets.includes(typeModifier)))) {
    throw errors.badRequest(`Search parameter ${head}.${rest}: ${code} cannot refer to ${typeModifier}`, 'invalid-search-value', head);
  }
  const chainCode = rest.split(/[:.]/)[0];
  const targetTypes = candidates.filter((t) => {
    const p = o.searchParams.get(t, chainCode);
    return p !== undefined && isSearchable(p);
  });
  if (targetTypes.length === 0) {
    throw new Unsupported(`none of the types ${code} refers to has a search parameter "${chainCode}"`);
  }
  const inner = targetTypes.map((t) => parseCriterion(t, rest, value, o));
  return { kind: 'chain', param, targetTypes, inner };
}

/** How many `_has` may nest in one parameter (each is one more EXISTS over the reference index). */
const MAX_HAS_DEPTH = 3;

/**
 * `_has:Type:reference:parameter=value` (reverse chaining, search.html#has): rows that some live
 * `Type` resource refers to through `reference` and that meets `parameter=value`; the parameter
 * may itself be a `_has:` (nested) or a chain.
 */
function parseHas(resourceType: string, name: string, value: string, o: SearchParseOptions): Criterion {
  const [, sourceType = '', code = '', ...rest] = name.split(':');
  const innerName = rest.join(':');
  if (sourceType === '' || code === '' || innerName === '') {
    throw errors.badRequest(`Search parameter ${name}: must be _has:Type:reference:parameter`, 'invalid-search-value', name);
  }
  if (name.split('_has:').length - 1 > MAX_HAS_DEPTH) {
    throw errors.badRequest(`Search parameter ${name}: at most ${MAX_HAS_DEPTH} nested _has`, 'invalid-search-value', name);
  }
  if (!o.isResourceType(sourceType)) {
    throw errors.badRequest(`Search parameter ${name}: "${sourceType}" is not a resource type`, 'invalid-search-value', name);
  }
  const param = o.searchParams.get(sourceType, code);
  if (!param || param.type !== 'reference' || !isSearchable(param)) {
    throw errors.badRequest(
      `Search parameter ${name}: ${sourceType} has no reference search parameter "${code}"`,
      'invalid-search-value',
      name,
    );
  }
  if (param.targets.length > 0 && !param.targets.includes(resourceType)) {
    throw errors.badRequest(
      `Search parameter ${name}: ${sourceType}.${code} cannot refer to ${resourceType}`,
      'invalid-search-value',
      name,
    );
  }
  return { kind: 'has', sourceType, param, inner: parseCriterion(sourceType, innerName, value, o) };
}

/** Criteria only (no result parameters): for scope constraints and conditional requests. */
export function parseCriteria(
  resourceType: string,
  pairs: readonly [string, string][],
  o: Omit<SearchParseOptions, 'defaultCount' | 'maxCount' | 'lenient'>,
): Criterion[] {
  return parseSearch(resourceType, pairs, { ...o, defaultCount: 1, maxCount: 1, lenient: false }).criteria;
}

function escapeToken(s: string): string {
  return s.replace(/[\\,|$]/g, (c) => `\\${c}`);
}

/**
 * The value a paging link repeats: token values as normalized (canonical identifiers, and
 * search keys instead of anything that must not travel in clear, such as My Number), other
 * values as given.
 */
function linkValue(c: Criterion, given: string): string {
  let token: Criterion | undefined = c;
  while (token?.kind === 'chain' || token?.kind === 'has') token = token.kind === 'chain' ? token.inner[0] : token.inner;
  if (token?.kind !== 'token') return given;
  return token.values
    .map((v) => (v.anySystem ? escapeToken(v.code ?? '') : `${escapeToken(v.system ?? '')}|${escapeToken(v.code ?? '')}`))
    .join(',');
}
