/**
 * The development and test identity provider for person sign-in: a real OpenID Connect provider
 * (`oidc-provider`, authorization code flow, PKCE S256 required, client_secret_basic) whose
 * accounts carry a My Number. medid delegates people's authentication to an OIDC provider
 * (MEDID_PERSON_IDP_*); this one stands in for the national one on a developer's machine and in
 * tests. It is never a production identity provider: any non-empty password is accepted.
 *
 * Sign-in, as a browser sees it (the e2e test test/e2e/dev-idp.test.ts walks the same steps):
 *   1. GET  <issuer>/auth?response_type=code&client_id&redirect_uri&scope=openid my_number&state
 *           &nonce&code_challenge&code_challenge_method=S256  → 303 /interaction/<uid>
 *   2. GET  /interaction/<uid> → 200 HTML: form#login-form (POST /interaction/<uid>/login) with
 *           inputs `login` and `password`, a "Sign in" button and a "Cancel" link
 *           (/interaction/<uid>/abort → the client gets error=access_denied).
 *   3. POST /interaction/<uid>/login (login=<account>, password=<anything non-empty>)
 *           → 303 /auth/<uid>; an unknown login or an empty password answers 401 with the form again.
 *   4. GET  /auth/<uid> → 303 <redirect_uri>?code=…&state=…&iss=<issuer>
 *   There is no consent page: a registered client is granted the scopes it asks for. Once signed
 *   in, the browser keeps an IdP session (cookie `_session`): a later authorization request skips
 *   steps 2–3 unless it says prompt=login (or max_age).
 *
 * Claims: `sub` = the login; `my_number` (scope `my_number`) and `name` (scope `profile`), in the
 * id_token (conformIdTokenClaims: false) and from userinfo.
 *
 * CLI: `node scripts/dev-idp.ts` — env DEV_IDP_PORT (8090), DEV_IDP_CLIENT_ID (medid),
 * DEV_IDP_CLIENT_SECRET (random when unset), DEV_IDP_REDIRECT (http://localhost:8080/oauth/person/callback;
 * several separated by spaces), DEV_IDP_ACCOUNTS (a JSON file {"login": {"my_number": "…", "name": "…"}};
 * unset: one account `demo`). Prints the MEDID_PERSON_IDP_* lines for medid.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import type { JWK } from 'jose';
import { myNumberCheckDigit } from '../src/identifiers/check-digits.ts';

export interface DevIdpClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

export interface DevIdpAccount {
  /** 12 digits; not checked here, so a test can also sign in a person with a wrong number. */
  my_number: string;
  name?: string;
}

export interface DevIdpOptions {
  /** 0 = a free port. Default 0. */
  port?: number;
  clients: DevIdpClient[];
  /** login → account; the login is also the `sub`. */
  accounts: Record<string, DevIdpAccount>;
}

export interface DevIdp {
  /** http://localhost:<port> — discovery at <issuer>/.well-known/openid-configuration. */
  issuer: string;
  close(): Promise<void>;
}

// ---- the part of oidc-provider's API used here (the package ships no type declarations) ----

interface OidcGrant {
  accountId?: string;
  clientId?: string;
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(indicator: string, scope: string): void;
  save(): Promise<string>;
}

interface OidcGrantClass {
  new (init: { accountId: string; clientId: string }): OidcGrant;
  find(id: string): Promise<OidcGrant | undefined>;
}

interface OidcAccount {
  accountId: string;
  claims(use: string, scope: string): Promise<Record<string, unknown> & { sub: string }>;
}

interface OidcContext {
  oidc: {
    provider: OidcProvider;
    client?: { clientId: string };
    account?: { accountId: string };
    session?: { accountId?: string; grantIdFor(clientId: string): string | undefined };
    result?: { consent?: { grantId?: string } };
    requestParamOIDCScopes: Set<string>;
    requestParamClaims: Set<string>;
  };
}

