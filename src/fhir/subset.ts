/**
 * _summary and _elements: subsets of a resource, tagged SUBSETTED as FHIR requires so nobody
 * mistakes them for the whole resource (and writes them back).
 */
import { tryGetDataType } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { SummaryMode } from './search/model.ts';
import { SYSTEMS } from '../core/systems.ts';
import { carryDecimals } from '../core/json.ts';

const SUBSETTED = { system: SYSTEMS.observationValue, code: 'SUBSETTED', display: 'subsetted' };

/** Whether JSON key `key` is element `name`, including choice forms (deceasedBoolean → deceased). */
function keyIn(key: string, names: ReadonlySet<string>): boolean {
  if (names.has(key)) return true;
  for (const n of names) {
    if (key.length > n.length && key.startsWith(n) && /[A-Z]/.test(key.charAt(n.length))) return true;
  }
  return false;
}

function keep(resource: Resource, names: ReadonlySet<string>): Resource {
  const out: Record<string, unknown> = { resourceType: resource.resourceType };
  for (const [k, v] of Object.entries(resource)) {
    if (k === 'id' || k === 'meta' || keyIn(k, names) || (k.startsWith('_') && keyIn(k.slice(1), names))) out[k] = v;
  }
  return tagged(carryDecimals(resource, out) as unknown as Resource);
}

function tagged(r: Resource): Resource {
  const tags = (r.meta?.tag ?? []).filter((t) => t.code !== SUBSETTED.code);
  return { ...r, meta: { ...r.meta, tag: [...tags, SUBSETTED] } };
}

/** Applies _summary / _elements; returns the resource unchanged when neither applies. */
export function subset(resource: Resource, summary: SummaryMode | undefined, elements: readonly string[] | undefined): Resource {
  if (elements && elements.length > 0) {
    return keep(resource, new Set(elements));
  }
  const schema = tryGetDataType(resource.resourceType);
  switch (summary) {
    case 'true':
      return keep(resource, schema?.summaryProperties ?? new Set());
    case 'text':
      return keep(resource, new Set(['text', ...(schema?.mandatoryProperties ?? [])]));
    case 'data': {
      const { text: _text, ...rest } = resource as Resource & { text?: unknown };
      return tagged(rest);
    }
    default:
      return resource;
  }
}

export function needsSubset(summary: SummaryMode | undefined, elements: readonly string[] | undefined): boolean {
  return (elements !== undefined && elements.length > 0) || summary === 'true' || summary === 'text' || summary === 'data';
}
