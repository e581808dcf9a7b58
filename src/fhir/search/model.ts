/**
 * A parsed search request: what `parse.ts` produces from the query string and `search-sql.ts`
 * turns into SQL. Values are already validated and normalized here.
 */
import type { RowAccess } from '../../core/access.ts';
import type { SearchParam } from '../definitions/search-params.ts';

export type DatePrefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

export interface TokenValue {
  system: string | undefined;
  code: string | undefined;
  anySystem: boolean;
}
export interface DateValue {
  prefix: DatePrefix;
  lo: number;
  hi: number;
}
export interface NumberValue {
  prefix: DatePrefix;
  value: number;
  lo: number;
  hi: number;
}
export interface QuantityValue extends NumberValue {
  system: string | undefined;
  code: string | undefined;
}
export interface ReferenceValue {
  type: string | undefined;
  id: string | undefined;
  url: string | undefined;
}

/** One search criterion: every criterion must hold (AND); values within one are OR. */
export type Criterion =
  | { kind: 'missing'; param: SearchParam; missing: boolean }
  | { kind: 'token'; param: SearchParam; values: TokenValue[]; not: boolean }
  | { kind: 'token-text'; param: SearchParam; values: string[] }
  | { kind: 'string'; param: SearchParam; values: { norm: string; raw: string }[]; mode: 'prefix' | 'exact' | 'contains' }
  | { kind: 'date'; param: SearchParam; values: DateValue[] }
  | { kind: 'reference'; param: SearchParam; values: ReferenceValue[] }
  | { kind: 'chain'; param: SearchParam; targetTypes: string[]; inner: Criterion[] }
  /**
   * Reverse chaining (`_has:Observation:patient:code=…`): some live `sourceType` resource refers to
   * the row through reference parameter `param` and meets `inner` (itself possibly a `has`).
   */
  | { kind: 'has'; sourceType: string; param: SearchParam; inner: Criterion }
  | { kind: 'number'; param: SearchParam; values: NumberValue[] }
  | { kind: 'quantity'; param: SearchParam; values: QuantityValue[] }
  | { kind: 'uri'; param: SearchParam; values: string[]; mode: 'exact' | 'below' | 'above' }
  /** Any one group must hold entirely (scope constraints: one group per constrained scope). */
  | { kind: 'any'; groups: Criterion[][] }
  /** The rows the caller may see (the access policy, compiled into the query). */
  | { kind: 'access'; access: RowAccess };

export interface SortKey {
  param: SearchParam;
  descending: boolean;
}

export interface IncludeSpec {
  /** Resource type the include starts from (`Observation` in `Observation:patient`). */
  sourceType: string;
  param: SearchParam;
  targetType: string | undefined;
  iterate: boolean;
}

export type SummaryMode = 'true' | 'false' | 'text' | 'data' | 'count';
export type TotalMode = 'none' | 'estimate' | 'accurate';

/** A keyset position: the sort values of a row and its seq, and which way to page. */
export interface Cursor {
  direction: 'next' | 'previous';
  values: (string | null)[];
  seq: number;
}

export interface SearchRequest {
  resourceType: string;
  criteria: Criterion[];
  sort: SortKey[];
  count: number;
  total: TotalMode;
  summary: SummaryMode | undefined;
  elements: string[] | undefined;
  include: IncludeSpec[];
  revinclude: IncludeSpec[];
  cursor: Cursor | undefined;
  /** Query parameters to repeat in self/next/previous links (validated ones only). */
  linkParams: [string, string][];
  /** Parameters ignored under `Prefer: handling=lenient`, reported back as warnings. */
  ignored: { name: string; reason: string }[];
}
