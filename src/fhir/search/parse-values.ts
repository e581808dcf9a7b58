/**
 * Parsing of single search values by parameter type (FHIR R4 search.html §3.1.1.4–3.1.1.10).
 * Each function throws a 400 OperationOutcome naming the parameter when the value is malformed.
 */
import { errors } from '../../core/outcome.ts';
import { parseDateRange } from './date-range.ts';
import type { DatePrefix, DateValue, NumberValue, QuantityValue, ReferenceValue, TokenValue } from './model.ts';
import { parseReference } from './reference.ts';
import type { IdentifierNormalizer } from './index-rows.ts';
import { ID_SYSTEMS } from '../../core/systems.ts';

const MY_NUMBER_SYSTEM = ID_SYSTEMS.myNumber;

const PREFIXES = new Set<DatePrefix>(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']);

/** Splits on a separator that is not escaped with a backslash. */
export function splitEscaped(value: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && i + 1 < value.length) {
      cur += c + value[i + 1];
      i++;
    } else if (c === sep) {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

/** Removes the search escapes `\,` `\|` `\$` `\\`. */
export function unescape(value: string): string {
  return value.replace(/\\([,|$\\])/g, '$1');
}

/** A raw value as it may be echoed: never a My Number (nothing after its system is shown). */
export function shown(raw: string): string {
  const i = raw.indexOf(MY_NUMBER_SYSTEM);
  return i < 0 ? raw : `${raw.slice(0, i + MY_NUMBER_SYSTEM.length)}|…`;
}

function invalid(name: string, text: string): never {
  throw errors.badRequest(`Search parameter ${name}: ${text}`, 'invalid-search-value', name);
}

function prefixOf(raw: string): [DatePrefix, string] {
  const p = raw.slice(0, 2) as DatePrefix;
  if (/^[a-z]{2}/.test(raw) && PREFIXES.has(p)) {
    return [p, raw.slice(2)];
  }
  return ['eq', raw];
}

export function parseTokenValue(name: string, raw: string, normalizeId: IdentifierNormalizer): TokenValue {
  const parts = splitEscaped(raw, '|');
  if (parts.length > 2) {
    invalid(name, 'the value has more than one unescaped "|"');
  }
  if (parts.length === 1) {
    const code = unescape(parts[0]);
    if (code === '') invalid(name, 'empty value');
    return { system: undefined, code, anySystem: true };
  }
  const system = unescape(parts[0]);
  const code = unescape(parts[1]);
  if (system === '' && code === '') invalid(name, 'empty value');
  return {
    system: system === '' ? undefined : system,
    code: code === '' ? undefined : normalizeId(system || undefined, code),
    anySystem: false,
  };
}

export function parseDateValue(name: string, raw: string): DateValue {
  const [prefix, rest] = prefixOf(raw);
  const range = parseDateRange(rest);
  if (!range) {
    invalid(
      name,
      `the value is not a FHIR date (yyyy, yyyy-mm, yyyy-mm-dd or a dateTime with time zone), optionally after a prefix eq, ne, gt, lt, ge, le, sa, eb or ap`,
    );
  }
  return { prefix, ...range };
}

const NUMBER_RE = /^[+-]?(\d+)(?:\.(\d+))?(?:[eE][+-]?\d+)?$/;

export function parseNumberValue(name: string, raw: string): NumberValue {
  const [prefix, rest] = prefixOf(raw);
  const m = NUMBER_RE.exec(rest);
  if (!m) {
    invalid(name, `the value is not a number`);
  }
  const value = Number(rest);
  // Implicit precision: "100" means [99.5, 100.5), "100.0" means [99.95, 100.05).
  const exp = /[eE]([+-]?\d+)$/.exec(rest);
  const decimals = (m[2]?.length ?? 0) - (exp ? Number(exp[1]) : 0);
  const half = 0.5 * 10 ** -decimals;
  return { prefix, value, lo: value - half, hi: value + half };
}

export function parseQuantityValue(name: string, raw: string): QuantityValue {
  const parts = splitEscaped(raw, '|');
  if (parts.length !== 1 && parts.length !== 3) {
    invalid(name, `the value must be [prefix]number or [prefix]number|system|code`);
  }
  const n = parseNumberValue(name, parts[0]);
  const system = parts[1] ? unescape(parts[1]) : undefined;
  const code = parts[2] ? unescape(parts[2]) : undefined;
  return { ...n, system, code };
}

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

export function parseReferenceValue(
  name: string,
  raw: string,
  typeModifier: string | undefined,
  baseUrl: string,
  isResourceType: (t: string) => boolean,
): ReferenceValue {
  const v = unescape(raw);
  if (v === '') invalid(name, 'empty value');
  const parsed = parseReference(v, baseUrl);
  if (parsed) {
    if (!isResourceType(parsed.type)) invalid(name, `"${parsed.type}" is not a resource type`);
    if (typeModifier && typeModifier !== parsed.type)
      invalid(name, `the value's type ${parsed.type} contradicts the modifier :${typeModifier}`);
    return { type: parsed.type, id: parsed.id, url: undefined };
  }
  if (ID_RE.test(v)) {
    return { type: typeModifier, id: v, url: undefined };
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(v)) {
    return { type: undefined, id: undefined, url: v };
  }
  return invalid(name, `the value is not a reference (Type/id, id or an absolute URL)`);
}

export function parseBoolean(name: string, raw: string): boolean {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  return invalid(name, `the value must be true or false`);
}
