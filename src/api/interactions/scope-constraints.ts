/**
 * Fine-grained scope constraints applied to data: a scope such as
 * `system/Observation.rs?category=laboratory` limits search results to matching resources
 * (an extra criterion) and refuses reads of others (403).
 */
import { constraintsFor } from '../../auth/guard.ts';
import { errors } from '../../core/outcome.ts';
import type { Permission } from '../../core/principal.ts';
import type { Criterion } from '../../fhir/search/model.ts';
import { parseCriteria } from '../../fhir/search/parse.ts';
import type { StoredResource } from '../../fhir/stored-resource.ts';
import type { FhirContext } from '../context.ts';
import type { FhirRequest } from '../request.ts';

/** The criterion the caller's constrained scopes impose on `type`, if any. */
export function constraintCriterion(ctx: FhirContext, req: FhirRequest, type: string, permission: Permission): Criterion | undefined {
  const groups = constraintsFor(req.principal, type, permission);
  if (!groups) return undefined;
  const o = {
    searchParams: ctx.defs.searchParams,
    isResourceType: ctx.defs.isResourceType,
    baseUrl: ctx.baseUrl,
    normalizeIdentifier: ctx.normalizeIdentifier,
  };
  return { kind: 'any', groups: groups.map((g) => parseCriteria(type, g, o)) };
}

/** Refuses (403) a read of a resource the caller's constrained read scopes do not cover. */
export async function assertReadable(ctx: FhirContext, req: FhirRequest, stored: StoredResource): Promise<void> {
  const c = constraintCriterion(ctx, req, stored.resourceType, 'r');
  if (!c) return;
  if (!(await ctx.uow.resources.meets(stored, [c]))) {
    throw errors.forbidden(`Insufficient scope: ${stored.resourceType}/${stored.id} is outside the granted scope constraints`);
  }
}
