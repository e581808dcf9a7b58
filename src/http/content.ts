/**
 * Content negotiation: medid speaks FHIR JSON and FHIR XML (http.html#mime-type). `_format`
 * overrides Accept; Accept is ranked by its q-values (the most specific range decides a type's
 * q; equal q: the range listed first, then JSON); anything that rules both out is 406. A request
 * body is JSON, XML (parsed into the same FHIR JSON: fhir/xml/read.ts), a JSON Patch (for PATCH) or a
 * form (for _search); any other is 415. Responses that are not FHIR resources (the Bulk Data manifest, NDJSON files)
 * keep their own format.
 */
import { errors } from '../core/outcome.ts';
import { parseJsonRawNumbers } from '../core/json.ts';
import { resourceToFhirXml } from '../fhir/xml/write.ts';

export type OutputType = 'application/fhir+json' | 'application/json' | 'application/fhir+xml' | 'application/xml' | 'text/xml';

/** `_format` values (http.html#mime-type), with the type each answers in. */
const FORMATS: Readonly<Record<string, OutputType>> = {
  json: 'application/fhir+json',
  'application/fhir+json': 'application/fhir+json',
  'application/json+fhir': 'application/fhir+json',
  'application/json': 'application/json',
  xml: 'application/fhir+xml',
  'application/fhir+xml': 'application/fhir+xml',
  'application/xml+fhir': 'application/fhir+xml',
  'application/xml': 'application/xml',
  'text/xml': 'text/xml',
};

/** The types medid answers in, in its own order of preference, with the media ranges naming each. */
const OFFERED: readonly { type: OutputType; ranges: readonly string[] }[] = [
  { type: 'application/fhir+json', ranges: ['application/fhir+json', 'application/json+fhir'] },
  { type: 'application/json', ranges: ['application/json'] },
  { type: 'application/fhir+xml', ranges: ['application/fhir+xml', 'application/xml+fhir'] },
  { type: 'application/xml', ranges: ['application/xml'] },
  { type: 'text/xml', ranges: ['text/xml'] },
];

export function isXmlType(type: OutputType): boolean {
  return type === 'application/fhir+xml' || type === 'application/xml' || type === 'text/xml';
}

interface MediaRange {
  range: string;
  q: number;
  order: number;
}

function mediaRanges(accept: string): MediaRange[] {
  return accept.split(',').map((s, order) => {
    const [range, ...params] = s.split(';').map((x) => x.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    // RFC 9110 §12.4.2: qvalue = 0(.ddd) / 1(.000); a malformed one counts as 0 (not acceptable).
    const value = q === undefined ? 1 : /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(q.slice(2)) ? Number(q.slice(2)) : 0;
    return { range: range ?? '', q: value, order };
  });
}

/** The q and position of the most specific range in Accept that covers `offered` (RFC 9110 §12.5.1). */
function rank(offered: (typeof OFFERED)[number], ranges: readonly MediaRange[]): { q: number; order: number } | undefined {
  const major = offered.type.split('/')[0];
  const byRange = (names: readonly string[]): MediaRange | undefined => ranges.find((r) => names.includes(r.range));
  const match = byRange(offered.ranges) ?? byRange([`${major}/*`]) ?? byRange(['*/*']);
  return match && { q: match.q, order: match.order };
}

/** The response media type for a request, or a 406 error. */
export function negotiate(format: string | undefined, accept: string | undefined): OutputType {
  if (format !== undefined) {
    // A '+' in a query string reads as a space: `_format=application/fhir+xml` arrives as `application/fhir xml`.
    const f = (format.split(';')[0] ?? '').trim().toLowerCase().replace(/ /g, '+');
    const type = FORMATS[f];
    if (!type) throw errors.notAcceptable(`_format=${format} is not supported; this server speaks json and xml`);
    return type;
  }
  if (!accept) return 'application/fhir+json';
  const ranges = mediaRanges(accept);
  let best: { type: OutputType; q: number; order: number } | undefined;
  for (const offered of OFFERED) {
    const r = rank(offered, ranges);
    if (!r || r.q <= 0) continue;
    if (!best || r.q > best.q || (r.q === best.q && r.order < best.order)) best = { type: offered.type, ...r };
  }
  if (!best) {
    throw errors.notAcceptable(`Accept: ${accept} cannot be satisfied; this server speaks application/fhir+json and application/fhir+xml`);
  }
  return best.type;
}

/** `json-patch`: a JSON Patch document (RFC 6902), JSON text the PATCH route reads as operations. */
export type BodyKind = 'json' | 'json-patch' | 'xml' | 'form' | 'none';

const JSON_BODY = new Set(['application/fhir+json', 'application/json', 'application/json+fhir']);
const XML_BODY = new Set(['application/fhir+xml', 'application/xml', 'text/xml', 'application/xml+fhir']);

/** What kind of body a request carries, or a 415 error. */
export function bodyKind(contentType: string | undefined, length: number): BodyKind {
  if (length === 0) return 'none';
  const [t = '', ...params] = (contentType ?? '').split(';').map((x) => x.trim().toLowerCase());
  if (JSON_BODY.has(t)) return 'json';
  if (t === 'application/json-patch+json') return 'json-patch';
  if (XML_BODY.has(t)) {
    const charset = params
      .find((p) => p.startsWith('charset='))
      ?.slice(8)
      .replace(/"/g, '');
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      throw errors.unsupportedMediaType(`charset=${charset} is not supported; send XML in UTF-8`);
    }
    return 'xml';
  }
  if (t === 'application/x-www-form-urlencoded') return 'form';
  throw errors.unsupportedMediaType(
    `Content-Type ${contentType ?? '(none)'} is not supported; send application/fhir+json or application/fhir+xml`,
  );
}

/**
 * A response body, given as FHIR JSON text, in XML: undefined when it is not a FHIR resource (the
 * Bulk Data manifest), which stays JSON. Decimals keep their JSON text (`20.00` → `value="20.00"`).
 */
export function xmlBody(json: string, pretty: boolean): string | undefined {
  const value = parseJsonRawNumbers(json);
  if (value === null || typeof value !== 'object' || typeof (value as { resourceType?: unknown }).resourceType !== 'string') {
    return undefined;
  }
  return resourceToFhirXml(value, pretty);
}
