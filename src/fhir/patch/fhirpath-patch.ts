/**
 * FHIRPath Patch (FHIR R4 fhirpatch.html): a Parameters body whose `operation` parameters each
 * have a `type` (add | insert | delete | replace | move), a FHIRPath `path` and, as the type
 * needs, `name`, `value`, `index`, `source`, `destination`. Paths are evaluated by HL7's
 * fhirpath engine (the one search indexing uses) on the resource being patched; each node it
 * returns knows its parent, property name and list index, which is where the change is made.
 *
 * - add: `path` names one element; `name` is added to it (appended when it repeats; an error when
 *   a single-valued element already has a value).
 * - insert: `path` names a list; `value` goes in at `index` (0 ≤ index ≤ length).
 * - delete: `path` names at most one element, removed if found.
 * - replace: `path` names one element; its value becomes `value`.
 * - move: `path` names a list; the element at `source` moves to `destination`.
 *
 * A value is a `value[x]`, a `resource`, or `part`s naming the elements of a complex value
 * (repeating elements as repeated parts). A malformed patch (a missing part, an unknown type, a
 * path that does not parse, `resolve()`) is 400; one that cannot be applied to this resource (a
 * path that finds nothing or too much, an index out of range) is 422; both name the operation
 * by its index. Messages never repeat a value.
 */
