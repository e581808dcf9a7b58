/**
 * The R4 type model FHIR XML is read and written by: per type, its elements in definition order
 * (XML's element order), which repeat, and choice names resolved (`value[x]` → `valueQuantity`),
 * from the StructureDefinitions `definitions/index.ts` indexes into @medplum/core at start-up
 * (`loadDefinitions` must have run first).
 */
import { tryGetDataType } from '@medplum/core';
import type { InternalTypeSchema } from '@medplum/core';

export const FHIR_NS = 'http://hl7.org/fhir';
export const XHTML_NS = 'http://www.w3.org/1999/xhtml';

/** An element name for a message: names are structure, not content, but are bounded all the same. */
export function shown(name: string): string {
  return name.length > 64 ? `${name.slice(0, 64)}…` : name;
}

// ---------------------------------------------------------------------------------------------
// The type model: per type, its elements in definition order, with choice names resolved.
// ---------------------------------------------------------------------------------------------

export interface Slot {
  /** The JSON property and XML element name (`valueQuantity` for `value[x]`). */
  name: string;
  /** The type code: a primitive (`string`, `decimal`…), a complex or backbone type, `Resource`, `xhtml`. */
  code: string;
  isArray: boolean;
}

export interface TypeModel {
  name: string;
  /** Elements in definition order, choice types expanded to one slot per type. */
  slots: Slot[];
  byName: Map<string, Slot>;
}

const SYSTEM_STRING = 'http://hl7.org/fhirpath/System.String';
const models = new Map<string, TypeModel>();

export function isPrimitiveCode(code: string): boolean {
  return code === SYSTEM_STRING || /^[a-z]/.test(code);
}

export function modelOf(type: string): TypeModel {
  const cached = models.get(type);
  if (cached) return cached;
  const schema: InternalTypeSchema | undefined = tryGetDataType(type);
  if (!schema) {
    if (!tryGetDataType('Patient')) throw new Error('FHIR XML: the R4 definitions are not loaded (call loadDefinitions first)');
    throw new Error(`FHIR XML: no definition of type ${type}`);
  }
  const slots: Slot[] = [];
  for (const [key, el] of Object.entries(schema.elements)) {
    const isArray = Boolean(el.isArray) || el.max > 1;
    if (key.endsWith('[x]')) {
      const base = key.slice(0, -3);
      for (const t of el.type) slots.push({ name: base + t.code.charAt(0).toUpperCase() + t.code.slice(1), code: t.code, isArray });
    } else {
      slots.push({ name: key, code: el.type[0]?.code ?? 'string', isArray });
    }
  }
  const model = { name: type, slots, byName: new Map(slots.map((s) => [s.name, s])) };
  models.set(type, model);
  return model;
}

/** A resource type XML may name as a root or contained element (not the abstract bases). */
export function isResourceType(name: string): boolean {
  if (name === 'Resource' || name === 'DomainResource') return false;
  return tryGetDataType(name)?.kind === 'resource';
}
