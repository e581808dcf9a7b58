/**
 * Client assertions (SMART Backend Services, private_key_jwt): the rules about time and about
 * the claimed client, each test named after its rule and checking which checklist step refused.
 * `exp` no more than five minutes ahead is SMART's rule; an `iat` in the future is refused; an
 * `iss` that cannot be a client_id is refused before any lookup (a stranger's string never
 * becomes a cache key, a log field or an audit column).
 */
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ASSERTION_SKEW_S,
  authenticateClient,
  ClientAuthError,
  JWT_BEARER,
  MAX_ASSERTION_LIFETIME_S,
} from '../../../src/auth/client-assertion.ts';
import type { AssertionDeps } from '../../../src/auth/client-assertion.ts';
import { ClientDirectory } from '../../../src/auth/clients.ts';
import type { Client } from '../../../src/auth/clients.ts';
import type { Db } from '../../../src/store/db.ts';
import { RemoteJwksCache } from '../../../src/auth/client-keys.ts';

const TOKEN_ENDPOINT = 'https://medid.example/oauth/token';
const NOW_S = 1_900_000_000;

describe('client assertion times and issuer', () => {
  let privateKey: CryptoKey;
  let publicJwk: JWK;
  const lookups: string[] = [];
  let deps: AssertionDeps;
  beforeAll(async () => {
    const pair = await generateKeyPair('ES384', { extractable: true });
    privateKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES384', use: 'sig' };
    const client: Client = {
      clientId: 'ehr-1',
      name: 'EHR',
      jwks: { keys: [publicJwk] },
      jwksUri: undefined,
      scope: 'system/Patient.rs',
      org: { kind: 'medical-institution', code: '1312345678' },
      purposes: [],
      active: true,
    };
    const lookup = (id: string): Promise<Client | undefined> => {
      lookups.push(id);
      return Promise.resolve(id === client.clientId ? client : undefined);
    };
    const clients = { get: lookup, getCached: lookup } as unknown as ClientDirectory;
    deps = {
      clients,
      remoteJwks: new RemoteJwksCache(() => Promise.reject(new Error('registered keys only'))),
      tokenEndpoint: TOKEN_ENDPOINT,
      recordJti: () => Promise.resolve(true),
      now: () => NOW_S * 1000,
    };
  });

  const assertion = (o: { iss?: string; exp?: number; iat?: number }): Promise<string> => {
    const jwt = new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'ES384', kid: 'k1', typ: 'JWT' })
      .setIssuer(o.iss ?? 'ehr-1')
      .setSubject(o.iss ?? 'ehr-1')
      .setAudience(TOKEN_ENDPOINT)
      .setExpirationTime(o.exp ?? NOW_S + 120);
    if (o.iat !== undefined) jwt.setIssuedAt(o.iat);
    return jwt.sign(privateKey);
  };
  /** The checklist step that refused, or 'accepted'. */
  const refusedAt = async (jwt: string): Promise<string> => {
    const form = new URLSearchParams({ client_assertion_type: JWT_BEARER, client_assertion: jwt });
    try {
      await authenticateClient(form, deps);
      return 'accepted';
    } catch (e) {
      expect(e).toBeInstanceOf(ClientAuthError);
      return `${(e as ClientAuthError).step}: ${(e as Error).message}`;
    }
  };

  it('refuses an assertion whose exp is more than five minutes ahead (exp-window)', async () => {
    expect(await refusedAt(await assertion({ exp: NOW_S + MAX_ASSERTION_LIFETIME_S + ASSERTION_SKEW_S + 1 }))).toBe(
      'exp-window: exp is more than five minutes ahead',
    );
    expect(await refusedAt(await assertion({ exp: NOW_S + MAX_ASSERTION_LIFETIME_S }))).toBe('accepted');
  });

  it('refuses an expired assertion (exp)', async () => {
    expect(await refusedAt(await assertion({ exp: NOW_S - ASSERTION_SKEW_S - 1 }))).toBe('exp: the assertion has expired');
  });

  it('refuses an assertion issued in the future, beyond the clock skew (iat)', async () => {
    expect(await refusedAt(await assertion({ iat: NOW_S + ASSERTION_SKEW_S + 30 }))).toBe('iat: iat is in the future');
    expect(await refusedAt(await assertion({ iat: NOW_S + ASSERTION_SKEW_S - 1 }))).toBe('accepted');
    expect(await refusedAt(await assertion({ iat: NOW_S - 30 }))).toBe('accepted');
  });

  it('refuses an iss that cannot be a client_id before looking it up, and does not repeat it as the claimed client', async () => {
    lookups.length = 0;
    const huge = 'x'.repeat(60_000);
    const form = new URLSearchParams({ client_assertion_type: JWT_BEARER, client_assertion: await assertion({ iss: huge }) });
    const e = await authenticateClient(form, deps).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ClientAuthError);
    expect([(e as ClientAuthError).step, (e as Error).message, (e as ClientAuthError).claimedClientId]).toEqual([
      'iss',
      'iss is not a client_id',
      undefined,
    ]);
    expect(lookups).toEqual([]);
    expect(await refusedAt(await assertion({ iss: 'no such client' }))).toBe('iss: iss is not a client_id');
    expect(await refusedAt(await assertion({ iss: 'unknown-client' }))).toBe('client: iss is not a registered client');
  });

  it('looks clients up through the bounded cache: assertions naming endless unknown clients do not grow memory', async () => {
    const db = { driver: 'pg', query: () => Promise.resolve({ rows: [], rowCount: 0 }) } as unknown as Db;
    const directory = new ClientDirectory(db, () => Promise.resolve(true));
    const d = { ...deps, clients: directory };
    const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    for (let i = 0; i < 12_000; i++) {
      // Refused at the lookup, before any signature is checked: the signature part does not matter.
      const jwt = `${b64({ alg: 'ES384', kid: 'k1', typ: 'JWT' })}.${b64({ iss: `stranger-${i}`, sub: `stranger-${i}`, exp: NOW_S + 60 })}.c2ln`;
      const form = new URLSearchParams({ client_assertion_type: JWT_BEARER, client_assertion: jwt });
      await expect(authenticateClient(form, d)).rejects.toMatchObject({ step: 'client' });
    }
    expect((directory as unknown as { cache: Map<string, unknown> }).cache.size).toBeLessThanOrEqual(10_001);
  });
});
