/**
 * FHIR JSON that keeps a decimal's precision. R4 (datatypes.html#decimal): a decimal keeps its
 * implicit precision — 20.00 is not 20, and 3.14159265358979323846 is not an IEEE double. Plain
 * JSON.parse turns both into doubles; this parser keeps every number whose source text differs
 * from the double's own rendering, and the serializer writes that text back.
 *
 * How: JSON.parse's reviver sees each number's source text (ES2025 "JSON.parse source text
 * access"); a number whose text would not survive is kept as a double (so validation, FHIRPath
 * and search indexing see a number) and its text is recorded on the object that holds it, under
 * a symbol. Every ancestor is flagged, so serializing a tree without such numbers stays the fast
 * native JSON.stringify. Object spreads keep symbol properties; code that rebuilds an object key
 * by key calls `carryDecimals`.
 */
import { errors } from './outcome.ts';

/** On an object (or array) holding precise numbers: property key → the number's source text. */
const DECIMALS: unique symbol = Symbol('medid.decimals');
/** On every object on the path from the root to a holder of precise numbers. */
const HAS_DECIMALS: unique symbol = Symbol('medid.hasDecimals');

/** The symbols this module puts on parsed objects: not side data of any other kind. */
export const DECIMAL_MARKS: ReadonlySet<symbol> = new Set([DECIMALS, HAS_DECIMALS]);

type Holder = Record<string | symbol, unknown> & { [DECIMALS]?: Record<string, string>; [HAS_DECIMALS]?: true };

interface ReviverContext {
  source?: string;
}

/**
 * Number texts a double may not reproduce: a fraction ending in 0, an exponent, 16 or more digits
 * in a row, a tiny fraction (1e-7 renders as "1e-7"), a negative zero. A match (possibly inside
 * a string) only selects the slower, exact parse.
 */
const MAYBE_LOSSY = /\d\.\d*0(?!\d)|\d[eE]|\d{16}|\.0{6}|-0(?![.\d])/;

function revive(this: Holder, key: string, value: unknown, context?: ReviverContext): unknown {
  if (typeof value === 'number') {
    const source = context?.source;
    if (source !== undefined && source !== String(value)) {
      (this[DECIMALS] ??= {})[key] = source;
      this[HAS_DECIMALS] = true;
    }
  } else if (typeof value === 'object' && value !== null && (value as Holder)[HAS_DECIMALS]) {
    this[HAS_DECIMALS] = true;
  }
  return value;
}

/** JSON.parse that keeps each number's precision (throws SyntaxError like JSON.parse). */
export function parseJson(text: string): unknown {
  return MAYBE_LOSSY.test(text) ? (JSON.parse(text, revive as never) as unknown) : (JSON.parse(text) as unknown);
}

/** ES2025 raw JSON (V8 11.4+): a value JSON.stringify writes as the given text, unquoted. */
interface RawJsonApi {
  rawJSON(text: string): unknown;
  isRawJSON(v: unknown): v is { rawJSON: string };
}
const RAW = JSON as unknown as RawJsonApi;

/** A number literal JSON.stringify writes exactly as `text` (a decimal read from XML, say). */
export function rawNumber(text: string): unknown {
  return RAW.rawJSON(text);
}

/** The literal of a value made by `rawNumber` or `parseJsonRawNumbers`, else undefined. */
export function rawNumberText(v: unknown): string | undefined {
  return RAW.isRawJSON(v) ? v.rawJSON : undefined;
}

/**
 * JSON.parse with every number kept as its literal (`rawNumber`), for a reader that writes the
 * numbers out again in another notation (the XML writer). Nothing else should hold these values.
 */
export function parseJsonRawNumbers(text: string): unknown {
  return JSON.parse(text, ((_k: string, v: unknown, ctx?: ReviverContext) =>
    typeof v === 'number' ? RAW.rawJSON(ctx?.source ?? String(v)) : v) as never) as unknown;
}

