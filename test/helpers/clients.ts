/**
 * Test clients for SMART Backend Services: key pairs generated at run time (never committed),
 * registration, and client assertions built the way a real backend service builds them.
 */
import crypto from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { kindPurposes } from '../../src/app.ts';
import { checkRegistration } from '../../src/auth/clients.ts';
import type { ClientRegistration } from '../../src/auth/clients.ts';
import { authEndpoints } from '../../src/auth/smart-configuration.ts';
import type { TestServer } from './server.ts';

export interface TestClient {
  clientId: string;
  alg: 'RS384' | 'ES384';
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function newClientKeys(clientId: string, alg: 'RS384' | 'ES384' = 'ES384'): Promise<TestClient> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `${clientId}-${crypto.randomBytes(4).toString('hex')}`;
  return { clientId, alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export async function registerClient(s: TestServer, c: TestClient, scope: string, extra: Partial<ClientRegistration> = {}): Promise<void> {
  await s.app.clients.register(
    checkRegistration(
      {
        client_id: c.clientId,
        name: `Test ${c.clientId}`,
        jwks: { keys: [c.publicJwk] },
        scope,
        organization: { kind: 'medical-institution', code: '1312345678' },
        ...extra,
      },
      'client',
      kindPurposes,
    ),
  );
}

export interface AssertionOptions {
  aud?: string;
  iss?: string;
  sub?: string;
  exp?: number;
  jti?: string;
  alg?: string;
  kid?: string;
  jku?: string;
  key?: CryptoKey | Uint8Array;
}

export function tokenEndpoint(s: TestServer): string {
  return authEndpoints(s.base).tokenEndpoint;
}

export async function clientAssertion(s: TestServer, c: TestClient, o: AssertionOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const header: Record<string, string> = { alg: o.alg ?? c.alg, kid: o.kid ?? c.kid, typ: 'JWT' };
  if (o.jku) header['jku'] = o.jku;
  return new SignJWT({ jti: o.jti ?? crypto.randomUUID() })
    .setProtectedHeader(header as never)
    .setIssuer(o.iss ?? c.clientId)
    .setSubject(o.sub ?? c.clientId)
    .setAudience(o.aud ?? tokenEndpoint(s))
    .setExpirationTime(o.exp ?? now + 120)
    .sign(o.key ?? c.privateKey);
}

export interface TokenResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export async function requestToken(s: TestServer, form: Record<string, string>): Promise<TokenResponse> {
  const res = await fetch(tokenEndpoint(s), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

/** A complete, correct backend-services token request. */
export async function tokenRequest(
  s: TestServer,
  c: TestClient,
  scope: string,
  o: AssertionOptions = {},
  extra: Record<string, string> = {},
): Promise<TokenResponse> {
  return requestToken(s, {
    grant_type: 'client_credentials',
    scope,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await clientAssertion(s, c, o),
    ...extra,
  });
}
