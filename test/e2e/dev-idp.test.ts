/**
 * The development identity provider (scripts/dev-idp.ts) behaves as medid's person sign-in
 * expects of an OpenID Connect provider: discovery, authorization code with PKCE S256, its login
 * form, the code at the redirect URI with state and iss, client_secret_basic at the token
 * endpoint, and an id_token signed by a key of its JWKS carrying `sub` and `my_number` (also from
 * userinfo). The steps below are the ones a browser test clicks through.
 */
import crypto from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserFetch, CookieJar, loginFormAction, myNumberFrom, signInThroughDevIdp, startDevIdp } from '../helpers/dev-idp.ts';
import type { DevIdp } from '../helpers/dev-idp.ts';

const CLIENT_ID = 'medid';
const CLIENT_SECRET = 'dev secret/with+reserved=chars';
const REDIRECT_URI = 'http://localhost:8080/oauth/person/callback';
const DEMO_MY_NUMBER = myNumberFrom('90000000001');

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint: string;
  jwks_uri: string;
  code_challenge_methods_supported: string[];
  scopes_supported: string[];
  claims_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  authorization_response_iss_parameter_supported: boolean;
}

const b64url = (b: Buffer): string => b.toString('base64url');

function pkce(): { verifier: string; challenge: string } {
  const verifier = b64url(crypto.randomBytes(32));
  return { verifier, challenge: b64url(crypto.createHash('sha256').update(verifier).digest()) };
}

