/**
 * Operations are defined by their OperationDefinition JSON in profiles/OperationDefinition:
 * routes (system, type, instance; POST, and GET when allowed — or when the operation builds its
 * resource input from the query), input parsing and the CapabilityStatement all come from it.
 * A handler without a definition is a start-up error, and so is a definition without a
 * handler: nothing drifts.
 *
 * Each operation lives in a file named after its definition (patient-match.ts for
 * Patient-match) and declares its typed input: `input` reads it from the parsed parameters
 * (400 naming the parameter when it is wrong), `handle` gets it typed.
 */
import type { OperationDefinition, Resource } from '@medplum/fhirtypes';
import type { Permission } from '../../core/principal.ts';
import { EXTENSIONS } from '../../core/systems.ts';
import type { FhirContext } from '../context.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import type { Need } from '../../auth/guard.ts';
import type { Route } from '../router.ts';
import { isGetable, parseOperationInput } from './params.ts';
import type { OperationInput } from './params.ts';

export interface OperationCall {
  level: 'system' | 'type' | 'instance';
  resourceType: string | undefined;
  id: string | undefined;
  input: OperationInput;
  req: FhirRequest;
}

/** One operation: the definition it implements, its typed input, and what it does with it. */
export interface Operation<I> {
  /** The OperationDefinition.url this operation implements. */
  url: string;
  /** The operation commits its own work (see Route.selfCommitting): refused inside transaction Bundles. */
  selfCommitting?: boolean;
  /** Reads the typed input from the parsed parameters (and the request, for headers). */
  input(call: OperationCall, ctx: FhirContext): I;
  handle(ctx: FhirContext, input: I, call: OperationCall): Promise<FhirResponse>;
  /**
   * GET for an operation whose required input is a resource (which a URL cannot carry): builds
   * that resource from the query's search-like parameters (400 naming a parameter it does not
   * know). The input then goes through `input` and `handle` exactly as a POSTed one.
   */
  resourceFromQuery?: (query: readonly [string, string][]) => Resource;
  /** What the audit record keeps of the query (see Route.auditQuery). */
  auditQuery?: (req: FhirRequest) => string;
}

/** An operation as the route table holds it (its input type erased). */
export interface OperationHandler {
  url: string;
  selfCommitting?: boolean;
  resourceFromQuery?: (query: readonly [string, string][]) => Resource;
  auditQuery?: (req: FhirRequest) => string;
  run(ctx: FhirContext, call: OperationCall): Promise<FhirResponse>;
}

export function defineOperation<I>(op: Operation<I>): OperationHandler {
  return {
    url: op.url,
    selfCommitting: op.selfCommitting,
    resourceFromQuery: op.resourceFromQuery,
    auditQuery: op.auditQuery,
    run: (ctx, call) => op.handle(ctx, op.input(call, ctx), call),
  };
}

/** Extension on an OperationDefinition naming the SMART permissions it needs, e.g. "{type}.r" or "Patient.rs". */
const OPERATION_SCOPE_EXT = EXTENSIONS.operationScope;

/** The permissions an operation needs; a definition without the extension is a start-up error. */
export function operationNeeds(def: OperationDefinition): (type: string | undefined) => Need[] {
  const text = def.extension?.find((e) => e.url === OPERATION_SCOPE_EXT)?.valueString;
  const m = text ? /^(\{type\}|\*|[A-Z][A-Za-z]+)\.([cruds]+)$/.exec(text) : null;
  if (!m) throw new Error(`OperationDefinition ${def.url ?? ''} needs an ${OPERATION_SCOPE_EXT} extension such as "{type}.r"`);
  const [, target, letters] = m as unknown as [string, string, string];
  return (type) =>
    letters.split('').map((permission) => ({ type: target === '{type}' ? (type ?? '*') : target, permission: permission as Permission }));
}

export function operationRoutes(
  ctx: FhirContext,
  definitions: readonly OperationDefinition[],
  handlers: readonly OperationHandler[],
): Route[] {
  const byUrl = new Map(handlers.map((h) => [h.url, h]));
  const routes: Route[] = [];
  for (const def of definitions) {
    const h = byUrl.get(def.url as string);
    if (!h) throw new Error(`OperationDefinition ${def.url} has no handler`);
    byUrl.delete(def.url as string);
    const methods = isGetable(def) || h.resourceFromQuery ? (['POST', 'GET'] as const) : (['POST'] as const);
    const types = (def.resource ?? []) as string[];
    const anyType = types.includes('Resource');
    const name = `$${def.code}`;
    const needs = operationNeeds(def);
    const make = (level: OperationCall['level'], pattern: string, fixedType?: string): void => {
      for (const method of methods) {
        routes.push({
          method,
          pattern,
          name,
          type: fixedType,
          anyType: true,
          selfCommitting: h.selfCommitting,
          auditQuery: h.auditQuery,
          access: (_req, params) => needs(params['type'] ?? fixedType),
          handler: (req, params) => {
            const input = parseOperationInput(def, req, h.resourceFromQuery);
            return h.run(ctx, { level, resourceType: params['type'] ?? fixedType, id: params['id'], input, req });
          },
        });
      }
    };
    if (def.system) make('system', `/${name}`);
    // Operations on named types get literal routes, so other types get a clean 404.
    if (anyType) {
      if (def.type) make('type', `/:type/${name}`);
      if (def.instance) make('instance', `/:type/:id/${name}`);
    } else {
      for (const t of types) {
        if (def.type) make('type', `/${t}/${name}`, t);
        if (def.instance) make('instance', `/${t}/:id/${name}`, t);
      }
    }
  }
  if (byUrl.size > 0) throw new Error(`Operation handlers without a definition: ${[...byUrl.keys()].join(', ')}`);
  return routes;
}
