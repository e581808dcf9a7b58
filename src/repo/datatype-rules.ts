/**
 * The R4 rules @medplum/core's validator leaves out, checked on every write and by $validate:
 * - the invariants of the data types themselves (per-1, qty-3, ref-1, cpt-2, ext-1…): medplum
 *   checks an element's own constraints, not those of the type it holds;
 * - narrative XHTML (txt-1, txt-2: fhir/narrative.ts) and dom-3 (every contained resource is
 *   referenced);
 * - JSON representation rules: no empty arrays or objects, null only beside its `_element`;
 * - a resource id (contained ones too) matches [A-Za-z0-9\-.]{1,64};
 * - a dateTime with a time carries a time zone;
 * - a core extension's value has one of the types its definition allows;
 * - codes bound `required` are from their value set (the tokens medplum collects for us).
 */
import { crawlTypedValue, evalFhirPathTyped, LRUCache, toTypedValue } from '@medplum/core';
import type { FhirPathAtom, InternalTypeSchema, TypedValue, TypedValueWithPath } from '@medplum/core';
import type { Coding, CodeableConcept, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { issue } from '../core/outcome.ts';
import type { Terminology } from '../fhir/definitions/terminology.ts';
import { checkNarrativeDiv } from '../fhir/narrative.ts';

/** R4 datatypes.html#id; repository.ts checks URL ids with the same rule. */
export const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;
const ZONE = /(Z|[+-]\d\d:\d\d)$/;
const UCUM = toTypedValue('http://unitsofmeasure.org');
/** Compiled FHIRPath expressions, shared by every check. */
const fhirPathCache = new LRUCache<FhirPathAtom>(1000);

const invalid = (expression: string, text: string, rule?: string): OperationOutcomeIssue =>
  issue({
    code: 'invariant',
    medid: 'invalid-resource',
    text: rule ? `Constraint ${rule} not met: ${text}` : text,
    expression: fhirPath(expression),
  });

/** medplum writes choice elements as value[x]; FHIRPath names them value. */
const fhirPath = (p: string): string => p.replace(/\[x\]/g, '');

function datatypeInvariants(value: TypedValueWithPath, schema: InternalTypeSchema, root: TypedValue, out: OperationOutcomeIssue[]): void {
  for (const c of schema.constraints ?? []) {
    if (c.severity !== 'error' || c.key === 'ele-1' || c.expression.includes('htmlChecks')) continue;
    // ref-1 as written in R4 refuses "#", a contained resource's reference to its container.
    if (c.key === 'ref-1' && (value.value as { reference?: unknown }).reference === '#') continue;
    let ok: boolean;
    try {
      const r = evalFhirPathTyped(
        c.expression,
        [value],
        { '%context': value, '%resource': root, '%rootResource': root, '%ucum': UCUM },
        fhirPathCache,
      );
      // An empty result is no verdict (a display-only Reference for ref-1): only false fails.
      ok = r.length === 0 || (r.length === 1 && r[0]?.value === true);
    } catch {
      ok = false;
    }
    if (!ok) out.push(invalid(value.path, c.description || c.expression, c.key));
  }
}

function extensionType(value: TypedValueWithPath, terminology: Terminology, out: OperationOutcomeIssue[]): void {
  const ext = value.value as Record<string, unknown>;
  const url = ext['url'];
  if (typeof url !== 'string') return;
  const allowed = terminology.extensionValueTypes(url);
  if (allowed === undefined) return;
  const key = Object.keys(ext).find((k) => k.startsWith('value') && k.length > 5);
  if (key === undefined) return;
  const t = key.slice(5);
  const lower = t.charAt(0).toLowerCase() + t.slice(1);
  if (allowed.length === 0) {
    out.push(invalid(`${value.path}.${key}`, `extension ${url} is complex: it has nested extensions, not a value`));
  } else if (!allowed.includes(t) && !allowed.includes(lower)) {
    out.push(invalid(`${value.path}.${key}`, `extension ${url} takes a value of type ${allowed.join(' or ')}, not ${t}`));
  }
}

function narrative(value: TypedValueWithPath, out: OperationOutcomeIssue[]): void {
  const div = (value.value as { div?: unknown }).div;
  if (typeof div !== 'string') return;
  for (const i of checkNarrativeDiv(div)) {
    out.push(invalid(`${value.path}.div`, i.text, i.rule === 'xhtml' ? undefined : i.rule));
  }
}

/** Invariants of the data types, narratives, ids, zones and extension types, by one crawl. */
function crawl(resource: Resource, terminology: Terminology, out: OperationOutcomeIssue[]): void {
  const roots: TypedValue[] = [];
  crawlTypedValue(toTypedValue(resource), {
    onEnterResource: (path, value) => {
      const id = (value.value as { id?: unknown }).id;
      if (id !== undefined && (typeof id !== 'string' || !ID_RE.test(id))) {
        out.push(invalid(`${value.path}.id`, 'a resource id is 1 to 64 of A-Z a-z 0-9 - . (R4 datatypes.html#id)'));
      }
      // A contained resource's references resolve in its container; a Bundle entry is its own root.
      roots.push(path.endsWith('.contained') && roots.length > 0 ? roots[roots.length - 1] : value);
    },
    onExitResource: () => {
      roots.pop();
    },
    onEnterObject: (_path, value, schema) => {
      const v = value;
      if (schema.kind === 'complex-type') datatypeInvariants(v, schema, roots[roots.length - 1], out);
      if (value.type === 'Extension') extensionType(v, terminology, out);
      else if (value.type === 'Narrative') narrative(v, out);
    },
    visitProperty: (_parent, _key, _path, values) => {
      for (const pv of values.flat()) {
        if (pv.type === 'dateTime' && typeof pv.value === 'string' && pv.value.includes('T') && !ZONE.test(pv.value)) {
          out.push(invalid(pv.path, 'a dateTime with a time must carry a time zone (R4 datatypes.html#dateTime)'));
        }
      }
    },
  });
}

type Json = Record<string, unknown>;

/** R4 json.html: no empty arrays or objects; null only where an array lines up with its _element. */
function emptiness(resource: Resource, out: OperationOutcomeIssue[]): void {
  const stack: [unknown, string][] = [[resource, resource.resourceType]];
  while (stack.length > 0) {
    const [node, path] = stack.pop() as [unknown, string];
    if (Array.isArray(node)) continue;
    if (typeof node !== 'object' || node === null) continue;
    const o = node as Json;
    if (Object.keys(o).length === 0) out.push(invalid(path, 'an object may not be empty (R4 json.html)'));
    for (const [k, v] of Object.entries(o)) {
      const p = `${path}.${k.startsWith('_') ? k.slice(1) : k}`;
      if (v === null) {
        out.push(invalid(p, 'null is not a value (R4 json.html): leave the element out'));
      } else if (Array.isArray(v)) {
        if (v.length === 0) out.push(invalid(p, 'an array may not be empty (R4 json.html): leave the element out'));
        const twin = o[k.startsWith('_') ? k.slice(1) : `_${k}`];
        v.forEach((x, n) => {
          if (x === null && !Array.isArray(twin))
            out.push(invalid(`${p}[${n}]`, 'null in an array only stands beside its _element (R4 json.html)'));
          else stack.push([x, `${p}[${n}]`]);
        });
      } else {
        stack.push([v, p]);
      }
    }
  }
}

/** Every string of a tree that is a local reference (#id), for dom-3. */
function localReferences(node: unknown, into: Set<string>): Set<string> {
  const stack = [node];
  while (stack.length > 0) {
    const n = stack.pop();
    if (typeof n === 'string') {
      if (n.startsWith('#')) into.add(n);
    } else if (typeof n === 'object' && n !== null) {
      const children: unknown[] = Array.isArray(n) ? (n as unknown[]) : Object.values(n);
      for (const c of children) stack.push(c);
    }
  }
  return into;
}

/** dom-3: a contained resource is referenced from elsewhere in its container, or refers to it. */
function containedReferenced(resource: Resource, path: string, out: OperationOutcomeIssue[]): void {
  const contained = (resource as { contained?: unknown }).contained;
  if (Array.isArray(contained) && contained.length > 0) {
    const refs = localReferences(resource, new Set());
    contained.forEach((c: Json, n) => {
      const id = c?.['id'];
      if (typeof id === 'string' && !refs.has(`#${id}`) && !localReferences(c, new Set()).has('#')) {
        out.push(invalid(`${path}.contained[${n}]`, 'a contained resource must be referenced from elsewhere in the resource', 'dom-3'));
      }
    });
  }
  if (resource.resourceType === 'Bundle') {
    ((resource as { entry?: { resource?: Resource }[] }).entry ?? []).forEach((e, n) => {
      if (e?.resource && typeof e.resource === 'object') containedReferenced(e.resource, `${path}.entry[${n}].resource`, out);
    });
  }
}

/** A required binding's value: is it from the value set? */
function inValueSet(value: TypedValueWithPath, codes: ReadonlyMap<string, ReadonlySet<string>>): boolean {
  const coded = (c: Coding | undefined): boolean => {
    if (!c?.code) return false;
    if (c.system === undefined) return [...codes.values()].some((s) => s.has(c.code as string));
    return codes.get(c.system)?.has(c.code) ?? false;
  };
  switch (value.type) {
    case 'code': {
      // A primitive with an _element extension arrives as a String object.
      const v: unknown = value.value;
      const code = typeof v === 'string' ? v : v instanceof String ? v.valueOf() : undefined;
      return code === undefined || [...codes.values()].some((s) => s.has(code));
    }
    case 'Coding':
      return coded(value.value as Coding);
    case 'CodeableConcept': {
      const cc = value.value as CodeableConcept;
      // Text alone states no code; a coding from elsewhere beside one from the set is allowed.
      return !Array.isArray(cc.coding) || cc.coding.length === 0 || cc.coding.some(coded);
    }
    default:
      return true;
  }
}

/** Codes bound `required`, as collected by the base validation run (valueSet URL → values). */
export function requiredBindingIssues(tokens: Record<string, TypedValueWithPath[]>, terminology: Terminology): OperationOutcomeIssue[] {
  const out: OperationOutcomeIssue[] = [];
  for (const [url, values] of Object.entries(tokens)) {
    const codes = terminology.codes(url);
    if (!codes) continue;
    for (const v of values) {
      if (!inValueSet(v, codes)) {
        out.push(
          issue({
            code: 'code-invalid',
            medid: 'invalid-resource',
            text: `The value is not in the value set ${url.split('|')[0] ?? url}, which this element is bound to (required)`,
            expression: fhirPath(v.path),
          }),
        );
      }
    }
  }
  return out;
}

/** Every rule above but the required bindings, whose tokens come from the base validation. */
export function datatypeIssues(resource: Resource, terminology: Terminology): OperationOutcomeIssue[] {
  const out: OperationOutcomeIssue[] = [];
  emptiness(resource, out);
  containedReferenced(resource, resource.resourceType, out);
  crawl(resource, terminology, out);
  return out;
}
