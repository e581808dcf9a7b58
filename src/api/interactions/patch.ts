/**
 * patch (FHIR R4 http.html#patch): `PATCH [type]/[id]` and the conditional `PATCH [type]?criteria`,
 * with a JSON Patch (`application/json-patch+json`, RFC 6902) or a FHIRPath Patch (a Parameters
 * body, fhirpatch.html). In a Bundle a JSON Patch travels as a Binary (its contentType
 * application/json-patch+json, the patch in `data`).
 *
 * The patch is applied to the current version under the update's row lock, and the result is
 * written as an update: the same validation, identifier rules, registry guards, access policy,
 * If-Match (412) and write audit as a PUT. SMART permission u (SMART v2: update covers patch;
 * a conditional patch also needs s, like a conditional update). A patch that would change the
 * resource's id or type is 400.
 */
import type { Binary, Parameters, Resource } from '@medplum/fhirtypes';
import { parseFhirJson } from '../../core/json.ts';
import { errors } from '../../core/outcome.ts';
import { applyFhirPathPatch, parseFhirPathPatch } from '../../fhir/patch/fhirpath-patch.ts';
import { applyJsonPatch, parseJsonPatch } from '../../fhir/patch/json-patch.ts';
import type { FhirContext } from '../context.ts';
import { header, rowsFor } from '../request.ts';
import type { FhirRequest } from '../request.ts';
import type { Route, RouteParams } from '../router.ts';
import { assertWritable, criteriaOf } from './crud.ts';
import { writeResponse } from './respond.ts';

export const JSON_PATCH_TYPE = 'application/json-patch+json';

type Apply = (current: Resource) => unknown;

function jsonPatch(body: unknown): Apply {
  const ops = parseJsonPatch(body);
  return (current) => applyJsonPatch(current, ops);
}

/** A JSON Patch carried in a Binary (Bundle entries, whose bodies are resources). */
function binaryPatch(b: Binary): Apply {
  if ((b.contentType ?? '').split(';')[0]?.trim().toLowerCase() !== JSON_PATCH_TYPE || typeof b.data !== 'string') {
    throw errors.badRequest(`A Binary patch must have contentType ${JSON_PATCH_TYPE} and the patch in data`, 'invalid-patch', 'Binary');
  }
  return jsonPatch(parseFhirJson(Buffer.from(b.data, 'base64').toString('utf8')));
}

/** What the request's body asks to change, as a function of the current version. */
export function patchOf(req: FhirRequest): Apply {
  const type = (header(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  const body = req.body;
  if (body === undefined || body === null || typeof body !== 'object') {
    throw errors.badRequest(
      `PATCH needs a JSON Patch (${JSON_PATCH_TYPE}) or a FHIRPath Patch (a Parameters resource) as its body`,
      'invalid-patch',
    );
  }
  if (type === JSON_PATCH_TYPE || Array.isArray(body)) return jsonPatch(body);
  const resourceType = (body as { resourceType?: unknown }).resourceType;
  if (resourceType === 'Parameters') {
    const ops = parseFhirPathPatch(body as Parameters);
    return (current) => applyFhirPathPatch(current, ops);
  }
  if (resourceType === 'Binary') return binaryPatch(body as Binary);
  throw errors.badRequest(
    `A PATCH body is a JSON Patch (${JSON_PATCH_TYPE}) or a FHIRPath Patch (Parameters), not a ${typeof resourceType === 'string' ? resourceType : 'resource'}`,
    'invalid-patch',
  );
}

/** The patch, refusing a result that is not the same resource (another type or id is 400). */
function guarded(apply: Apply, type: string): (current: Resource) => unknown {
  return (current) => {
    const id = current.id;
    const out = apply(current);
    if (typeof out !== 'object' || out === null || Array.isArray(out)) {
      throw errors.badRequest('The patch does not leave a resource', 'invalid-patch');
    }
    const r = out as { resourceType?: unknown; id?: unknown };
    if (r.resourceType !== type) throw errors.badRequest(`A patch may not change resourceType (${type})`, 'invalid-patch', 'resourceType');
    if (r.id !== id) throw errors.badRequest('A patch may not change or remove the id', 'invalid-patch', 'id');
    return out;
  };
}

const p = (params: RouteParams, k: string): string => params[k];

export function patchRoutes(ctx: FhirContext): Route[] {
  return [
    {
      method: 'PATCH',
      pattern: '/:type/:id',
      name: 'patch',
      access: (_req, params) => [{ type: p(params, 'type'), permission: 'u' }],
      handler: async (req, params) => {
        const type = p(params, 'type');
        assertWritable(ctx, type, p(params, 'id'));
        const apply = guarded(patchOf(req), type);
        const r = await ctx.uow.resources.patch(type, p(params, 'id'), apply, {
          ifMatch: header(req, 'if-match'),
          access: rowsFor(req, 'write'),
        });
        return writeResponse(req, ctx.baseUrl, r.stored, 200, 'Patched');
      },
    },
    {
      method: 'PATCH',
      pattern: '/:type',
      name: 'conditional-patch',
      access: (_req, params) => [
        { type: p(params, 'type'), permission: 'u' },
        { type: p(params, 'type'), permission: 's' },
      ],
      handler: async (req, params) => {
        const criteria = criteriaOf(req);
        if (!criteria) throw errors.methodNotAllowed('PATCH on a type needs search criteria (conditional patch) or an id in the URL');
        const type = p(params, 'type');
        const apply = guarded(patchOf(req), type);
        const r = await ctx.uow.resources.conditionalPatch(type, criteria, apply, {
          ifMatch: header(req, 'if-match'),
          access: rowsFor(req, 'write'),
        });
        return writeResponse(req, ctx.baseUrl, r.stored, 200, 'Patched');
      },
    },
  ];
}
