/**
 * SMART on FHIR: discovery, the Backend Services token endpoint (each rule of the client
 * assertion checklist), introspection, and access tokens at the resource server.
 */
import crypto from 'node:crypto';
import type { CapabilityStatement, OperationOutcome } from '@medplum/fhirtypes';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokens } from '../../src/auth/access-token.ts';
import { generateSigningJwks, serverKeysFromJwks } from '../../src/auth/keys.ts';
import { authEndpoints } from '../../src/auth/smart-configuration.ts';
import { clientAssertion, newClientKeys, registerClient, requestToken, tokenEndpoint, tokenRequest } from '../helpers/clients.ts';
import type { TestClient } from '../helpers/clients.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

describe.each(testDrivers())('SMART Backend Services on %s', (driver) => {
  let s: TestServer;
  let es: TestClient;
  let rs: TestClient;
  beforeAll(async () => {
    s = await startTestServer(driver);
    useToken(s.token);
    es = await newClientKeys('ehr-es384', 'ES384');
    rs = await newClientKeys('ehr-rs384', 'RS384');
    await registerClient(s, es, 'system/Patient.rs system/Observation.rs');
    await registerClient(s, rs, 'system/Patient.cruds');
  });
  afterAll(async () => {
    await s.close();
  });

  const refused = async (c: TestClient, o: Parameters<typeof tokenRequest>[3] = {}, scope = 'system/Patient.rs'): Promise<void> => {
    const res = await tokenRequest(s, c, scope, o);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  };

  describe('discovery', () => {
    it('serves .well-known/smart-configuration as JSON with absolute URLs and open CORS, whatever the Accept', async () => {
      const res = await fetch(`${s.base}/.well-known/smart-configuration`, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      const doc = (await res.json()) as Record<string, unknown>;
      const e = authEndpoints(s.base);
      expect(doc).toMatchObject({
        issuer: e.issuer,
        jwks_uri: e.jwksUri,
        token_endpoint: e.tokenEndpoint,
        introspection_endpoint: e.introspectionEndpoint,
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
        grant_types_supported: ['client_credentials'],
        code_challenge_methods_supported: ['S256'],
      });
      expect(doc['token_endpoint_auth_signing_alg_values_supported']).toEqual(expect.arrayContaining(['RS384', 'ES384']));
      expect(doc['capabilities']).toEqual(expect.arrayContaining(['client-confidential-asymmetric', 'permission-v2', 'permission-v1']));
      expect(doc['scopes_supported']).toEqual(expect.arrayContaining(['system/Patient.rs']));
      for (const k of ['issuer', 'jwks_uri', 'token_endpoint', 'introspection_endpoint'])
        expect(new URL(doc[k] as string).protocol).toBe('http:');
    });

    it('the CapabilityStatement security points to the same endpoints, and metadata needs no token', async () => {
      const res = await fhirFetch<CapabilityStatement>(`${s.base}/metadata`, { anonymous: true });
      expect(res.status).toBe(200);
      const sec = res.body.rest?.[0]?.security;
      expect(sec?.service?.[0]?.coding?.[0]?.code).toBe('SMART-on-FHIR');
      const uris = sec?.extension?.[0]?.extension?.map((x) => x.valueUri);
      expect(uris).toEqual([authEndpoints(s.base).tokenEndpoint, authEndpoints(s.base).introspectionEndpoint]);
    });

    it('publishes the server signing keys at jwks_uri without private parts', async () => {
      const jwks = (await (await fetch(authEndpoints(s.base).jwksUri)).json()) as { keys: Record<string, unknown>[] };
      expect(jwks.keys[0]?.['kid']).toBe(s.keys.active.kid);
      expect(jwks.keys[0]?.['d']).toBeUndefined();
    });
  });

  describe('token endpoint', () => {
    it('issues a token for a good ES384 assertion, with no-store and expires_in ≤ 300', async () => {
      const res = await tokenRequest(s, es, 'system/Patient.rs');
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('pragma')).toBe('no-cache');
      expect(res.body['token_type']).toBe('bearer');
      expect(res.body['scope']).toBe('system/Patient.rs');
      expect(res.body['expires_in']).toBeLessThanOrEqual(300);
      const read = await fhirFetch(`${s.base}/Patient?_count=1`, {
        headers: { authorization: `Bearer ${res.body['access_token'] as string}` },
      });
      expect(read.status).toBe(200);
    });

    it('issues a token for a good RS384 assertion', async () => {
      const res = await tokenRequest(s, rs, 'system/Patient.rs');
      expect(res.status).toBe(200);
    });

    it('grants requested ∩ registered scopes, and invalid_scope when nothing is left', async () => {
      const some = await tokenRequest(s, es, 'system/Patient.cruds system/Encounter.rs system/Observation.r');
      expect(some.status).toBe(200);
      expect((some.body['scope'] as string).split(' ').sort()).toEqual(['system/Observation.r', 'system/Patient.rs']);
      const star = await tokenRequest(s, es, 'system/*.rs');
      expect((star.body['scope'] as string).split(' ').sort()).toEqual(['system/Observation.rs', 'system/Patient.rs']);
      const none = await tokenRequest(s, es, 'system/Encounter.rs');
      expect(none.status).toBe(400);
      expect(none.body['error']).toBe('invalid_scope');
    });

    it('maps v1 scopes and returns them in v1 form when granted whole', async () => {
      const res = await tokenRequest(s, rs, 'system/Patient.read');
      expect(res.body['scope']).toBe('system/Patient.read');
      const partial = await tokenRequest(s, es, 'system/Patient.write system/Patient.read');
      expect(partial.body['scope']).toBe('system/Patient.read');
    });

    it('refuses a bad signature', async () => {
      const other = await newClientKeys('someone-else', 'ES384');
      await refused(es, { key: other.privateKey });
    });

    it('refuses a wrong aud', async () => {
      await refused(es, { aud: `${s.base}/token` });
    });

    it('refuses an expired exp', async () => {
      await refused(es, { exp: Math.floor(Date.now() / 1000) - 60 });
    });

    it('refuses an exp more than five minutes ahead', async () => {
      await refused(es, { exp: Math.floor(Date.now() / 1000) + 600 });
    });

    it('refuses a replayed jti', async () => {
      const jti = crypto.randomUUID();
      expect((await tokenRequest(s, es, 'system/Patient.rs', { jti })).status).toBe(200);
      await refused(es, { jti });
    });

    it('refuses alg none', async () => {
      const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const unsigned = `${enc({ alg: 'none', kid: es.kid, typ: 'JWT' })}.${enc({ iss: es.clientId, sub: es.clientId, aud: tokenEndpoint(s), exp: now + 60, jti: crypto.randomUUID() })}.`;
      const res = await requestToken(s, {
        grant_type: 'client_credentials',
        scope: 'system/Patient.rs',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: unsigned,
      });
      expect(res.status).toBe(401);
      expect(res.body['error']).toBe('invalid_client');
    });

    it('refuses an HS256 assertion signed with the public key as the secret', async () => {
      const secret = new TextEncoder().encode(JSON.stringify(es.publicJwk));
      await refused(es, { alg: 'HS256', key: secret });
    });

    it('refuses an unknown client', async () => {
      const stranger = await newClientKeys('not-registered', 'ES384');
      await refused(stranger);
    });

    it('refuses a disabled client, and its existing tokens stop working', async () => {
      const c = await newClientKeys('to-disable', 'ES384');
      await registerClient(s, c, 'system/Patient.rs');
      const ok = await tokenRequest(s, c, 'system/Patient.rs');
      expect(ok.status).toBe(200);
      await s.app.clients.setActive(c.clientId, false);
      await refused(c);
      const res = await fhirFetch(`${s.base}/Patient?_count=1`, {
        headers: { authorization: `Bearer ${ok.body['access_token'] as string}` },
      });
      expect(res.status).toBe(401);
    });

    it('refuses iss ≠ sub and an unknown kid', async () => {
      await refused(es, { sub: 'someone' });
      await refused(es, { kid: 'no-such-kid' });
    });

    it('refuses a jku that is not the registered jwks_uri', async () => {
      await refused(es, { jku: 'https://attacker.example/jwks.json' });
    });

    it('answers unsupported_grant_type and invalid_request in OAuth JSON', async () => {
      expect((await requestToken(s, { grant_type: 'password' })).body['error']).toBe('unsupported_grant_type');
      expect((await requestToken(s, {})).body['error']).toBe('invalid_request');
      const json = await fetch(tokenEndpoint(s), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(json.status).toBe(400);
    });

    it('refuses a wrong client_assertion_type with invalid_client', async () => {
      const res = await requestToken(s, {
        grant_type: 'client_credentials',
        scope: 'system/Patient.rs',
        client_assertion_type: 'urn:x',
        client_assertion: await clientAssertion(s, es),
      });
      expect(res.status).toBe(401);
      expect(res.body['error']).toBe('invalid_client');
    });

    it('fetches keys from a registered jwks_uri and caches them as Cache-Control allows', async () => {
      const c = await newClientKeys('remote-keys', 'RS384');
      let fetches = 0;
      const t = await startTestServer(driver, {
        deps: {
          fetch: () => {
            fetches++;
            return Promise.resolve(
              new Response(JSON.stringify({ keys: [c.publicJwk] }), {
                headers: { 'cache-control': 'max-age=60', 'content-type': 'application/json' },
              }),
            );
          },
        },
      });
      await t.app.clients.register(
        (await import('../../src/auth/clients.ts')).checkRegistration({
          client_id: c.clientId,
          name: 'Remote keys',
          jwks_uri: 'https://client.example/jwks.json',
          scope: 'system/Patient.rs',
          organization: { kind: 'insurer', code: '06138093' },
        }),
      );
      expect((await tokenRequest(t, c, 'system/Patient.rs')).status).toBe(200);
      expect((await tokenRequest(t, c, 'system/Patient.rs', { jku: 'https://client.example/jwks.json' })).status).toBe(200);
      expect(fetches).toBe(1);
      await t.close();
    });

    it('records failed and successful logins as AuditEvents with the precise reason', async () => {
      await refused(es, { aud: 'https://wrong.example/token' });
      const res = await fhirFetch<{ entry?: { resource: { outcome: string; outcomeDesc?: string; agent: { altId?: string }[] } }[] }>(
        `${s.base}/AuditEvent?subtype=login&altid=${es.clientId}&outcome=4`,
      );
      expect(res.status).toBe(200);
      const descs = (res.body.entry ?? []).map((e) => e.resource.outcomeDesc ?? '');
      expect(descs.some((d) => d.includes('aud'))).toBe(true);
    });
  });

  describe('introspection', () => {
    const introspect = async (token: string): Promise<Record<string, unknown>> => {
      const res = await fetch(authEndpoints(s.base).introspectionEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }),
      });
      return (await res.json()) as Record<string, unknown>;
    };
    it('describes an active token', async () => {
      const t = await tokenRequest(s, es, 'system/Patient.rs');
      const info = await introspect(t.body['access_token'] as string);
      expect(info).toMatchObject({ active: true, scope: 'system/Patient.rs', client_id: es.clientId });
      expect(info['exp']).toBeGreaterThan(Date.now() / 1000);
    });
    it('answers exactly {"active": false} for garbage, expired and foreign tokens', async () => {
      expect(await introspect('garbage')).toEqual({ active: false });
      const expired = await s.app.tokens.issue('x', undefined, undefined, 'system/Patient.rs', -10);
      expect(await introspect(expired.accessToken)).toEqual({ active: false });
      const foreignKeys = await serverKeysFromJwks(await generateSigningJwks());
      const foreign = new AccessTokens({
        keys: foreignKeys,
        issuer: authEndpoints(s.base).issuer,
        audience: s.base,
        isResourceType: () => true,
      });
      expect(await introspect((await foreign.issue('x', undefined, undefined, 'system/Patient.rs')).accessToken)).toEqual({
        active: false,
      });
    });
  });

  describe('resource server', () => {
    it('refuses a request without a token: 401 with WWW-Authenticate', async () => {
      const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient`, { anonymous: true });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="medid"');
      expect(res.body.resourceType).toBe('OperationOutcome');
    });
    it('refuses an expired access token: 401 invalid_token', async () => {
      const expired = await s.app.tokens.issue('x', undefined, undefined, 'system/*.cruds', -5);
      const res = await fhirFetch(`${s.base}/Patient`, { headers: { authorization: `Bearer ${expired.accessToken}` } });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    });
    it('refuses a token for another audience', async () => {
      const other = new AccessTokens({
        keys: s.keys,
        issuer: authEndpoints(s.base).issuer,
        audience: 'https://other.example/fhir',
        isResourceType: () => true,
      });
      const t = await other.issue('x', undefined, undefined, 'system/*.cruds');
      const res = await fhirFetch(`${s.base}/Patient`, { headers: { authorization: `Bearer ${t.accessToken}` } });
      expect(res.status).toBe(401);
    });
    it('refuses a token signed by another key', async () => {
      const t = await new SignJWT({ scope: 'system/*.cruds', client_id: 'x' })
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
        .setIssuer(authEndpoints(s.base).issuer)
        .setAudience(s.base)
        .setSubject('x')
        .setJti('j')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode('secret-secret-secret-secret-secret'));
      expect((await fhirFetch(`${s.base}/Patient`, { headers: { authorization: `Bearer ${t}` } })).status).toBe(401);
    });
    it('a malformed Authorization header is 401', async () => {
      expect((await fhirFetch(`${s.base}/Patient`, { headers: { authorization: 'Basic abc' } })).status).toBe(401);
    });
  });
});
