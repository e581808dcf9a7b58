/**
 * A cheap first pass over a resource's JSON shape, run before the full validator: every place
 * the definitions give a complex type (an object) must hold an object. @medplum/core's crawler
 * walks a string found there character by character, one issue per character, which made a
 * 400 kB string where an object belongs cost 6 seconds; this pass names the fault once, in time
 * linear in the resource's keys, and the full validation is skipped.
 *
 * Only the object-versus-primitive shape is checked here; everything else (unknown elements,
 * cardinality, primitive formats) is left to the full validator, which is fast on those.
 */
import { isPrimitiveType, tryGetDataType } from '@medplum/core';
import type { InternalSchemaElement, InternalTypeSchema } from '@medplum/core';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { issue } from '../core/outcome.ts';

/** Stop after this many faults: the body is refused either way. */
const MAX_FAULTS = 20;

const SYSTEM_TYPE = 'http://hl7.org/fhirpath/System.';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isComplex(code: string): boolean {
  return !code.startsWith(SYSTEM_TYPE) && !isPrimitiveType(code);
}

/** The element a JSON key names, and the one type it carries when the key picks a choice type. */
function elementFor(schema: InternalTypeSchema, key: string): { element: InternalSchemaElement; types: string[] } | undefined {
  const element = Object.hasOwn(schema.elements, key) ? schema.elements[key] : undefined;
  if (element) return { element, types: element.type.map((t) => t.code) };
  for (const [name, el] of Object.entries(schema.elements)) {
    if (!name.endsWith('[x]')) continue;
    const stem = name.slice(0, -3);
    if (!key.startsWith(stem) || key.length === stem.length) continue;
    const suffix = key.slice(stem.length);
    const type = el.type.find((t) => t.code.toLowerCase() === suffix.toLowerCase());
    if (type) return { element: el, types: [type.code] };
  }
  return undefined;
}

function schemaOf(type: string, value: Record<string, unknown>): InternalTypeSchema | undefined {
  if (type === 'Resource' || type === 'DomainResource') {
    const rt = value['resourceType'];
    return typeof rt === 'string' ? tryGetDataType(rt) : undefined;
  }
  return tryGetDataType(type);
}

export function shapeIssues(resource: Record<string, unknown>): OperationOutcomeIssue[] {
  const faults: OperationOutcomeIssue[] = [];
  const fault = (path: string, type: string): void => {
    faults.push(
      issue({
        code: 'structure',
        medid: 'invalid-resource',
        text: `${path} must be a JSON object (FHIR type ${type})`,
        expression: path,
      }),
    );
  };

  const unknown = (path: string): void => {
    faults.push(issue({ code: 'structure', medid: 'invalid-resource', text: `${path} is not an element R4 defines`, expression: path }));
  };

  const visit = (value: Record<string, unknown>, schema: InternalTypeSchema, path: string): void => {
    for (const [key, v] of Object.entries(value)) {
      if (faults.length >= MAX_FAULTS) return;
      if (key === 'resourceType') continue;
      if (key.startsWith('_')) {
        // A primitive's id and extensions: an object, or an array of objects and nulls.
        const items = Array.isArray(v) ? v : [v];
        if (items.some((x) => x !== null && !isObject(x))) fault(`${path}.${key}`, 'Element');
        continue;
      }
      const found = elementFor(schema, key);
      if (!found) {
        // The full validator looks elements up in a plain object, where these names always exist.
        if (key in Object.prototype) unknown(`${path}.${key}`);
        continue;
      }
      const complex = found.types.filter(isComplex);
      if (complex.length === 0 || complex.length < found.types.length) continue;
      const items = Array.isArray(v) ? v : [v];
      items.forEach((item, i) => {
        const at = Array.isArray(v) ? `${path}.${key}[${i}]` : `${path}.${key}`;
        if (!isObject(item)) {
          if (item !== null) fault(at, complex[0]);
          return;
        }
        const inner = schemaOf(complex[0], item);
        if (inner) visit(item, inner, at);
      });
    }
  };

  const type = resource['resourceType'];
  const schema = typeof type === 'string' ? tryGetDataType(type) : undefined;
  if (schema) visit(resource, schema, type as string);
  return faults;
}
