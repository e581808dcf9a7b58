/**
 * The person's sign-in end to end (issue 17 item 5), over real HTTP on both databases: SMART
 * standalone patient launch with PKCE against medid's authorization server, people
 * authenticated by a real local OpenID Connect provider (scripts/dev-idp.ts, oidc-provider) —
 * never by medid. Each refusal is asserted with the step that refused it (the sign-in's
 * AuditEvent names it), as the client-assertion tests do.
 */
import type { AuditEvent, Bundle, Parameters } from '@medplum/fhirtypes';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PORTAL_CLIENT_ID } from '../../src/auth/person-sign-in.ts';
import { testDrivers } from '../helpers/db.ts';
import { myNumberFrom, signInThroughDevIdp, startDevIdp } from '../helpers/dev-idp.ts';
import type { DevIdp } from '../helpers/dev-idp.ts';
import { fhirFetch } from '../helpers/fhir.ts';
import { insurerNumber, registerBody, registrationPatient, results } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const MY_NUMBER = myNumberFrom('81234567890');
const STRANGER = myNumberFrom('81234567891');

describe.each(testDrivers())('person sign-in on %s', (driver) => {
  let s: TestServer;
  let idp: DevIdp;
  let patient: string;
  let redirect: string;

  const pkce = () => {
    const verifier = crypto.randomBytes(32).toString('base64url');
    return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
  };
  const authorizeUrl = (
    o: { challenge?: string; method?: string; aud?: string; scope?: string; state?: string; redirect?: string; client?: string } = {},
  ) => {
    const u = new URL(`${s.root}/oauth/authorize`);
    const q: Record<string, string | undefined> = {
      response_type: 'code',
      client_id: o.client ?? PORTAL_CLIENT_ID,
      redirect_uri: o.redirect ?? redirect,
      scope: o.scope ?? 'launch/patient openid fhirUser patient/*.rs patient/Consent.cud',
      state: o.state ?? 'st-1',
      aud: o.aud ?? s.base,
      code_challenge: o.challenge,
      code_challenge_method: o.method ?? 'S256',
    };
    for (const [k, v] of Object.entries(q)) if (v !== undefined) u.searchParams.set(k, v);
    return u;
  };
  const backAtApp = (u: URL) => u.href.startsWith(redirect);
  const redeem = (code: string, verifier: string, extra: Record<string, string> = {}) =>
    fetch(`${s.root}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirect,
        client_id: PORTAL_CLIENT_ID,
        code_verifier: verifier,
        ...extra,
      }),
    });
  /** The sign-in AuditEvents (login) after `since`, newest first, as the authority reads them. */
  const logins = async () => {
    await s.app.auditLog.settle();
    const b = await fhirFetch<Bundle<AuditEvent>>(`${s.base}/AuditEvent?subtype=login&altid=${PORTAL_CLIENT_ID}&_count=50`, {
      headers: { authorization: `Bearer ${s.token}` },
    });
    return b.body.entry?.map((e) => e.resource as AuditEvent) ?? [];
  };

  beforeAll(async () => {
    const secret = crypto.randomBytes(16).toString('hex');
    s = await startTestServer(driver, {
      configFor: async (root) => {
        idp = await startDevIdp({
          port: 0,
          clients: [{ client_id: 'medid', client_secret: secret, redirect_uris: [`${root}/oauth/person/callback`] }],
          accounts: { taro: { my_number: MY_NUMBER }, stranger: { my_number: STRANGER } },
        });
        return {
          personIdp: { issuer: idp.issuer, clientId: 'medid', clientSecret: secret, myNumberClaim: 'my_number', scope: 'openid my_number' },
        };
      },
    });
    redirect = `${s.root}/portal/`;
    const reg = await fhirFetch<Parameters>(`${s.base}/Patient/$register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}` },
      json: registerBody([
        { record: 'taro', patient: registrationPatient({ insurer: insurerNumber('0613809'), number: '7', myNumber: MY_NUMBER }) },
      ]),
    });
    patient = results(reg.body)[0]?.patient as string;
    expect(patient).toBeDefined();
  });
  afterAll(async () => {
    await s?.close();
    await idp?.close();
  });

  it('publishes the standalone launch in SMART discovery', async () => {
    const d = (await (await fetch(`${s.base}/.well-known/smart-configuration`)).json()) as Record<string, unknown>;
    expect(d['authorization_endpoint']).toBe(`${s.root}/oauth/authorize`);
    expect(d['capabilities']).toEqual(expect.arrayContaining(['launch-standalone', 'context-standalone-patient', 'client-public']));
    expect(d['code_challenge_methods_supported']).toEqual(['S256']);
  });

  it('signs the person in through the IdP: code with PKCE → a token for their own Patient, and the sign-in is in their history', async () => {
    const { verifier, challenge } = pkce();
    const back = await signInThroughDevIdp(authorizeUrl({ challenge }), { login: 'taro', until: backAtApp });
    expect(back.loginShown).toBe(true);
    expect(back.url.searchParams.get('state')).toBe('st-1');
    expect(back.url.searchParams.get('iss')).toBe(`${s.root}/oauth`);
    const code = back.url.searchParams.get('code') ?? '';
    const res = await redeem(code, verifier);
    expect(res.status).toBe(200);
    const t = (await res.json()) as { access_token: string; patient: string; scope: string; expires_in: number };
    expect(t.patient).toBe(patient);
    expect(t.scope).toBe('launch/patient patient/*.rs patient/Consent.cud');
    expect(t.expires_in).toBe(900);
    expect((await fhirFetch(`${s.base}/Patient/${patient}`, { headers: { authorization: `Bearer ${t.access_token}` } })).status).toBe(200);
    // A code is redeemed once.
    const again = await redeem(code, verifier);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: string }).error).toBe('invalid_grant');
    const mine = await fhirFetch<Bundle<AuditEvent>>(`${s.base}/AuditEvent?patient=${patient}&subtype=login`, {
      headers: { authorization: `Bearer ${t.access_token}` },
    });
    expect(mine.body.entry?.map((e) => e.resource?.outcomeDesc)).toEqual(
      expect.arrayContaining(['person signed in through the identity provider', expect.stringMatching(/^person access token issued/)]),
    );
    expect((await logins())[0]?.outcomeDesc).toBe('authorization code refused at step code');
    // Only the MAC is stored: the twelve digits are in no row of the binding.
    const rows = await s.testDb.db.query<{ row: string }>(`SELECT row_to_json(p)::text AS row FROM auth.person_subject p`);
    expect(rows.rows.length).toBe(1);
    expect(rows.rows[0]?.row).not.toContain(MY_NUMBER);
  });

  it('refuses a wrong PKCE verifier, and a code for another redirect URI (step named)', async () => {
    const { verifier, challenge } = pkce();
    const back = await signInThroughDevIdp(authorizeUrl({ challenge }), { login: 'taro', until: backAtApp });
    const code = back.url.searchParams.get('code') ?? '';
    const wrong = await redeem(code, pkce().verifier);
    expect(wrong.status).toBe(400);
    expect((await logins())[0]?.outcomeDesc).toBe('authorization code refused at step pkce');
    // The refused attempt spent the code.
    expect((await redeem(code, verifier)).status).toBe(400);
  });

  it('answers an unknown client or redirect URI itself, never redirecting to it', async () => {
    const { challenge } = pkce();
    const unknown = await fetch(authorizeUrl({ challenge, client: 'evil' }), { redirect: 'manual' });
    expect(unknown.status).toBe(400);
    const elsewhere = await fetch(authorizeUrl({ challenge, redirect: 'https://evil.example/cb' }), { redirect: 'manual' });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.headers.get('location')).toBeNull();
  });

  it.each([
    ['pkce-method', 'invalid_request', { method: 'plain' }],
    ['pkce-challenge', 'invalid_request', { challenge: undefined }],
    ['aud', 'invalid_request', { aud: 'https://other.example/fhir' }],
    ['scope', 'invalid_scope', { scope: 'system/*.cruds launch/patient' }],
    ['state', 'invalid_request', { state: '' }],
  ] as const)('refuses at step %s with %s, back at the app', async (step, error, o) => {
    const { challenge } = pkce();
    const res = await fetch(authorizeUrl({ challenge, ...o }), { redirect: 'manual' });
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get('location') ?? '');
    expect(to.href.startsWith(redirect)).toBe(true);
    expect(to.searchParams.get('error')).toBe(error);
    expect((await logins())[0]?.outcomeDesc).toMatch(new RegExp(`^person sign-in refused at step ${step}:`));
  });

  it('refuses a person the registry does not hold (step not-registered), and nothing is bound', async () => {
    const { challenge } = pkce();
    const back = await signInThroughDevIdp(authorizeUrl({ challenge }), { login: 'stranger', until: backAtApp });
    expect(back.url.searchParams.get('error')).toBe('access_denied');
    expect(back.url.searchParams.get('code')).toBeNull();
    expect((await logins())[0]?.outcomeDesc).toMatch(/^person sign-in refused at step not-registered/);
  });

  it('refuses a callback whose state is unknown or already used', async () => {
    const res = await fetch(`${s.root}/oauth/person/callback?state=nope&code=x`, { redirect: 'manual' });
    expect(res.status).toBe(400);
  });
});