interface InteractionDetails {
  uid: string;
  prompt: {
    name: string;
    details: { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  };
  params: Record<string, unknown>;
  session?: { accountId?: string };
  grantId?: string;
}

interface InteractionResult {
  login?: { accountId: string };
  consent?: { grantId: string };
  error?: string;
  error_description?: string;
}

interface OidcProvider {
  Grant: OidcGrantClass;
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  interactionDetails(req: http.IncomingMessage, res: http.ServerResponse): Promise<InteractionDetails>;
  interactionFinished(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    result: InteractionResult,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  on(event: string, listener: (...args: unknown[]) => void): void;
}

interface OidcModule {
  Provider: new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;
}

/** oidc-provider, loaded on first use (a dev dependency: never loaded by the server). */
async function loadOidcProvider(): Promise<OidcModule> {
  const specifier = 'oidc-provider';
  const mod: unknown = await import(specifier);
  return mod as OidcModule;
}

// ---- pages ----

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // No form-action: the form's answer redirects on to the client's redirect_uri.
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{margin-top:1rem;padding:.5rem 1.2rem;font-size:1rem}.error{color:#b00020}.note{color:#555;font-size:.9rem}
</style>
</head>
<body>
${body}
</body>
</html>`;
}

function loginPage(o: { uid: string; clientId: string; loginHint: string; error?: string; logins: string[] }): string {
  const base = `/interaction/${encodeURIComponent(o.uid)}`;
  return page(
    'Sign in — medid development IdP',
    `<h1>Sign in</h1>
<p class="note">medid development identity provider — for <strong>${esc(o.clientId)}</strong>. Any password is accepted.</p>
${o.error ? `<p class="error" role="alert" id="login-error">${esc(o.error)}</p>` : ''}
<form id="login-form" method="post" action="${base}/login" autocomplete="off">
<label for="login">Login</label>
<input id="login" name="login" type="text" required value="${esc(o.loginHint)}"${o.loginHint ? '' : ' autofocus'}>
<label for="password">Password</label>
<input id="password" name="password" type="password" required${o.loginHint ? ' autofocus' : ''}>
<button type="submit" id="sign-in">Sign in</button>
</form>
<p><a id="cancel" href="${base}/abort">Cancel</a></p>
<p class="note">Accounts: ${o.logins.map(esc).join(', ') || '(none)'}</p>`,
  );
}

function send(res: http.ServerResponse, status: number, html: string): void {
  res.writeHead(status, PAGE_HEADERS);
  res.end(html);
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > 16 * 1024) throw new Error('form too large');
    chunks.push(b);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// ---- the provider ----

export async function startDevIdp(o: DevIdpOptions): Promise<DevIdp> {
  const { Provider } = await loadOidcProvider();
  const accounts = new Map(Object.entries(o.accounts));

  // Listen first: the issuer names the port.
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  // `localhost` may resolve to ::1 first (browsers, Node's fetch): answer there too when the host has IPv6.
  const server6 = http.createServer();
  const has6 = await new Promise<boolean>((resolve) => {
    server6.once('error', () => resolve(false));
    server6.listen(port, '::1', () => resolve(true));
  });
  const issuer = `http://localhost:${port}`;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(privateKey)), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };

  const findAccount = (_ctx: unknown, sub: string): OidcAccount | undefined => {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      claims: () => Promise.resolve({ sub, my_number: account.my_number, ...(account.name !== undefined ? { name: account.name } : {}) }),
    };
  };

  // No consent page: every registered client is first-party here, granted what it asks for.
  const loadExistingGrant = async (ctx: OidcContext): Promise<OidcGrant | undefined> => {
    const { oidc } = ctx;
    if (!oidc.client || !oidc.account) return undefined;
    const grantId = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(oidc.client.clientId);
    const grant =
      (grantId ? await oidc.provider.Grant.find(grantId) : undefined) ??
      new oidc.provider.Grant({ accountId: oidc.account.accountId, clientId: oidc.client.clientId });
    grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
    const claims = [...oidc.requestParamClaims];
    if (claims.length > 0) grant.addOIDCClaims(claims);
    await grant.save();
    return grant;
  };

  const provider = new Provider(issuer, {
    clients: o.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: c.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    claims: { openid: ['sub'], my_number: ['my_number'], profile: ['name'] },
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { required: () => true },
    findAccount,
    loadExistingGrant,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 3600, Session: 86400, Grant: 86400 },
    renderError: (ctx: { type: string; body: string; status: number }, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = page(
        'Error — medid development IdP',
        `<h1>Error</h1><dl>${Object.entries(out)
          .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
          .join('')}</dl>`,
      );
    },
  });
  const providerHandler = provider.callback();

