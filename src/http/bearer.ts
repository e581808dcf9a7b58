/**
 * Bearer tokens at the edge (RFC 6750): a present token must verify (else 401 invalid_token,
 * before anything else runs); a missing one leaves the request anonymous, and the router
 * answers 401 for every route that is not public. Tokens of clients disabled since issuance
 * stop working within seconds.
 */
import type { Request } from 'express';
import { TokenError } from '../auth/access-token.ts';
import type { AccessTokens } from '../auth/access-token.ts';
import type { ClientDirectory } from '../auth/clients.ts';
import type { Principal } from '../core/principal.ts';
import { errors } from '../core/outcome.ts';

export async function principalOf(req: Request, tokens: AccessTokens, clients: ClientDirectory): Promise<Principal | undefined> {
  const h = req.headers.authorization;
  if (h === undefined) return undefined;
  const m = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)$/i.exec(h.trim());
  if (!m) throw errors.invalidToken('the Authorization header must be "Bearer <token>"');
  let p: Principal;
  try {
    p = await tokens.verify(m[1]);
  } catch (e) {
    if (e instanceof TokenError) throw errors.invalidToken(e.message);
    throw e;
  }
  const client = await clients.getCached(p.clientId);
  if (client && !client.active) throw errors.invalidToken('the client is disabled');
  return p;
}
