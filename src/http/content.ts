/**
 * Content negotiation: medid speaks FHIR JSON only. `_format` overrides Accept; anything that
 * rules JSON out is 406; a request body that is not JSON (or a form, for _search) is 415.
 */
import { errors } from '../core/outcome.ts';

const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir']);

export type OutputType = 'application/fhir+json' | 'application/json';

/** The response media type for a request, or a 406 error. */
export function negotiate(format: string | undefined, accept: string | undefined): OutputType {
  if (format !== undefined) {
    const f = (format.split(';')[0] ?? '').trim().toLowerCase();
    if (!JSON_FORMATS.has(f)) throw errors.notAcceptable(`_format=${format} is not supported; this server speaks JSON only`);
    return f === 'application/json' ? 'application/json' : 'application/fhir+json';
  }
  if (!accept) return 'application/fhir+json';
  const types = accept
    .split(',')
    .map((s) => {
      const [t, ...params] = s.split(';').map((x) => x.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      return { type: t ?? '', q: q ? Number(q.slice(2)) : 1 };
    })
    .filter((t) => t.q > 0);
  if (types.some((t) => t.type === 'application/fhir+json' || t.type === 'application/json+fhir')) return 'application/fhir+json';
  if (types.some((t) => t.type === 'application/json')) return 'application/json';
  if (types.some((t) => t.type === '*/*' || t.type === 'application/*')) return 'application/fhir+json';
  throw errors.notAcceptable(`Accept: ${accept} cannot be satisfied; this server speaks application/fhir+json only`);
}

export type BodyKind = 'json' | 'form' | 'none';

/** What kind of body a request carries, or a 415 error. */
export function bodyKind(contentType: string | undefined, length: number): BodyKind {
  if (length === 0) return 'none';
  const t = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (t === 'application/fhir+json' || t === 'application/json' || t === 'application/json+fhir') return 'json';
  if (t === 'application/x-www-form-urlencoded') return 'form';
  throw errors.unsupportedMediaType(`Content-Type ${contentType ?? '(none)'} is not supported; send application/fhir+json`);
}
