/**
 * Operation input parsing driven by the OperationDefinition: GET query parameters for
 * primitive inputs, a Parameters body for POST (or the bare resource when the operation takes
 * one `resource` input), with cardinality and type checks that name the failing parameter.
 */
import type { OperationDefinition, OperationDefinitionParameter, ParametersParameter, Resource } from '@medplum/fhirtypes';
import { errors } from '../../core/outcome.ts';
import type { FhirRequest } from '../request.ts';

export class OperationInput {
  private readonly values: ReadonlyMap<string, unknown[]>;

  constructor(values: ReadonlyMap<string, unknown[]>) {
    this.values = values;
  }

  all(name: string): readonly unknown[] {
    return this.values.get(name) ?? [];
  }

  /** The first value of a primitive string-like parameter (code, uri, string, id …). */
  string(name: string): string | undefined {
    const v = this.all(name)[0];
    return typeof v === 'string' ? v : undefined;
  }

  boolean(name: string): boolean | undefined {
    const v = this.all(name)[0];
    return typeof v === 'boolean' ? v : undefined;
  }

  integer(name: string): number | undefined {
    const v = this.all(name)[0];
    return typeof v === 'number' ? v : undefined;
  }

  /** The first value of a resource-typed parameter. */
  resource(name: string): Resource | undefined {
    const v = this.all(name)[0] as Resource | undefined;
    return typeof v === 'object' && typeof v.resourceType === 'string' ? v : undefined;
  }

  has(name: string): boolean {
    return this.all(name).length > 0;
  }
}

const PRIMITIVE = new Set([
  'boolean',
  'integer',
  'decimal',
  'string',
  'code',
  'uri',
  'url',
  'canonical',
  'id',
  'date',
  'dateTime',
  'instant',
  'positiveInt',
  'unsignedInt',
  'oid',
  'uuid',
  'markdown',
  'base64Binary',
  'time',
]);

export function isGetable(def: OperationDefinition): boolean {
  return (
    !def.affectsState && (def.parameter ?? []).filter((p) => p.use === 'in' && (p.min ?? 0) > 0).every((p) => PRIMITIVE.has(p.type ?? ''))
  );
}

const where = (name: string): string => `Parameters.parameter.where(name='${name}')`;

function fromQueryValue(p: OperationDefinitionParameter, raw: string): unknown {
  switch (p.type) {
    case 'boolean':
      if (raw !== 'true' && raw !== 'false')
        throw errors.badRequest(`Parameter ${p.name}: "${raw}" must be true or false`, 'invalid-parameter', p.name);
      return raw === 'true';
    case 'integer':
    case 'positiveInt':
    case 'unsignedInt':
      if (!/^-?\d+$/.test(raw)) throw errors.badRequest(`Parameter ${p.name}: "${raw}" must be an integer`, 'invalid-parameter', p.name);
      return Number(raw);
    case 'decimal':
      if (!Number.isFinite(Number(raw)))
        throw errors.badRequest(`Parameter ${p.name}: "${raw}" must be a number`, 'invalid-parameter', p.name);
      return Number(raw);
    default:
      return raw;
  }
}

function fromParameter(p: OperationDefinitionParameter, given: ParametersParameter): unknown {
  if (given.resource !== undefined) {
    if (p.type && p.type !== 'Resource' && p.type !== given.resource.resourceType) {
      throw errors.badRequest(
        `Parameter ${p.name} must be a ${p.type}, not a ${given.resource.resourceType}`,
        'invalid-parameter',
        where(p.name),
      );
    }
    return given.resource;
  }
  if (given.part !== undefined) return given.part;
  const key = Object.keys(given).find((k) => k.startsWith('value'));
  if (!key) throw errors.badRequest(`Parameter ${p.name} has no value`, 'invalid-parameter', where(p.name));
  const type = key.slice(5);
  if (p.type && p.type !== '*' && type.toLowerCase() !== p.type.toLowerCase()) {
    throw errors.badRequest(
      `Parameter ${p.name} must be value${p.type.charAt(0).toUpperCase()}${p.type.slice(1)}, not ${key}`,
      'invalid-parameter',
      where(p.name),
    );
  }
  return (given as unknown as Record<string, unknown>)[key];
}

/** A Parameters body's shape: parameter (and part) arrays of objects with a name (else 400). */
function assertParametersShape(list: unknown, at: string): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) throw errors.badRequest(`${at} must be an array`, 'invalid-parameter', at, 'structure');
  list.forEach((x: unknown, i) => {
    if (typeof x !== 'object' || x === null || Array.isArray(x) || typeof (x as { name?: unknown }).name !== 'string') {
      throw errors.badRequest(`${at}[${i}] must be an object with a name`, 'invalid-parameter', `${at}[${i}]`, 'structure');
    }
    assertParametersShape((x as { part?: unknown }).part, `${at}[${i}].part`);
  });
}

/**
 * The operation's input from the request. On GET, `resourceFromQuery` (an operation that takes a
 * resource but accepts GET, such as Patient/$match) builds its required resource input from the
 * query; the primitive inputs come from the query as usual.
 */
export function parseOperationInput(
  def: OperationDefinition,
  req: FhirRequest,
  resourceFromQuery?: (query: readonly [string, string][]) => Resource,
): OperationInput {
  const ins = (def.parameter ?? []).filter((p) => p.use === 'in');
  const values = new Map<string, unknown[]>();
  const push = (name: string, v: unknown): void => {
    values.set(name, [...(values.get(name) ?? []), v]);
  };
  if (req.method === 'GET' || req.method === 'HEAD') {
    for (const [k, v] of req.query) {
      const p = ins.find((x) => x.name === k);
      if (p) push(k, fromQueryValue(p, v));
    }
    const target = resourceFromQuery && ins.find((p) => !PRIMITIVE.has(p.type ?? ''));
    if (target && resourceFromQuery) push(target.name, resourceFromQuery(req.query));
  } else {
    const body = req.body as Resource | undefined;
    if (body?.resourceType === 'Parameters') {
      assertParametersShape(body.parameter, 'Parameters.parameter');
      for (const given of body.parameter ?? []) {
        const p = ins.find((x) => x.name === given.name);
        if (p) push(p.name, fromParameter(p, given)); // unknown parameters are ignored
      }
    } else if (body && typeof body === 'object' && typeof body.resourceType === 'string' && ins.some((p) => p.name === 'resource')) {
      push('resource', body);
    } else if (body !== undefined) {
      throw errors.badRequest(`$${def.code} expects a Parameters resource in the body`, 'invalid-parameter', 'Parameters');
    }
    for (const [k, v] of req.query) {
      const p = ins.find((x) => x.name === k);
      if (p && PRIMITIVE.has(p.type ?? '') && !values.has(k)) push(k, fromQueryValue(p, v));
    }
  }
  for (const p of ins) {
    const n = values.get(p.name)?.length ?? 0;
    if (n < (p.min ?? 0))
      throw errors.badRequest(`Parameter ${p.name} is required by $${def.code}`, 'invalid-parameter', where(p.name), 'required');
    if (p.max !== '*' && n > Number(p.max ?? '1'))
      throw errors.badRequest(`Parameter ${p.name} may occur at most ${p.max} time(s)`, 'invalid-parameter', where(p.name));
  }
  return new OperationInput(values);
}
