/**
 * Fine-grained scope constraints applied to data: a scope such as
 * `system/Observation.rs?category=laboratory` limits search results to matching resources
 * (an extra criterion) and refuses reads of others (403).
 */
import { constraintsFor } from '../../auth/guard.ts';
import type { Permission } from '../../auth/scopes.ts';
import { searchPage } from '../../store/search.ts';
import type { StoredResource } from '../../store/resources.ts';
import type { FhirContext } from '../context.ts';
import { errors } from '../outcome.ts';
import type { FhirRequest } from '../request.ts';
import type { Criterion } from '../search/model.ts';
import { parseCriteria } from '../search/parse.ts';

/** The criterion the caller's constrained scopes impose on `type`, if any. */
export function constraintCriterion(ctx: FhirContext, req: FhirRequest, type: string, permission: Permission): Criterion | undefined {
  const groups = constraintsFor(req.principal, type, permission);
  if (!groups) return undefined;
  const o = { registry: ctx.defs.searchParams, isResourceType: ctx.defs.isResourceType, baseUrl: ctx.baseUrl, normalizeIdentifier: ctx.normalizeIdentifier };
  return { kind: 'any', groups: groups.map((g) => parseCriteria(type, g, o)) };
}

/** Refuses (403) a read of a resource the caller's constrained read scopes do not cover. */
export async function assertReadable(ctx: FhirContext, req: FhirRequest, stored: StoredResource): Promise<void> {
  const c = constraintCriterion(ctx, req, stored.resourceType, 'r');
  if (!c) return;
  const idParam = ctx.defs.searchParams.get(stored.resourceType, '_id');
  if (!idParam) return;
  const page = await searchPage(ctx.repo.db, {
    resourceType: stored.resourceType, sort: [], cursor: undefined, limit: 1,
    criteria: [{ kind: 'token', param: idParam, not: false, values: [{ system: undefined, code: stored.id, anySystem: true }] }, c],
  });
  if (page.rows.length === 0) throw errors.forbidden(`Insufficient scope: ${stored.resourceType}/${stored.id} is outside the granted scope constraints`);
}