/** client_secret_basic as RFC 6749 §2.3.1 has it: id and secret form-urlencoded, then Basic. */
function basic(id: string, secret: string): string {
  const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

describe('the development identity provider', () => {
  let idp: DevIdp;
  let disco: Discovery;

  beforeAll(async () => {
    idp = await startDevIdp({
      port: 0,
      clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI] }],
      accounts: { demo: { my_number: DEMO_MY_NUMBER, name: '見本 太郎' }, other: { my_number: myNumberFrom('90000000002') } },
    });
    const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    disco = (await res.json()) as Discovery;
  });
  afterAll(async () => {
    await idp.close();
  });

  const authUrl = (o: { challenge?: string; state: string; nonce: string; extra?: Record<string, string> }): URL => {
    const u = new URL(disco.authorization_endpoint);
    u.search = new URLSearchParams({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      scope: 'openid my_number',
      state: o.state,
      nonce: o.nonce,
      ...(o.challenge ? { code_challenge: o.challenge, code_challenge_method: 'S256' } : {}),
      ...o.extra,
    }).toString();
    return u;
  };

  const token = (code: string, verifier: string, auth = basic(CLIENT_ID, CLIENT_SECRET)): Promise<Response> =>
    fetch(disco.token_endpoint, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }),
    });

  it('publishes discovery as medid reads it', () => {
    expect(idp.issuer).toMatch(/^http:\/\/localhost:\d+$/);
    expect(disco.issuer).toBe(idp.issuer);
    expect(disco.authorization_endpoint).toBe(`${idp.issuer}/auth`);
    expect(disco.token_endpoint).toBe(`${idp.issuer}/token`);
    expect(disco.userinfo_endpoint).toBe(`${idp.issuer}/me`);
    expect(disco.jwks_uri).toBe(`${idp.issuer}/jwks`);
    expect(disco.code_challenge_methods_supported).toEqual(['S256']);
    expect(disco.scopes_supported).toEqual(expect.arrayContaining(['openid', 'my_number', 'profile']));
    expect(disco.claims_supported).toEqual(expect.arrayContaining(['sub', 'my_number', 'name']));
    expect(disco.token_endpoint_auth_methods_supported).toContain('client_secret_basic');
    expect(disco.authorization_response_iss_parameter_supported).toBe(true);
  });

  it('signs a person in: authorization code + PKCE, login form, client_secret_basic, id_token with sub and my_number', async () => {
    const jar = new CookieJar();
    const { verifier, challenge } = pkce();
    const state = b64url(crypto.randomBytes(16));
    const nonce = b64url(crypto.randomBytes(16));

    // 1. The authorization request sends the browser to an interaction of its own.
    const start = authUrl({ challenge, state, nonce });
    const r1 = await browserFetch(jar, start);
    expect(r1.status).toBe(303);
    const interaction = new URL(r1.headers.get('location') ?? '', start);
    expect(interaction.origin).toBe(idp.issuer);
    expect(interaction.pathname).toMatch(/^\/interaction\/[\w-]+$/);
    expect(jar.names(interaction.host)).toEqual(expect.arrayContaining(['_interaction', '_interaction_resume']));

    // 2. The interaction is the login form: form#login-form, inputs login and password.
    const r2 = await browserFetch(jar, interaction);
    expect(r2.status).toBe(200);
    expect(r2.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await r2.text();
    const action = loginFormAction(html);
    expect(action).toBe(`${interaction.pathname}/login`);
    expect(html).toMatch(/<input id="login" name="login" type="text"/);
    expect(html).toMatch(/<input id="password" name="password" type="password"/);
    expect(html).toContain('<button type="submit" id="sign-in">Sign in</button>');
    expect(html).toContain(`href="${interaction.pathname}/abort"`);
    const submit = new URL(action ?? '', interaction);

    // 3a. An unknown login is refused, with the form again.
    const refused = await browserFetch(jar, submit, { form: { login: 'nobody', password: 'x' } });
    expect(refused.status).toBe(401);
    const refusedHtml = await refused.text();
    expect(refusedHtml).toContain('Unknown login.');
    expect(loginFormAction(refusedHtml)).toBe(action);
    // 3b. An empty password too.
    const empty = await browserFetch(jar, submit, { form: { login: 'demo', password: '' } });
    expect(empty.status).toBe(401);
    await empty.body?.cancel();

    // 3c. A known login with any password: back to the authorization endpoint to resume.
    const r3 = await browserFetch(jar, submit, { form: { login: 'demo', password: 'whatever' } });
    expect(r3.status).toBe(303);
    const resume = new URL(r3.headers.get('location') ?? '', submit);
    expect(resume.href).toBe(`${idp.issuer}/auth/${interaction.pathname.split('/')[2] ?? ''}`);

    // 4. No consent page: the code comes straight back to the redirect URI, with state and iss.
    const r4 = await browserFetch(jar, resume);
    expect(r4.status).toBe(303);
    const back = new URL(r4.headers.get('location') ?? '');
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT_URI);
    expect(back.searchParams.get('state')).toBe(state);
    expect(back.searchParams.get('iss')).toBe(idp.issuer);
    expect(back.searchParams.get('error')).toBeNull();
    const code = back.searchParams.get('code') ?? '';
    expect(code).not.toBe('');
    expect(jar.names(interaction.host)).toContain('_session');

    // 5. The token endpoint with client_secret_basic and the code verifier.
    const tr = await token(code, verifier);
    expect(tr.status).toBe(200);
    const tokens = (await tr.json()) as { id_token: string; access_token: string; token_type: string; scope: string };
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.scope).toBe('openid my_number');

    // 6. The id_token verifies against the JWKS and carries sub and my_number.
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token, createRemoteJWKSet(new URL(disco.jwks_uri)), {
      issuer: idp.issuer,
      audience: CLIENT_ID,
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.sub).toBe('demo');
    expect(payload['my_number']).toBe(DEMO_MY_NUMBER);
    expect(payload['nonce']).toBe(nonce);
    expect(payload['name']).toBeUndefined(); // `name` comes with scope profile

    // 7. userinfo answers the same claims for the access token.
    const ui = await fetch(disco.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(ui.status).toBe(200);
    expect(await ui.json()).toEqual({ sub: 'demo', my_number: DEMO_MY_NUMBER });

    // The code is single use.
    const again = await token(code, verifier);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('keeps the person signed in (SSO) unless prompt=login, and gives name with scope profile', async () => {
    const jar = new CookieJar();
    const until = (u: URL): boolean => u.href.startsWith(REDIRECT_URI);
    const first = pkce();
    const a = await signInThroughDevIdp(authUrl({ challenge: first.challenge, state: 's1', nonce: 'n1' }), { login: 'demo', until, jar });
    expect(a.loginShown).toBe(true);
    expect(a.autoSubmitted).toEqual([]);
    expect(a.url.searchParams.get('state')).toBe('s1');

    const second = pkce();
    const b = await signInThroughDevIdp(
      authUrl({ challenge: second.challenge, state: 's2', nonce: 'n2', extra: { scope: 'openid my_number profile' } }),
      { login: 'demo', until, jar },
    );
    expect(b.loginShown).toBe(false);
    const tr = await token(b.url.searchParams.get('code') ?? '', second.verifier);
    const { id_token } = (await tr.json()) as { id_token: string };
    const { payload } = await jwtVerify(id_token, createRemoteJWKSet(new URL(disco.jwks_uri)));
    expect(payload['name']).toBe('見本 太郎');
    expect(payload['my_number']).toBe(DEMO_MY_NUMBER);

    // prompt=login asks again, and another person may sign in on the same browser.
    const third = pkce();
    const c = await signInThroughDevIdp(authUrl({ challenge: third.challenge, state: 's3', nonce: 'n3', extra: { prompt: 'login' } }), {
      login: 'other',
      until,
      jar,
    });
    expect(c.loginShown).toBe(true);
    // Another account than the session's: the IdP ends that session first, by a page its script submits.
    expect(c.autoSubmitted).toEqual(['/session/end/confirm']);
    const tr3 = await token(c.url.searchParams.get('code') ?? '', third.verifier);
    const { payload: p3 } = await jwtVerify(
      ((await tr3.json()) as { id_token: string }).id_token,
      createRemoteJWKSet(new URL(disco.jwks_uri)),
    );
    expect(p3.sub).toBe('other');
    expect(p3['name']).toBeUndefined();
  });

  it('requires PKCE S256, the right verifier and the client secret', async () => {
    // Without a code challenge the browser comes back with an error, never a code.
    const noPkce = await signInThroughDevIdp(authUrl({ state: 'np', nonce: 'n' }), {
      login: 'demo',
      until: (u) => u.href.startsWith(REDIRECT_URI),
    });
    expect(noPkce.url.searchParams.get('error')).toBe('invalid_request');
    expect(noPkce.url.searchParams.get('code')).toBeNull();
    expect(noPkce.url.searchParams.get('state')).toBe('np');

    const { verifier, challenge } = pkce();
    const ok = await signInThroughDevIdp(authUrl({ challenge, state: 'ok', nonce: 'n' }), {
      login: 'demo',
      until: (u) => u.href.startsWith(REDIRECT_URI),
    });
    const code = ok.url.searchParams.get('code') ?? '';
    const wrongSecret = await token(code, verifier, basic(CLIENT_ID, 'wrong'));
    expect(wrongSecret.status).toBe(401);
    expect(((await wrongSecret.json()) as { error: string }).error).toBe('invalid_client');
    const wrongVerifier = await token(code, pkce().verifier);
    expect(wrongVerifier.status).toBe(400);
    expect(((await wrongVerifier.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('refuses a redirect URI it does not know, on its own page', async () => {
    const u = authUrl({ challenge: pkce().challenge, state: 'x', nonce: 'n' });
    u.searchParams.set('redirect_uri', 'http://localhost:8080/elsewhere');
    const res = await browserFetch(new CookieJar(), u);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('redirect_uri did not match any of the client&#39;s registered redirect_uris');
  });

  it('answers access_denied when the person cancels', async () => {
    const jar = new CookieJar();
    const start = authUrl({ challenge: pkce().challenge, state: 'c', nonce: 'n' });
    const r1 = await browserFetch(jar, start);
    const interaction = new URL(r1.headers.get('location') ?? '', start);
    const r2 = await browserFetch(jar, new URL(`${interaction.pathname}/abort`, interaction));
    expect(r2.status).toBe(303);
    const resume = new URL(r2.headers.get('location') ?? '', interaction);
    const r3 = await browserFetch(jar, resume);
    const back = new URL(r3.headers.get('location') ?? '');
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('state')).toBe('c');
  });
});
