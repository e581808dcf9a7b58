/**
 * Request-scoped data for hooks deep inside the repository (the one AsyncLocalStorage the
 * architecture allows): who is asking, for what purpose, under which request id. Only the
 * write audit, which runs inside a write's transaction several calls below any handler, reads
 * it; handlers read the same facts from their FhirRequest.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Principal } from './principal.ts';

export interface RequestContext {
  requestId: string;
  principal: Principal | undefined;
  /** v3-ActReason code: the request's purpose_of_use parameter or X-Purpose-Of-Use header, else TREAT. */
  purposeOfUse: string;
  remoteAddress: string | undefined;
  /**
   * Set when the request wrote audit events inside a transaction: they wait for their place in
   * the access log, which the audit hook gives them before the response leaves.
   */
  auditQueued?: boolean;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithRequestContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}
