/**
 * Request-scoped data (the one AsyncLocalStorage the architecture allows): who is asking, for
 * what purpose, under which request id. The audit hook inside a repository transaction reads
 * it, so the caller's identity does not have to be threaded through every function.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Principal } from './auth/principal.ts';

export interface RequestContext {
  requestId: string;
  principal: Principal | undefined;
  /** v3-ActReason code: from the purpose_of_use parameter or header, else the token, else TREAT. */
  purposeOfUse: string;
  remoteAddress: string | undefined;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithRequestContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}
