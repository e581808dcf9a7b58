/**
 * Token introspection (RFC 7662; SMART token-introspection). Any token that is not a valid,
 * unexpired token of an active client answers exactly {"active": false}.
 */
import type { AccessTokens } from './access-token.ts';
import type { ClientDirectory } from './clients.ts';

export async function introspect(
  token: string | null,
  tokens: AccessTokens,
  clients: ClientDirectory,
  audience: string,
  issuer: string,
): Promise<Record<string, unknown>> {
  if (!token) return { active: false };
  let p: Awaited<ReturnType<AccessTokens['verify']>>;
  try {
    p = await tokens.verify(token);
  } catch {
    return { active: false };
  }
  // A database that cannot answer is the server's 503, not a verdict on the token.
  const client = await clients.getCached(p.clientId);
  if (client && !client.active) return { active: false };
  return {
    active: true,
    scope: p.scope,
    client_id: p.clientId,
    token_type: 'Bearer',
    exp: p.expiresAt,
    sub: p.clientId,
    aud: audience,
    iss: issuer,
    jti: p.tokenId,
  };
}
