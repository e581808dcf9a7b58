/**
 * Where @medplum/core's validator is stricter than R4, or warns without cause, its issue is
 * judged again against the value it names:
 * - base64Binary: R4's regex `(\s*([0-9a-zA-Z\+/=]){4}\s*)+` allows line-wrapped base64, which
 *   medplum refuses;
 * - "Invalid reference" warnings: medplum takes the type from the text before the first "/", so
 *   every absolute URL ("http:") and every urn:uuid: is "invalid". An absolute URL is judged by
 *   its type segment; a urn: reference resolves inside its Bundle, which is not known here.
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';

/** The value an issue's expression names (Type.a[0].b, with value[x] for a choice). */
export function valueAt(resource: Resource, expression: string): unknown {
  let node: unknown = resource;
  for (const seg of expression.split('.').slice(1)) {
    const m = /^([^[]+)(?:\[(\d+|x)\])?$/.exec(seg);
    if (!m || typeof node !== 'object' || node === null) return undefined;
    const o = node as Record<string, unknown>;
    const name = m[1];
    if (m[2] === 'x') {
      const key = Object.keys(o).find((k) => k.startsWith(name) && /^[A-Z]/.test(k.slice(name.length)));
      node = key === undefined ? undefined : o[key];
      continue;
    }
    node = o[name];
    if (m[2] !== undefined) node = Array.isArray(node) ? node[Number(m[2])] : undefined;
  }
  return node;
}

const BASE64 = /^[A-Za-z\d+/]*={0,2}$/;

/** R4 base64Binary: groups of four alphabet characters, with whitespace allowed between them. */
export function isR4Base64(s: string): boolean {
  const packed = s.replace(/\s+/g, '');
  return packed.length > 0 && packed.length % 4 === 0 && BASE64.test(packed);
}

const ABSOLUTE_TYPE = /\/([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** The issue as R4 sees it: [] when medplum was wrong, else the issue (reworded if need be). */
export function judgeMedplumIssue(i: OperationOutcomeIssue, resource: Resource): OperationOutcomeIssue[] {
  const text = i.details?.text ?? '';
  const expr = i.expression?.[0];
  if (expr === undefined) return [i];
  if (text === 'Invalid base64Binary format') {
    const v = valueAt(resource, expr);
    return typeof v === 'string' && isR4Base64(v) ? [] : [i];
  }
  if (text.startsWith('Invalid reference: got')) {
    const ref = (valueAt(resource, expr) as { reference?: unknown } | undefined)?.reference;
    if (typeof ref !== 'string') return [i];
    if (ref.startsWith('urn:')) return [];
    if (ref.includes('://')) {
      const type = ABSOLUTE_TYPE.exec(ref)?.[1];
      if (type !== undefined && (text.includes(`/StructureDefinition/${type}"`) || text.includes('/StructureDefinition/Resource"')))
        return [];
      const expected = text.slice(text.indexOf('expected') + 9);
      return [
        {
          ...i,
          details: { ...i.details, text: `Invalid reference: an absolute URL to ${type ?? 'an unknown type'}, expected ${expected}` },
        },
      ];
    }
  }
  return [i];
}