import { tryGetDataType } from '@medplum/core';
import type { Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import fhirpath from 'fhirpath';
import r4model from 'fhirpath/fhir-context/r4';
import { errors } from '../../core/outcome.ts';

type PatchType = 'add' | 'insert' | 'delete' | 'replace' | 'move';
const TYPES = new Set<PatchType>(['add', 'insert', 'delete', 'replace', 'move']);

export interface FhirPathPatchOperation {
  /** Position among the Parameters' parameters, for messages. */
  at: number;
  type: PatchType;
  path: string;
  name?: string;
  /** The `value` part, decoded when the element's type is known (apply time). */
  value?: ParametersParameter;
  index?: number;
  source?: number;
  destination?: number;
}

const where = (i: number): string => `Parameters.parameter[${i}]`;
const malformed = (i: number, text: string): Error =>
  errors.badRequest(`FHIRPath Patch operation ${i}: ${text}`, 'invalid-patch', where(i));
const failed = (op: FhirPathPatchOperation, text: string): Error =>
  errors.unprocessable(
    `FHIRPath Patch operation ${op.at} (${op.type} ${op.path}) cannot be applied: ${text}`,
    'patch-failed',
    where(op.at),
    'processing',
  );

function partValue(p: ParametersParameter): unknown {
  const key = Object.keys(p).find((k) => k.startsWith('value'));
  return key === undefined ? undefined : (p as unknown as Record<string, unknown>)[key];
}

/** The operations of a FHIRPath Patch Parameters resource, checked for shape (400 naming the operation otherwise). */
export function parseFhirPathPatch(body: Parameters): FhirPathPatchOperation[] {
  const params = body.parameter;
  if (!Array.isArray(params) || params.length === 0) {
    throw errors.badRequest('A FHIRPath Patch needs at least one "operation" parameter', 'invalid-patch', 'Parameters.parameter');
  }
  return params.map((p, i) => {
    if (typeof p !== 'object' || p === null || p.name !== 'operation' || !Array.isArray(p.part)) {
      throw malformed(i, 'every parameter must be an "operation" with parts (type, path, …)');
    }
    const parts = new Map<string, ParametersParameter>();
    for (const part of p.part) {
      if (typeof part !== 'object' || part === null || typeof part.name !== 'string') throw malformed(i, 'every part needs a name');
      if (parts.has(part.name)) throw malformed(i, `part "${part.name}" is given twice`);
      parts.set(part.name, part);
    }
    const type = parts.get('type')?.valueCode;
    if (type === undefined || !TYPES.has(type as PatchType)) throw malformed(i, 'part "type" must be add, insert, delete, replace or move');
    const path = parts.get('path')?.valueString;
    if (typeof path !== 'string' || path.trim() === '') throw malformed(i, 'part "path" (a FHIRPath expression) is required');
    // resolve() would reach into other resources; a patch changes only its target (fhirpatch.html).
    if (/\bresolve\s*\(/.test(path)) throw malformed(i, 'resolve() is not allowed in a patch path');
    const op: FhirPathPatchOperation = { at: i, type: type as PatchType, path };
    const int = (name: string): number | undefined => {
      const part = parts.get(name);
      if (part === undefined) return undefined;
      const v = part.valueInteger;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw malformed(i, `part "${name}" must be a non-negative valueInteger`);
      return v;
    };
    const need = (name: string): void => {
      if (!parts.has(name)) throw malformed(i, `a ${type} needs part "${name}"`);
    };
    switch (op.type) {
      case 'add':
        need('name');
        need('value');
        op.name = parts.get('name')?.valueString;
        if (typeof op.name !== 'string' || !/^[a-zA-Z][a-zA-Z0-9]*$/.test(op.name))
          throw malformed(i, 'part "name" must be an element name');
        break;
      case 'insert':
        need('value');
        need('index');
        op.index = int('index');
        break;
      case 'replace':
        need('value');
        break;
      case 'move':
        need('source');
        need('destination');
        op.source = int('source');
        op.destination = int('destination');
        break;
      case 'delete':
        break;
    }
    const value = parts.get('value');
    if (value !== undefined) {
      if (partValue(value) === undefined && value.resource === undefined && !Array.isArray(value.part)) {
        throw malformed(i, 'part "value" needs a value[x], a resource or parts');
      }
      op.value = value;
    }
    // Parse the path now: a syntax error is the client's 400, before anything is applied.
    try {
      fhirpath.parse(path);
    } catch {
      throw malformed(i, 'part "path" is not a valid FHIRPath expression');
    }
    return op;
  });
}

// ---------------------------------------------------------------------------------------------
// Where a node lives in the JSON, and what type an element has
// ---------------------------------------------------------------------------------------------

/** The fhirpath engine's node: its parent, property and list index (fhirpath.d.ts ResourceNode). */
interface Node {
  parentResNode: Node | null;
  propName?: string | null;
  index?: number | null;
  data: unknown;
  _data: Record<string, unknown> | null;
  fhirNodeDataType: string | null;
}

type Json = Record<string, unknown>;

/** A place in the resource's JSON: `holder[key]`, or `holder[key][index]` for a list element. */
interface Place {
  holder: Json;
  key: string;
  index: number | undefined;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNode = (n: unknown): n is Node => isObject(n) && 'parentResNode' in n && 'fhirNodeDataType' in n;
const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

interface ElementShape {
  isArray: boolean;
  /** The element's type codes (several for a choice element, `deceased[x]`). */
  types: string[];
  choice: boolean;
}

/** The shape of element `name` of FHIR type `type`, from the R4 definitions. */
function elementOf(type: string | undefined, name: string): ElementShape | undefined {
  if (type === undefined) return undefined;
  const schema = tryGetDataType(type);
  const plain = schema?.elements[name];
  const choice = plain ? undefined : schema?.elements[`${name}[x]`];
  const el = plain ?? choice;
  if (!el) return undefined;
  return { isArray: Boolean(el.isArray) || el.max > 1, types: el.type.map((t) => t.code), choice: choice !== undefined };
}

/** The element a node's property is, with its base name (`valueQuantity` is element `value[x]`, name `value`). */
function elementForProp(type: string | undefined, prop: string): { el: ElementShape; name: string } | undefined {
  const exact = elementOf(type, prop);
  if (exact) return { el: exact, name: prop };
  const schema = type === undefined ? undefined : tryGetDataType(type);
  for (const k of Object.keys(schema?.elements ?? {})) {
    const base = k.slice(0, -3);
    if (k.endsWith('[x]') && prop.length > base.length && prop.startsWith(base) && /[A-Z]/.test(prop.charAt(base.length))) {
      const el = elementOf(type, base);
      if (el) return { el, name: base };
    }
  }
  return undefined;
}

/** The FHIR type of a node (a backbone element's is its own, `PatientContact`). */
function typeOf(n: Node): string | undefined {
  const data = n.data as { resourceType?: unknown } | null;
  if (isObject(data) && typeof data['resourceType'] === 'string') return data['resourceType'];
  if (!n.parentResNode || !n.propName) return n.fhirNodeDataType ?? undefined;
  const el = elementForProp(typeOf(n.parentResNode), n.propName)?.el;
  if (el && el.types.length === 1) return el.types[0];
  return n.fhirNodeDataType ?? undefined;
}

/** The JSON key holding a node's value: a choice element's carries its type (`deceasedBoolean`). */
function keyOf(holder: Json, n: Node): string | undefined {
  const prop = n.propName as string;
  if (prop in holder) return prop;
  const typed = n.fhirNodeDataType ? prop + cap(n.fhirNodeDataType) : undefined;
  if (typed !== undefined && typed in holder) return typed;
  return Object.keys(holder).find((k) => k.length > prop.length && k.startsWith(prop) && /[A-Z]/.test(k.charAt(prop.length)));
}

/** Where a node found by a path lives; undefined for a computed value or the resource itself. */
function placeOf(n: Node): Place | undefined {
  const parent = n.parentResNode;
  if (!parent || !n.propName) return undefined;
  // Extensions and ids of a primitive live beside it, in `_name`.
  const holder = isObject(parent.data) ? parent.data : parent._data;
  if (!isObject(holder)) return undefined;
  const key = keyOf(holder, n);
  if (key === undefined) return undefined;
  const index = typeof n.index === 'number' ? n.index : undefined;
  const v = holder[key];
  if (index !== undefined && !(Array.isArray(v) && index < v.length)) return undefined;
  if (index === undefined && Array.isArray(v)) return undefined;
  return { holder, key, index };
}

function evaluate(resource: Resource, op: FhirPathPatchOperation): Node[] {
  let out: unknown[];
  try {
    // trace() would write to the console (personal data never goes to logs): it writes nowhere.
    out = fhirpath.evaluate(resource, op.path, {}, r4model, { resolveInternalTypes: false, traceFn: () => undefined }) as unknown[];
  } catch {
    throw malformed(op.at, 'part "path" could not be evaluated (only synchronous FHIRPath functions are allowed)');
  }
  if (!out.every(isNode)) throw failed(op, 'the path yields computed values, not elements of the resource');
  return out;
}

function onePlace(resource: Resource, op: FhirPathPatchOperation, allowNone: boolean): { node: Node; place: Place } | undefined {
  const nodes = evaluate(resource, op);
  if (nodes.length === 0) {
    if (allowNone) return undefined;
    throw failed(op, 'the path matches no element');
  }
  if (nodes.length > 1) throw failed(op, `the path matches ${nodes.length} elements; it must match one`);
  const node = nodes[0];
  const place = placeOf(node);
  if (!place) throw failed(op, 'the path does not name an element that can be changed');
  return { node, place };
}

/** The list a path names: its holder and key (every node found must be an element of that one list). */
function listPlace(resource: Resource, op: FhirPathPatchOperation): { holder: Json; key: string; elementType: string | undefined } {
  const nodes = evaluate(resource, op);
  if (nodes.length > 0) {
    const places = nodes.map(placeOf);
    const first = places[0];
    if (!first || first.index === undefined || places.some((p) => !p || p.holder !== first.holder || p.key !== first.key)) {
      throw failed(op, 'the path must name the elements of one list');
    }
    return { holder: first.holder, key: first.key, elementType: typeOf(nodes[0]) };
  }
  // An empty list: the path's last step names it on its container (`Patient.identifier`).
  const m = /^(.*)\.([a-zA-Z][a-zA-Z0-9]*)$/.exec(op.path.trim());
  if (!m) throw failed(op, 'the path matches no element');
  const containers = evaluate(resource, { ...op, path: m[1] });
  const container = containers[0];
  if (containers.length !== 1 || !container || !isObject(container.data)) throw failed(op, 'the path matches no list');
  const el = elementOf(typeOf(container), m[2]);
  if (!el?.isArray) throw failed(op, `${m[2] ?? ''} is not a repeating element`);
  return { holder: container.data, key: m[2], elementType: el.types.length === 1 ? el.types[0] : undefined };
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/** The FHIR type a `value[x]` part names (`valueCodeableConcept` → CodeableConcept), if any. */
function valueTypeOf(p: ParametersParameter): string | undefined {
  const key = Object.keys(p).find((k) => k.startsWith('value'));
  return key === undefined ? undefined : key.slice(5);
}

/** A value part as JSON: its value[x], its resource, or an object built from its parts (typed by `type` when known). */
function decode(p: ParametersParameter, type: string | undefined): unknown {
  const v = partValue(p);
  if (v !== undefined) return v;
  if (p.resource !== undefined) return p.resource;
  const out: Json = {};
  for (const child of p.part ?? []) {
    const el = elementOf(type, child.name);
    const childType = el && el.types.length === 1 ? el.types[0] : valueTypeOf(child);
    const key = el?.choice ? child.name + cap(valueTypeOf(child) ?? '') : child.name;
    const value = decode(child, childType);
    const existing = out[key];
    if (existing === undefined) out[key] = el?.isArray ? [value] : value;
    else out[key] = Array.isArray(existing) ? [...(existing as unknown[]), value] : [existing, value];
  }
  return out;
}

/** Decodes `op.value` for an element of shape `el`; returns the value and the JSON key to store it under. */
function valueFor(op: FhirPathPatchOperation, name: string, el: ElementShape | undefined): { key: string; value: unknown } {
  const part = op.value as ParametersParameter;
  const given = valueTypeOf(part);
  if (el?.choice) {
    if (given === undefined) throw failed(op, `${name} is a choice element: give the value as value[x]`);
    if (!el.types.some((t) => t.toLowerCase() === given.toLowerCase())) throw failed(op, `${name} cannot be a ${given}`);
    return { key: name + given, value: decode(part, given) };
  }
  const type = el && el.types.length === 1 ? el.types[0] : given;
  return { key: name, value: decode(part, type) };
}

// ---------------------------------------------------------------------------------------------
// The operations
// ---------------------------------------------------------------------------------------------

/** Removes `holder[key][index]` (and its `_key` twin); an emptied list goes. */
function removeAt(holder: Json, key: string, index: number | undefined): void {
  if (index === undefined) {
    Reflect.deleteProperty(holder, key);
    Reflect.deleteProperty(holder, `_${key}`);
    return;
  }
  (holder[key] as unknown[]).splice(index, 1);
  const twin = holder[`_${key}`];
  if (Array.isArray(twin)) twin.splice(index, 1);
  if ((holder[key] as unknown[]).length === 0) {
    Reflect.deleteProperty(holder, key);
    Reflect.deleteProperty(holder, `_${key}`);
  }
}

function add(resource: Resource, op: FhirPathPatchOperation): void {
  const { node } = onePlaceOrRoot(resource, op);
  const container = containerOf(node, op);
  const name = op.name as string;
  const el = elementOf(typeOf(node), name);
  if (!el) throw failed(op, `${typeOf(node) ?? 'the element'} has no element ${name}`);
  const { key, value } = valueFor(op, name, el);
  const existing = container[key];
  if (el.isArray) {
    if (existing !== undefined && !Array.isArray(existing)) throw failed(op, `${name} is not a list`);
    container[key] = [...((existing as unknown[] | undefined) ?? []), value];
    const twin = container[`_${key}`];
    if (Array.isArray(twin)) twin.push(null);
    return;
  }
  const taken = el.choice
    ? Object.keys(container).some((k) => k.startsWith(name) && /[A-Z]/.test(k.charAt(name.length)))
    : existing !== undefined;
  if (taken) throw failed(op, `${name} already has a value (add appends to lists; use replace)`);
  container[key] = value;
}

/** The path of an add may name the resource itself (`Patient`). */
function onePlaceOrRoot(resource: Resource, op: FhirPathPatchOperation): { node: Node } {
  const nodes = evaluate(resource, op);
  if (nodes.length === 0) throw failed(op, 'the path matches no element');
  if (nodes.length > 1) throw failed(op, `the path matches ${nodes.length} elements; it must match one`);
  return { node: nodes[0] };
}

/** The JSON object an add writes into: the element itself, or for a primitive its `_name` twin. */
function containerOf(node: Node, op: FhirPathPatchOperation): Json {
  if (isObject(node.data)) return node.data;
  const place = placeOf(node);
  if (!place) throw failed(op, 'the path does not name an element that can be changed');
  const twinKey = `_${place.key}`;
  if (place.index === undefined) {
    const twin = place.holder[twinKey];
    if (isObject(twin)) return twin;
    const made: Json = {};
    place.holder[twinKey] = made;
    return made;
  }
  const list = place.holder[place.key] as unknown[];
  const twins = Array.isArray(place.holder[twinKey]) ? (place.holder[twinKey] as unknown[]) : list.map(() => null);
  place.holder[twinKey] = twins;
  const twin = twins[place.index];
  if (isObject(twin)) return twin;
  const made: Json = {};
  twins[place.index] = made;
  return made;
}

function insert(resource: Resource, op: FhirPathPatchOperation): void {
  const { holder, key, elementType } = listPlace(resource, op);
  const list = (holder[key] as unknown[] | undefined) ?? [];
  const index = op.index as number;
  if (index > list.length) throw failed(op, `index ${index} is beyond the end of the list (${list.length} elements)`);
  list.splice(index, 0, decode(op.value as ParametersParameter, elementType ?? valueTypeOf(op.value as ParametersParameter)));
  holder[key] = list;
  const twin = holder[`_${key}`];
  if (Array.isArray(twin)) twin.splice(index, 0, null);
}

function remove(resource: Resource, op: FhirPathPatchOperation): void {
  const found = onePlace(resource, op, true);
  if (found) removeAt(found.place.holder, found.place.key, found.place.index);
}

function replace(resource: Resource, op: FhirPathPatchOperation): void {
  const { node, place } = onePlace(resource, op, false) as { node: Node; place: Place };
  const found = elementForProp(node.parentResNode ? typeOf(node.parentResNode) : undefined, node.propName as string);
  if (found?.el.choice && place.index === undefined) {
    const { key, value } = valueFor(op, found.name, found.el);
    if (key !== place.key) {
      Reflect.deleteProperty(place.holder, place.key);
      Reflect.deleteProperty(place.holder, `_${place.key}`);
    }
    place.holder[key] = value;
    return;
  }
  const value = decode(op.value as ParametersParameter, typeOf(node) ?? valueTypeOf(op.value as ParametersParameter));
  if (place.index === undefined) place.holder[place.key] = value;
  else (place.holder[place.key] as unknown[])[place.index] = value;
}

function move(resource: Resource, op: FhirPathPatchOperation): void {
  const { holder, key } = listPlace(resource, op);
  const list = (holder[key] as unknown[] | undefined) ?? [];
  const from = op.source as number;
  const to = op.destination as number;
  if (from >= list.length || to >= list.length) throw failed(op, `source and destination must be below the list's length (${list.length})`);
  const [item] = list.splice(from, 1);
  list.splice(to, 0, item);
  const twin = holder[`_${key}`];
  if (Array.isArray(twin)) {
    const twins = twin as unknown[];
    twins.splice(to, 0, twins.splice(from, 1)[0]);
  }
}

/** Applies the operations in order to `resource` (a copy the caller owns), in place. */
export function applyFhirPathPatch(resource: Resource, ops: readonly FhirPathPatchOperation[]): Resource {
  for (const op of ops) {
    switch (op.type) {
      case 'add':
        add(resource, op);
        break;
      case 'insert':
        insert(resource, op);
        break;
      case 'delete':
        remove(resource, op);
        break;
      case 'replace':
        replace(resource, op);
        break;
      case 'move':
        move(resource, op);
        break;
    }
  }
  return resource;
}