  const interaction = async (req: http.IncomingMessage, res: http.ServerResponse, rest: string[]): Promise<void> => {
    const [uid, action] = rest;
    let details: InteractionDetails;
    try {
      details = await provider.interactionDetails(req, res);
    } catch {
      send(res, 400, page('Sign-in expired', '<h1>This sign-in has expired</h1><p>Go back to the application and start again.</p>'));
      return;
    }
    if (details.uid !== uid) {
      send(res, 400, page('Sign-in expired', '<h1>This sign-in is not current</h1><p>Go back to the application and start again.</p>'));
      return;
    }
    const clientId = typeof details.params['client_id'] === 'string' ? details.params['client_id'] : '';
    const loginHint = typeof details.params['login_hint'] === 'string' ? details.params['login_hint'] : '';
    const logins = [...accounts.keys()];

    if (action === 'abort' && req.method === 'GET') {
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'End-User aborted interaction' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (action === 'login' && req.method === 'POST') {
      if (details.prompt.name !== 'login') {
        send(res, 400, page('Error', '<h1>Not expecting a sign-in here</h1>'));
        return;
      }
      const form = await readForm(req);
      const login = (form.get('login') ?? '').trim();
      const password = form.get('password') ?? '';
      if (!accounts.has(login) || password === '') {
        const error = accounts.has(login) ? 'Enter a password.' : 'Unknown login.';
        send(res, 401, loginPage({ uid, clientId, loginHint: login, error, logins }));
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
      return;
    }
    if (action === undefined && req.method === 'GET') {
      if (details.prompt.name === 'login') {
        send(res, 200, loginPage({ uid, clientId, loginHint, logins }));
        return;
      }
      if (details.prompt.name === 'consent') {
        // Asked for explicitly (prompt=consent): granted without a page, like any other request.
        const accountId = details.session?.accountId;
        if (!accountId) throw new Error('consent without a session');
        const grant = details.grantId
          ? ((await provider.Grant.find(details.grantId)) ?? new provider.Grant({ accountId, clientId }))
          : new provider.Grant({ accountId, clientId });
        const d = details.prompt.details;
        if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
        if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
        for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {}))
          grant.addResourceScope(indicator, scopes.join(' '));
        await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
        return;
      }
    }
    send(res, 404, page('Not found', '<h1>Not found</h1>'));
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const pathname = new URL(req.url ?? '/', issuer).pathname;
    const parts = pathname.split('/').slice(1);
    if (parts[0] === 'interaction' && parts.length >= 2 && parts.length <= 3) {
      interaction(req, res, parts.slice(1)).catch((e: unknown) => {
        if (!res.headersSent) send(res, 500, page('Error', `<h1>Error</h1><p>${esc((e as Error).message)}</p>`));
        else res.destroy();
      });
      return;
    }
    providerHandler(req, res);
  };
  server.on('request', handle);
  if (has6) server6.on('request', handle);

  const closeServer = (s: http.Server): Promise<void> =>
    new Promise((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  return {
    issuer,
    close: async () => {
      await Promise.all([closeServer(server), has6 ? closeServer(server6) : Promise.resolve()]);
    },
  };
}

/** A valid My Number (mod-11 check digit appended) from 11 digits. */
export function myNumberFrom(body11: string): string {
  return `${body11}${myNumberCheckDigit(body11)}`;
}

// ---- CLI ----

function readAccounts(file: string | undefined): Record<string, DevIdpAccount> {
  if (!file) return { demo: { my_number: myNumberFrom('90000000001'), name: '見本 太郎' } };
  const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`${file}: expected {"login": {"my_number": "…", "name": "…"}}`);
  const out: Record<string, DevIdpAccount> = {};
  for (const [login, v] of Object.entries(parsed as Record<string, unknown>)) {
    const a = v as { my_number?: unknown; name?: unknown } | null;
    if (typeof a?.my_number !== 'string') throw new Error(`${file}: account ${login} needs a my_number string`);
    out[login] = { my_number: a.my_number, ...(typeof a.name === 'string' ? { name: a.name } : {}) };
  }
  return out;
}

async function cli(): Promise<void> {
  const env = process.env;
  const port = Number(env['DEV_IDP_PORT'] || 8090);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`DEV_IDP_PORT must be a port number, got ${port}`);
  const clientId = env['DEV_IDP_CLIENT_ID'] || 'medid';
  const clientSecret = env['DEV_IDP_CLIENT_SECRET'] || crypto.randomBytes(24).toString('base64url');
  const redirects = (env['DEV_IDP_REDIRECT'] || 'http://localhost:8080/oauth/person/callback').split(/\s+/).filter(Boolean);
  const accounts = readAccounts(env['DEV_IDP_ACCOUNTS'] || undefined);
  const idp = await startDevIdp({
    port,
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: redirects }],
    accounts,
  });
  process.stderr.write(
    `medid development IdP at ${idp.issuer} (any password; accounts: ${Object.keys(accounts).join(', ')})\n` +
      `redirect URIs: ${redirects.join(' ')}\nmedid settings:\n`,
  );
  process.stdout.write(
    `MEDID_PERSON_IDP_ISSUER=${idp.issuer}\nMEDID_PERSON_IDP_CLIENT_ID=${clientId}\nMEDID_PERSON_IDP_CLIENT_SECRET=${clientSecret}\n`,
  );
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void idp.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.main) {
  cli().catch((e: unknown) => {
    process.stderr.write(`dev-idp: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
