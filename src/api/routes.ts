/**
 * Assembles the FHIR router: AuditEvent (read/search only), history, operations, CRUD, search
 * and bundles, for one context. The same assembly serves HTTP and each transaction (bound to
 * its database transaction, so entries are authorized and audited inside it).
 */
import type { AuditTrail } from '../audit/audit-trail.ts';
import type { UnitOfWork } from '../repo/unit-of-work.ts';
import type { FhirContext } from './context.ts';
import { auditEventRoutes } from './interactions/audit-events.ts';
import { bundleRoute } from './interactions/bundle.ts';
import { crudRoutes } from './interactions/crud.ts';
import { episodeOfCareRoutes } from './interactions/episode-of-care.ts';
import { historyRoutes } from './interactions/history.ts';
import { patchRoutes } from './interactions/patch.ts';
import { searchRoutes } from './interactions/search.ts';
import { operationRoutes } from './operations/operation.ts';
import type { OperationHandler } from './operations/operation.ts';
import { Router } from './router.ts';
import type { Route, RouterHooks } from './router.ts';

export interface FhirRouterOptions {
  operations: readonly OperationHandler[];
  /** The audit log read back, for the AuditEvent routes. */
  auditTrail: AuditTrail;
  /** Extra routes (e.g. /metadata), added first. */
  extra?: readonly Route[];
  /** Authorization and audit around every dispatch; `tx` is set for a transaction's router. */
  hooks?: (tx: UnitOfWork | undefined) => RouterHooks;
}

export function createFhirRouter(ctx: FhirContext, o: FhirRouterOptions, tx?: UnitOfWork): Router {
  const router = new Router(ctx.defs.isResourceType, o.hooks?.(tx));
  const make = (c: FhirContext): Router => createFhirRouter(c, o, c.uow);
  for (const r of o.extra ?? []) router.add(r);
  for (const r of auditEventRoutes(ctx, o.auditTrail)) router.add(r);
  router.seal('AuditEvent');
  for (const r of historyRoutes(ctx)) router.add(r);
  for (const r of operationRoutes(ctx, ctx.defs.operations, o.operations)) router.add(r);
  // EpisodeOfCare read and search add the service-use episodes (before the generic routes).
  for (const r of episodeOfCareRoutes(ctx)) router.add(r);
  for (const r of crudRoutes(ctx)) router.add(r);
  for (const r of patchRoutes(ctx)) router.add(r);
  for (const r of searchRoutes(ctx)) router.add(r);
  router.add(bundleRoute(ctx, make, () => router));
  return router;
}
