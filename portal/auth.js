/**
 * Sign-in: SMART App Launch standalone patient launch as a public client with PKCE S256
 * (RFC 7636). The verifier and state wait in sessionStorage while the browser is away at the
 * identity provider; the access token (15 minutes, no refresh token) is kept in sessionStorage
 * for this tab only and forgotten at sign-out.
 */

const PENDING_KEY = 'medid.portal.pending';
const SESSION_KEY = 'medid.portal.session';

/**
 * @typedef {{ accessToken: string, patient: string, scope: string, expiresAt: number }} Session
 * @typedef {import('./fhir.js').PortalConfig} PortalConfig
 */

/** @param {Uint8Array} bytes */
function base64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** @param {number} n */
const randomString = (n) => base64url(crypto.getRandomValues(new Uint8Array(n)));

/**
 * RFC 7636 §4.2: BASE64URL(SHA-256(ASCII(code_verifier))).
 * @param {string} verifier
 */
export async function pkceChallenge(verifier) {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
}

/** Whether this browser can sign in (a secure context with Web Crypto). */
export const canSignIn = () => typeof crypto !== 'undefined' && crypto.subtle !== undefined;

/**
 * The authorization request's URL, remembering its verifier and state.
 * @param {PortalConfig} config
 */
export async function authorizationUrl(config) {
  const verifier = randomString(32); // 43 characters of the unreserved set
  const state = randomString(16);
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state }));
  const u = new URL(config.authorizationEndpoint);
  u.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    scope: config.scope,
    state,
    aud: config.fhirBaseUrl,
    code_challenge: await pkceChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  return u.toString();
}

export class SignInError extends Error {
  /**
   * @param {string} key the i18n key of the message
   * @param {string} [detail]
   */
  constructor(key, detail) {
    super(detail ?? key);
    this.name = 'SignInError';
    this.key = key;
    this.detail = detail;
  }
}

/**
 * When the page is the redirect back from /oauth/authorize (`?code` or `?error`): checks the
 * state (and `iss` when given), exchanges the code for a token, and removes the answer from the
 * address bar. Undefined when the page was not opened as a redirect back.
 * @param {PortalConfig} config
 * @param {URLSearchParams} params
 * @returns {Promise<Session | undefined>}
 */
export async function completeSignIn(config, params) {
  const code = params.get('code');
  const error = params.get('error');
  if (code === null && error === null) return undefined;
  // The answer leaves the address bar (and history) whatever happens next.
  history.replaceState(null, '', new URL(config.redirectUri).pathname);
  const pendingText = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  /** @type {{ verifier?: string, state?: string }} */
  const pending = pendingText ? JSON.parse(pendingText) : {};
  if (!pending.state || params.get('state') !== pending.state || !pending.verifier) throw new SignInError('signin.stateMismatch');
  const iss = params.get('iss');
  if (iss !== null && iss !== config.issuer) throw new SignInError('signin.issuerMismatch');
  if (error !== null) throw new SignInError('signin.failed', params.get('error_description') ?? error);
  let res;
  try {
    res = await fetch(config.tokenEndpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: /** @type {string} */ (code),
        redirect_uri: config.redirectUri,
        client_id: config.clientId,
        code_verifier: pending.verifier,
      }),
    });
  } catch {
    throw new SignInError('signin.failed', 'network');
  }
  /** @type {Record<string, unknown>} */
  const body = await res.json().catch(() => ({}));
  if (!res.ok || typeof body.access_token !== 'string') {
    throw new SignInError('signin.failed', String(body.error_description ?? body.error ?? res.status));
  }
  if (String(body.token_type).toLowerCase() !== 'bearer' || typeof body.patient !== 'string' || body.patient === '') {
    throw new SignInError('signin.failed', 'the token answer names no patient');
  }
  /** @type {Session} */
  const session = {
    accessToken: body.access_token,
    patient: body.patient,
    scope: typeof body.scope === 'string' ? body.scope : '',
    expiresAt: Date.now() + (typeof body.expires_in === 'number' ? body.expires_in : 900) * 1000,
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

/**
 * The session kept in this tab, if it has not expired.
 * @returns {Session | undefined}
 */
export function currentSession() {
  try {
    const text = sessionStorage.getItem(SESSION_KEY);
    if (!text) return undefined;
    /** @type {Session} */
    const s = JSON.parse(text);
    if (typeof s.accessToken !== 'string' || typeof s.patient !== 'string' || !(s.expiresAt > Date.now() + 5000)) {
      sessionStorage.removeItem(SESSION_KEY);
      return undefined;
    }
    return s;
  } catch {
    return undefined;
  }
}

/** Forgets the token (and any sign-in under way). */
export function signOut() {
  sessionStorage.removeItem(SESSION_KEY);
  sessionStorage.removeItem(PENDING_KEY);
}
