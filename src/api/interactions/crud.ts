/**
 * create, read, vread, update, delete and their conditional forms (FHIR R4 http.html), each
 * with the SMART permissions it needs: read r, create c, update u, delete d, and s as well when
 * the request carries search criteria (a conditional request reveals what matches).
 */
import { can } from '../../auth/guard.ts';
import type { StoredResource } from '../../fhir/stored-resource.ts';
import type { FhirContext } from '../context.ts';
import { errors, informational } from '../../core/outcome.ts';
import { header, rowsFor } from '../request.ts';
import { checkConditionalQuery } from '../request-url.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import type { Route, RouteParams } from '../router.ts';
import { assertReadable } from './scope-constraints.ts';
import { resourceResponse, writeResponse } from './respond.ts';

const p = (params: RouteParams, k: string): string => params[k];

/** medid's published conformance resources are read-only through the API. */
export function assertWritable(ctx: FhirContext, type: string, id: string): void {
  if (ctx.published.has(`${type}/${id}`)) {
    throw errors.forbidden(`${type}/${id} is published by medid (profiles/) and read-only through the API`);
  }
}

/** The query string of a conditional request (`PUT Patient?identifier=…`). */
export function criteriaOf(req: FhirRequest): string | undefined {
  const q = req.query.filter(([k]) => k !== '_format' && k !== '_pretty');
  return q.length > 0 ? new URLSearchParams(q).toString() : undefined;
}

const disclose = (res: FhirResponse, s: StoredResource): FhirResponse => ({
  ...res,
  disclosed: [{ resourceType: s.resourceType, id: s.id, versionId: s.versionId, patients: s.compartment }],
});

/** read: the current version the caller may see, within its scope constraints. */
export async function readResource(ctx: FhirContext, req: FhirRequest, type: string, id: string): Promise<FhirResponse> {
  const stored = await ctx.uow.resources.read(type, id, rowsFor(req, 'read'));
  await assertReadable(ctx, req, stored);
  return disclose(resourceResponse(stored), stored);
}

export function crudRoutes(ctx: FhirContext): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/:type/:id',
      name: 'read',
      access: (_req, params) => [{ type: p(params, 'type'), permission: 'r' }],
      handler: (req, params) => readResource(ctx, req, p(params, 'type'), p(params, 'id')),
    },
    {
      method: 'GET',
      pattern: '/:type/:id/_history/:vid',
      name: 'vread',
      access: (_req, params) => [{ type: p(params, 'type'), permission: 'r' }],
      handler: async (req, params) => {
        const stored = await ctx.uow.resources.vread(p(params, 'type'), p(params, 'id'), p(params, 'vid'), rowsFor(req, 'read'));
        await assertReadable(ctx, req, stored);
        return disclose(resourceResponse(stored), stored);
      },
    },
    {
      method: 'POST',
      pattern: '/:type',
      name: 'create',
      access: (req, params) => [
        { type: p(params, 'type'), permission: 'c' },
        ...(header(req, 'if-none-exist') ? [{ type: p(params, 'type'), permission: 's' as const }] : []),
      ],
      handler: async (req, params) => {
        const type = p(params, 'type');
        const ifNoneExist = header(req, 'if-none-exist');
        checkConditionalQuery(ifNoneExist, 'If-None-Exist');
        const r = await ctx.uow.resources.create(type, req.body, {
          ifNoneExist: ifNoneExist || undefined,
          id: req.internal?.assignedId,
          // The Bundle drew it (crypto.randomUUID) when it read the transaction.
          idMinted: req.internal?.assignedId !== undefined,
          access: rowsFor(req, 'write'),
        });
        const res = writeResponse(
          req,
          ctx.baseUrl,
          r.stored,
          r.created ? 201 : 200,
          r.created ? `Created ${type}/${r.stored.id}` : `An existing ${type} matched If-None-Exist; nothing was created`,
        );
        return r.created ? res : disclose(res, r.stored);
      },
    },
    {
      method: 'PUT',
      pattern: '/:type/:id',
      name: 'update',
      access: (_req, params) => [{ type: p(params, 'type'), permission: 'u' }],
      handler: async (req, params) => {
        const type = p(params, 'type');
        assertWritable(ctx, type, p(params, 'id'));
        const r = await ctx.uow.resources.update(type, p(params, 'id'), req.body, {
          ifMatch: header(req, 'if-match'),
          canCreate: can(req.principal, type, 'c'),
          access: rowsFor(req, 'write'),
        });
        return writeResponse(req, ctx.baseUrl, r.stored, r.created ? 201 : 200, r.created ? 'Created' : 'Updated');
      },
    },
    {
      method: 'PUT',
      pattern: '/:type',
      name: 'conditional-update',
      access: (_req, params) => [
        { type: p(params, 'type'), permission: 'u' },
        { type: p(params, 'type'), permission: 's' },
      ],
      handler: async (req, params) => {
        const criteria = criteriaOf(req);
        if (!criteria) throw errors.methodNotAllowed('PUT on a type needs search criteria (conditional update) or an id in the URL');
        const type = p(params, 'type');
        const r = await ctx.uow.resources.conditionalUpdate(type, criteria, req.body, {
          ifMatch: header(req, 'if-match'),
          canCreate: can(req.principal, type, 'c'),
          access: rowsFor(req, 'write'),
        });
        return writeResponse(req, ctx.baseUrl, r.stored, r.created ? 201 : 200, r.created ? 'Created' : 'Updated');
      },
    },
    {
      method: 'DELETE',
      pattern: '/:type/:id',
      name: 'delete',
      access: (_req, params) => [{ type: p(params, 'type'), permission: 'd' }],
      handler: async (req, params) => {
        assertWritable(ctx, p(params, 'type'), p(params, 'id'));
        const deleted = await ctx.uow.resources.delete(p(params, 'type'), p(params, 'id'), {
          ifMatch: header(req, 'if-match'),
          access: rowsFor(req, 'write'),
        });
        return { status: 200, body: informational(deleted ? 'Deleted' : 'Already deleted') };
      },
    },
    {
      method: 'DELETE',
      pattern: '/:type',
      name: 'conditional-delete',
      access: (_req, params) => [
        { type: p(params, 'type'), permission: 'd' },
        { type: p(params, 'type'), permission: 's' },
      ],
      handler: async (req, params) => {
        const criteria = criteriaOf(req);
        if (!criteria) throw errors.methodNotAllowed('DELETE on a type needs search criteria (conditional delete)');
        const deleted = await ctx.uow.resources.conditionalDelete(p(params, 'type'), criteria, { access: rowsFor(req, 'write') });
        return { status: 200, body: informational(deleted ? 'Deleted' : 'No resource matched; nothing was deleted') };
      },
    },
  ];
}