function replace(this: Holder, key: string, value: unknown): unknown {
  const raw = this[DECIMALS]?.[key];
  // The text is written back only while the value is still the number it was parsed from.
  return raw !== undefined && typeof value === 'number' && Number(raw) === value ? RAW.rawJSON(raw) : value;
}

/** JSON.stringify that writes precise numbers as their source text. */
export function stringifyJson(value: unknown, indent?: number): string {
  const precise = typeof value === 'object' && value !== null && (value as Holder)[HAS_DECIMALS] === true;
  return precise ? JSON.stringify(value, replace as never, indent) : JSON.stringify(value, null, indent);
}

/** Copies the precise-number texts of `from` onto `to`, an object rebuilt from it key by key. */
export function carryDecimals<T extends object>(from: object, to: T): T {
  const f = from as Holder;
  if (f[HAS_DECIMALS]) {
    const t = to as unknown as Holder;
    t[HAS_DECIMALS] = true;
    if (f[DECIMALS]) t[DECIMALS] = f[DECIMALS];
  }
  return to;
}

/** Deeper than any FHIR resource nests (Questionnaire items nest a few dozen levels at most). */
export const MAX_JSON_DEPTH = 128;

/**
 * An escaped control character (FHIR strings allow only tab, CR and LF below U+0020), or the
 * non-characters U+FFFE and U+FFFF (no XML document can carry them), raw or escaped.
 */
const CONTROL_ESCAPE = /\\u00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F])|\\u[fF]{3}[eEfF]|[\uFFFE\uFFFF]/;
/** An escaped surrogate: the parse may hold a lone one, which no database or XML can store. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

function hasLoneSurrogate(root: unknown): boolean {
  const stack = [root];
  while (stack.length > 0) {
    const n = stack.pop();
    if (typeof n === 'string') {
      if (!n.isWellFormed()) return true;
    } else if (typeof n === 'object' && n !== null) {
      for (const [k, v] of Object.entries(n)) {
        if (!k.isWellFormed()) return true;
        stack.push(v);
      }
    }
  }
  return false;
}

/**
 * What no FHIR JSON holds and the code below must never meet: nesting deeper than `max`, or a
 * property named `__proto__` (JSON.parse keeps it as data, but any later copy by assignment
 * turns it into the object's prototype, so its content would silently vanish or leak in).
 */
function treeFault(root: unknown, max: number): string | undefined {
  // Iterative: a hostile body nested 100,000 levels deep must not exhaust the stack here.
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) return `The request body nests deeper than ${max} levels`;
    if (!Array.isArray(node) && Object.hasOwn(node, '__proto__'))
      return 'The request body has a property named __proto__, which no FHIR element has';
    for (const v of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof v === 'object' && v !== null) stack.push([v, depth + 1]);
    }
  }
  return undefined;
}

/**
 * A request body as FHIR JSON: precise decimals, no control characters (R4 datatypes.html#string;
 * PostgreSQL text cannot even hold U+0000), bounded nesting. Errors name the rule and position,
 * never the content (V8's own message quotes the text around the fault).
 */
export function parseFhirJson(text: string): unknown {
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (e) {
    const at = /position (\d+)/.exec((e as Error).message)?.[1];
    throw errors.badRequest(
      `The request body is not valid JSON (RFC 8259)${at === undefined ? '' : ` at character ${at}`}`,
      'invalid-json',
      undefined,
      'structure',
    );
  }
  if (CONTROL_ESCAPE.test(text)) {
    throw errors.badRequest(
      'A string in the request body contains a control character (FHIR strings allow only tab, CR and LF below U+0020)',
      'invalid-json',
      undefined,
      'structure',
    );
  }
  if (SURROGATE_ESCAPE.test(text) && hasLoneSurrogate(value)) {
    throw errors.badRequest(
      'A string in the request body holds a lone UTF-16 surrogate (not Unicode text)',
      'invalid-json',
      undefined,
      'structure',
    );
  }
  const fault = treeFault(value, MAX_JSON_DEPTH);
  if (fault) throw errors.badRequest(fault, 'invalid-json', undefined, 'structure');
  return value;
}
