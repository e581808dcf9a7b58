/**
 * JSON Patch (RFC 6902) on a FHIR resource, for `PATCH [type]/[id]` with
 * `Content-Type: application/json-patch+json` (FHIR R4 http.html#patch). The operations are
 * applied by `fast-json-patch`; this file checks the document's shape first and turns the
 * library's failures into OperationOutcomes naming the operation by its index:
 * - a malformed document (not an array, an unknown op, a path that is not a JSON Pointer, a
 *   missing value or from) is 400;
 * - a document that cannot be applied to this resource (a failed test, a path that does not
 *   exist, an index out of range) is 422.
 * Messages name the operation and its path, never a value (a value may be an identifier).
 */
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { errors } from '../../core/outcome.ts';

export type JsonPatchOperation = Operation;

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);
const NEEDS_VALUE = new Set(['add', 'replace', 'test']);
const NEEDS_FROM = new Set(['move', 'copy']);

/** RFC 6901: "" or "/" followed by reference tokens; "~" only as "~0" or "~1". */
const isPointer = (p: unknown): p is string => typeof p === 'string' && (p === '' || (p.startsWith('/') && !/~(?![01])/.test(p)));

const at = (i: number): string => `Patch[${i}]`;

/** The operations of a JSON Patch document, checked for shape (400 naming the operation otherwise). */
export function parseJsonPatch(body: unknown): JsonPatchOperation[] {
  if (!Array.isArray(body)) {
    throw errors.badRequest('A JSON Patch document must be an array of operations (RFC 6902 §3)', 'invalid-patch', 'Patch', 'structure');
  }
  body.forEach((op: unknown, i) => {
    if (typeof op !== 'object' || op === null || Array.isArray(op)) {
      throw errors.badRequest(`JSON Patch operation ${i} must be an object`, 'invalid-patch', at(i), 'structure');
    }
    const o = op as Record<string, unknown>;
    if (typeof o['op'] !== 'string' || !OPS.has(o['op'])) {
      throw errors.badRequest(
        `JSON Patch operation ${i}: "op" must be add, remove, replace, move, copy or test (RFC 6902 §4)`,
        'invalid-patch',
        at(i),
      );
    }
    if (!isPointer(o['path'])) {
      throw errors.badRequest(`JSON Patch operation ${i} (${o['op']}): "path" must be a JSON Pointer (RFC 6901)`, 'invalid-patch', at(i));
    }
    if (NEEDS_VALUE.has(o['op']) && !('value' in o)) {
      throw errors.badRequest(`JSON Patch operation ${i} (${o['op']} ${o['path']}) needs a "value"`, 'invalid-patch', at(i));
    }
    if (NEEDS_FROM.has(o['op']) && !isPointer(o['from'])) {
      throw errors.badRequest(
        `JSON Patch operation ${i} (${o['op']} ${o['path']}): "from" must be a JSON Pointer (RFC 6901)`,
        'invalid-patch',
        at(i),
      );
    }
  });
  return body as JsonPatchOperation[];
}

/** Why an operation could not be applied, by the library's error name (fast-json-patch's PatchError). */
const FAILURES: Readonly<Record<string, string>> = {
  TEST_OPERATION_FAILED: 'the value at the path is not the value tested',
  OPERATION_PATH_UNRESOLVABLE: 'nothing is at the path',
  OPERATION_FROM_UNRESOLVABLE: 'nothing is at "from"',
  OPERATION_PATH_CANNOT_ADD: 'the parent of the path does not exist',
  OPERATION_VALUE_OUT_OF_BOUNDS: 'the array index is out of bounds',
  OPERATION_PATH_ILLEGAL_ARRAY_INDEX: 'the path names an array element by something other than an index',
  OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED: 'the value is not JSON',
};

interface PatchErrorLike {
  name?: unknown;
  index?: unknown;
  message?: unknown;
}

/**
 * Applies the operations to `doc` in place (a copy the caller owns) and returns the result (a
 * patch at the root "" may replace it). All or nothing: on a failure the caller discards `doc`.
 */
export function applyJsonPatch(doc: unknown, ops: readonly JsonPatchOperation[]): unknown {
  try {
    // validate: each operation is checked against the document as it stands; mutate: the
    // caller's copy; banPrototypeModifications: no __proto__ in a path.
    return jsonpatch.applyPatch(doc, ops as Operation[], true, true, true).newDocument;
  } catch (e) {
    const pe = e as PatchErrorLike;
    const name = typeof pe.name === 'string' ? pe.name : '';
    const i = typeof pe.index === 'number' ? pe.index : undefined;
    const op = i === undefined ? undefined : ops[i];
    const which = i === undefined ? 'A JSON Patch operation' : `JSON Patch operation ${i} (${op?.op ?? ''} ${op?.path ?? ''})`;
    const expression = i === undefined ? 'Patch' : at(i);
    const reason = FAILURES[name];
    if (reason !== undefined) throw errors.unprocessable(`${which} cannot be applied: ${reason}`, 'patch-failed', expression, 'processing');
    if (name !== '' && /^(OPERATION|SEQUENCE)_/.test(name)) {
      throw errors.badRequest(`${which} is malformed (${name})`, 'invalid-patch', expression);
    }
    // A modification of __proto__ and the like: refused, never applied.
    if (/prototype|__proto__/i.test(typeof pe.message === 'string' ? pe.message : '')) {
      throw errors.badRequest(`${which} may not modify an object's prototype`, 'invalid-patch', expression);
    }
    throw e;
  }
}
