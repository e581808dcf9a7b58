/**
 * Bearer tokens at the edge (RFC 6750): a present token must verify (else 401 invalid_token,
 * before anything else runs); a missing one leaves the request anonymous, and the router
 * answers 401 for every route that is not public. Tokens of clients disabled since issuance
 * stop working within seconds.
 *
 * The token is checked before the body is read (`authenticateBeforeBody`): a request with a bad
 * token gets its 401 without the server buffering what it sent, and an anonymous one reaches
 * the router without its body (only public routes answer it, and none of them takes a body).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { TokenError } from '../auth/access-token.ts';
import type { AccessTokens } from '../auth/access-token.ts';
import type { ClientDirectory } from '../auth/clients.ts';
import type { Principal } from '../core/principal.ts';
import { errors } from '../core/outcome.ts';

async function verify(req: Request, tokens: AccessTokens, clients: ClientDirectory): Promise<Principal | undefined> {
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

/** Each request's verification, done once however many times it is asked for. */
const verified = new WeakMap<Request, Promise<Principal | undefined>>();

/** The request's principal: undefined when it has no Authorization header; 401 (or 503) when its token cannot be accepted. */
export function principalOf(req: Request, tokens: AccessTokens, clients: ClientDirectory): Promise<Principal | undefined> {
  let p = verified.get(req);
  if (!p) {
    p = verify(req, tokens, clients);
    verified.set(req, p);
  }
  return p;
}

/**
 * Authenticates, then reads the body with `readBody` — only for a request that carries a valid
 * token. A refused token answers before a byte of the body is read.
 */
export function authenticateBeforeBody(tokens: AccessTokens, clients: ClientDirectory, readBody: RequestHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    principalOf(req, tokens, clients).then(
      (p) => {
        if (p) void readBody(req, res, next);
        else next();
      },
      (e: unknown) => next(e),
    );
  };
}
