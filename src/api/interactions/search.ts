/**
 * Search: GET [type]?… and POST [type]/_search (form-encoded; FHIR requires both). Scopes: s on
 * the type, s on every type a chain reaches into, and read access (r or s, unconstrained) on
 * each type an _include or _revinclude would add: included resources the caller may not read
 * are withheld, with a warning.
 */
import { assertAllowed, can, constraintsFor } from '../../auth/guard.ts';
import { issue } from '../../core/outcome.ts';
import { executeSearch } from '../../repo/search.ts';
import type { FhirContext } from '../context.ts';
import { errors } from '../../core/outcome.ts';
import { header, preferences, rowsFor } from '../request.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import type { Need } from '../../auth/guard.ts';
import type { Route } from '../router.ts';
import { searchsetJson } from './searchset.ts';
import type { Criterion } from '../../fhir/search/model.ts';
import { parseSearch } from '../../fhir/search/parse.ts';
import { withAccess } from '../../fhir/search/with-access.ts';
import { constraintCriterion } from './scope-constraints.ts';
import { checkRequestUrl } from '../request-url.ts';

/** Query pairs of a POST _search: the URL's and the form body's together. */
function postedQuery(req: FhirRequest): [string, string][] {
  const type = (header(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw errors.unsupportedMediaType('POST _search needs an application/x-www-form-urlencoded body');
  }
  if (typeof req.body === 'string') checkRequestUrl(`?${req.body}`, 'body');
  const form = typeof req.body === 'string' ? [...new URLSearchParams(req.body)] : [];
  return [...req.query, ...form];
}

/** Every type a chained or reverse-chained (`_has`) criterion searches in (the caller needs s on each). */
function chainedTypes(criteria: readonly Criterion[]): Need[] {
  const out: Need[] = [];
  for (const c of criteria) {
    if (c.kind === 'chain') {
      out.push(...c.targetTypes.map((type) => ({ type, permission: 's' as const })), ...chainedTypes(c.inner));
    } else if (c.kind === 'has') {
      out.push({ type: c.sourceType, permission: 's' as const }, ...chainedTypes([c.inner]));
    } else if (c.kind === 'any') {
      out.push(...chainedTypes(c.groups.flat()));
    }
  }
  return out;
}

/**
 * A `_has` looks into its source type's rows as a search of that type would: the caller's scope
 * constraints on that type (`system/Observation.rs?category=laboratory`) limit them too.
 */
function constrainHas(ctx: FhirContext, req: FhirRequest, c: Criterion): Criterion {
  switch (c.kind) {
    case 'has': {
      const inner = constrainHas(ctx, req, c.inner);
      const limit = constraintCriterion(ctx, req, c.sourceType, 's');
      return { ...c, inner: limit ? { kind: 'any', groups: [[inner, limit]] } : inner };
    }
    case 'chain':
      return { ...c, inner: c.inner.map((x) => constrainHas(ctx, req, x)) };
    case 'any':
      return { ...c, groups: c.groups.map((g) => g.map((x) => constrainHas(ctx, req, x))) };
    default:
      return c;
  }
}

export async function search(ctx: FhirContext, req: FhirRequest, type: string, query: [string, string][]): Promise<FhirResponse> {
  const parsed = parseSearch(type, query, {
    searchParams: ctx.defs.searchParams,
    isResourceType: ctx.defs.isResourceType,
    baseUrl: ctx.baseUrl,
    defaultCount: ctx.defaultCount,
    maxCount: ctx.maxCount,
    lenient: preferences(req)['handling'] === 'lenient',
    normalizeIdentifier: ctx.normalizeIdentifier,
  });
  assertAllowed(req.principal, chainedTypes(parsed.criteria));
  const limit = constraintCriterion(ctx, req, type, 's');
  const access = rowsFor(req, 'read');
  const own = parsed.criteria.map((c) => constrainHas(ctx, req, c));
  const criteria = withAccess(limit ? [...own, limit] : own, access);
  let withheld = 0;
  const result = await executeSearch(
    ctx.uow,
    { ...parsed, criteria },
    (row) => {
      const ok =
        (can(req.principal, row.resourceType, 'r') || can(req.principal, row.resourceType, 's')) &&
        constraintsFor(req.principal, row.resourceType, 'r') === undefined;
      if (!ok) withheld++;
      return ok;
    },
    access,
  );
  if (withheld > 0) {
    result.warnings.push(
      issue({
        severity: 'warning',
        code: 'suppressed',
        medid: 'forbidden',
        text: `${withheld} included resource(s) were withheld: outside the granted scopes`,
      }),
    );
  }
  return {
    status: 200,
    body: { json: searchsetJson(ctx.baseUrl, type, parsed, result, ctx.clock.now()) },
    disclosed: [...result.matches, ...result.included].map((r) => ({ resourceType: r.resourceType, id: r.id, patients: r.compartment })),
    // As normalized: canonical identifiers, and no My Number in clear.
    query: new URLSearchParams(parsed.linkParams).toString(),
  };
}

export function searchRoutes(ctx: FhirContext): Route[] {
  const access = (_req: FhirRequest, params: Record<string, string>): Need[] => [{ type: params['type'], permission: 's' }];
  return [
    {
      method: 'GET',
      pattern: '/:type',
      name: 'search-type',
      access,
      handler: (req, params) => search(ctx, req, params['type'], req.query),
    },
    {
      method: 'POST',
      pattern: '/:type/_search',
      name: 'search-type',
      access,
      handler: (req, params) => search(ctx, req, params['type'], postedQuery(req)),
    },
  ];
}
