/**
 * The person's sign-in (issue 17 item 5): SMART App Launch standalone patient launch, for
 * public apps (the portal) with PKCE S256, against medid's authorization server — which hands
 * the authentication itself to the person's OpenID Connect identity provider (person-idp.ts).
 *
 *   app → GET /oauth/authorize (checks below) → IdP login → GET /oauth/person/callback
 *       → the person found by the My Number's MAC → app's redirect_uri?code&state&iss
 *   app → POST /oauth/token grant_type=authorization_code + code_verifier → access token for
 *         that person (`patient` in the answer and in the token), patient/ scopes only
 *
 * Each step is a named check, like the client assertion's: a refusal names the step in the log
 * and in the sign-in's AuditEvent (recorded under the person when known), never to the browser
 * beyond the OAuth error code. Pending requests and codes live in the database (any node takes
 * any step) as hashes, and each is redeemed once.
 */
import crypto from 'node:crypto';
import type { LoginAttempt } from '../core/events.ts';
import type { Topic } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import { parseMyNumber } from '../identifiers/my-number.ts';
import type { Db } from '../store/db.ts';
import { bindSubject, saveCode, savePendingLogin, subjectMac, sweepSignIns, takeCode, takePendingLogin } from '../store/person-sign-in.ts';
import type { AccessTokens } from './access-token.ts';
import { IdpError, pkceChallenge, randomToken } from './person-idp.ts';
import type { PersonIdp } from './person-idp.ts';
import { formatScope, grantScopes, parseScopes } from './scopes.ts';
import type { OAuthResponse } from './token-endpoint.ts';

/** A public app people sign in to (no secret: PKCE protects its code). */
export interface PersonApp {
  clientId: string;
  name: string;
  /** Exact redirect URIs (no patterns, no prefixes). */
  redirectUris: readonly string[];
  /** What it may be granted: patient/ scopes and launch/patient. */
  scope: string;
}

/** The portal, registered by the server itself at `<origin>/portal/`. */
export const PORTAL_CLIENT_ID = 'medid-portal';
export const PORTAL_SCOPE = 'launch/patient patient/*.rs patient/Consent.cud';
/** How long the person has to sign in at the IdP, and how long an issued code lives. */
export const PENDING_LOGIN_TTL_S = 600;
export const CODE_TTL_S = 60;
/** A person's access token: long enough to read one's records, short enough not to need refreshing. */
export const PERSON_TOKEN_TTL_S = 900;
/** The purpose a person's own requests run under (v3-ActReason PATRQT: patient requested). */
export const PERSON_PURPOSE = 'PATRQT';

export interface PersonSignInDeps {
  db: Db;
  idp: PersonIdp | undefined;
  apps: readonly PersonApp[];
  /** The FHIR base URL (the `aud` an app must name). */
  audience: string;
  /** medid's issuer (RFC 9207 `iss` on the redirect back). */
  issuer: string;
  tokens: AccessTokens;
  isResourceType: (t: string) => boolean;
  /** The My Number's keyed MAC (privacy/my-number, injected: auth never holds the key). */
  myNumberMac: { mac: (digits: string) => Buffer; version: number };
  /** The registry person a MAC is bound to. */
  patientOfMac: (mac: Buffer) => Promise<string | undefined>;
  logins: Topic<LoginAttempt>;
  logger: Logger;
  now: () => Date;
}

/** A refused step: `error` is the OAuth code the app sees; `step` and `message` go to the log and the audit record. */
export class SignInError extends Error {
  override name = 'SignInError';
  readonly step: string;
  readonly error: string;
  constructor(step: string, error: string, message: string) {
    super(message);
    this.step = step;
    this.error = error;
  }
}

/** What the HTTP edge does: redirect the browser, or show a page (an error that may not be redirected). */
export type BrowserAnswer = { redirect: string } | { status: number; text: string };

export interface RequestMeta {
  requestId: string;
  remoteAddress: string | undefined;
}

const sha256 = (s: string): Buffer => crypto.createHash('sha256').update(s).digest();
const VERIFIER_RE = /^[A-Za-z0-9\-._~]{43,128}$/;
const CHALLENGE_RE = /^[A-Za-z0-9\-_]{43}$/;

function withParams(uri: string, params: Record<string, string | undefined>): string {
  const u = new URL(uri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  return u.toString();
}

export class PersonSignIn {
  private readonly d: PersonSignInDeps;

  constructor(d: PersonSignInDeps) {
    this.d = d;
  }

  /** Removes expired pending sign-ins and codes; returns how many. */
  sweep(): Promise<number> {
    return sweepSignIns(this.d.db, this.d.now());
  }

  get enabled(): boolean {
    return this.d.idp !== undefined;
  }

  private app(clientId: string | null): PersonApp | undefined {
    return this.d.apps.find((a) => a.clientId === clientId);
  }

  /** The scope granted of what was asked: patient/ scopes the app may have, and launch/patient. */
  private grant(app: PersonApp, asked: string): string {
    const requested = parseScopes(asked, this.d.isResourceType).filter((s) => s.context === 'patient');
    const granted = grantScopes(requested, parseScopes(app.scope, this.d.isResourceType));
    const words = granted.map((s) => (s.v1 ? s.text : formatScope(s)));
    if (words.length > 0 && asked.split(/\s+/).includes('launch/patient')) words.unshift('launch/patient');
    return words.join(' ');
  }

  private announce(m: RequestMeta, outcome: 0 | 4, clientId: string | undefined, description: string, patientId?: string): Promise<void> {
    return this.d.logins.emit({
      outcome,
      clientId,
      description,
      requestId: m.requestId,
      remoteAddress: m.remoteAddress,
      at: this.d.now(),
      patientId,
    });
  }

  /** GET /oauth/authorize: the app's request, checked step by step, then off to the IdP. */
  async authorize(q: URLSearchParams, m: RequestMeta): Promise<BrowserAnswer> {
    const clientId = q.get('client_id');
    const app = this.app(clientId);
    // Until the client and its redirect URI are known, nothing may be redirected (RFC 6749 §4.1.2.1).
    if (!app) return { status: 400, text: 'Unknown client_id: this app is not registered for person sign-in.' };
    const redirectUri = q.get('redirect_uri') ?? '';
    if (!app.redirectUris.includes(redirectUri))
      return { status: 400, text: 'redirect_uri is not one registered for this app (exact match required).' };
    const state = q.get('state') ?? undefined;
    try {
      const check = (ok: boolean, step: string, error: string, message: string): void => {
        if (!ok) throw new SignInError(step, error, message);
      };
      check(q.get('response_type') === 'code', 'response-type', 'unsupported_response_type', 'response_type must be code');
      check(
        state !== undefined && state.length > 0 && state.length <= 512,
        'state',
        'invalid_request',
        'state is required (at most 512 characters)',
      );
      const challenge = q.get('code_challenge') ?? '';
      check(
        q.get('code_challenge_method') === 'S256',
        'pkce-method',
        'invalid_request',
        'PKCE is required: code_challenge_method must be S256',
      );
      check(
        CHALLENGE_RE.test(challenge),
        'pkce-challenge',
        'invalid_request',
        'code_challenge must be a base64url SHA-256 (43 characters)',
      );
      check(
        (q.get('aud') ?? '').replace(/\/+$/, '') === this.d.audience,
        'aud',
        'invalid_request',
        `aud must be this FHIR server (${this.d.audience})`,
      );
      const scope = this.grant(app, q.get('scope') ?? '');
      check(
        scope.split(' ').some((s) => s.startsWith('patient/')),
        'scope',
        'invalid_scope',
        'no requested patient/ scope can be granted to this app',
      );
      const idp = this.d.idp;
      check(
        idp !== undefined,
        'idp',
        'temporarily_unavailable',
        'person sign-in is not configured on this server (MEDID_PERSON_IDP_ISSUER)',
      );
      const idpState = randomToken();
      const verifier = randomToken();
      const nonce = randomToken();
      const at = this.d.now();
      await savePendingLogin(
        this.d.db,
        sha256(idpState),
        {
          clientId: app.clientId,
          redirectUri,
          appState: state ?? null,
          scope,
          codeChallenge: challenge,
          idpVerifier: verifier,
          idpNonce: nonce,
        },
        new Date(at.getTime() + PENDING_LOGIN_TTL_S * 1000),
      );
      try {
        return { redirect: await (idp as PersonIdp).authorizationUrl(idpState, verifier, nonce) };
      } catch (e) {
        if (e instanceof IdpError) throw new SignInError(e.step, 'temporarily_unavailable', e.message);
        throw e;
      }
    } catch (e) {
      if (!(e instanceof SignInError)) throw e;
      this.d.logger.warn({ requestId: m.requestId, step: e.step, reason: e.message, clientId: app.clientId }, 'person sign-in refused');
      await this.announce(m, 4, app.clientId, `person sign-in refused at step ${e.step}: ${e.message}`);
      return { redirect: withParams(redirectUri, { error: e.error, error_description: e.message, state, iss: this.d.issuer }) };
    }
  }

  /** GET /oauth/person/callback: the IdP's answer; the person found by their My Number's MAC; a code for the app. */
  async callback(q: URLSearchParams, m: RequestMeta): Promise<BrowserAnswer> {
    const idpState = q.get('state');
    const pending = idpState ? await takePendingLogin(this.d.db, sha256(idpState), this.d.now()) : undefined;
    if (!pending) return { status: 400, text: 'This sign-in has expired or was already used. Start again from the app.' };
    const back = (params: Record<string, string | undefined>): BrowserAnswer => ({
      redirect: withParams(pending.redirectUri, { ...params, state: pending.appState ?? undefined, iss: this.d.issuer }),
    });
    let patientId: string | undefined;
    try {
      const idp = this.d.idp;
      if (!idp) throw new SignInError('idp', 'temporarily_unavailable', 'person sign-in is not configured');
      const idpError = q.get('error');
      if (idpError) throw new SignInError('idp-login', 'access_denied', `the identity provider answered ${idpError.slice(0, 64)}`);
      const code = q.get('code');
      if (!code) throw new SignInError('idp-code', 'access_denied', 'the identity provider returned no code');
      let who;
      try {
        who = await idp.identify(code, pending.idpVerifier, pending.idpNonce);
      } catch (e) {
        if (e instanceof IdpError) throw new SignInError(e.step, 'access_denied', e.message);
        throw e;
      }
      patientId = await this.personOf(who.issuer, who.subject, who.myNumber);
      const issued = randomToken();
      await saveCode(
        this.d.db,
        sha256(issued),
        {
          clientId: pending.clientId,
          redirectUri: pending.redirectUri,
          codeChallenge: pending.codeChallenge,
          scope: pending.scope,
          patientId,
        },
        new Date(this.d.now().getTime() + CODE_TTL_S * 1000),
      );
      await this.announce(m, 0, pending.clientId, 'person signed in through the identity provider', patientId);
      return back({ code: issued });
    } catch (e) {
      if (!(e instanceof SignInError)) throw e;
      this.d.logger.warn({ requestId: m.requestId, step: e.step, reason: e.message, clientId: pending.clientId }, 'person sign-in refused');
      await this.announce(m, 4, pending.clientId, `person sign-in refused at step ${e.step}: ${e.message}`, patientId);
      return back({ error: e.error, error_description: e.step === 'not-registered' ? e.message : 'the sign-in was not completed' });
    }
  }

  /**
   * The registry person behind an IdP identity. The first time the IdP presents the My Number,
   * its MAC binds the subject; later the binding alone suffices. A subject the IdP now presents
   * with another number is refused: one of the two is wrong, and neither may win silently.
   */
  private async personOf(issuer: string, subject: string, myNumber: string | undefined): Promise<string> {
    let mac: Buffer | undefined;
    if (myNumber !== undefined) {
      const parsed = parseMyNumber(myNumber);
      if (!parsed.ok) throw new SignInError('my-number', 'access_denied', 'the identity provider presented a malformed My Number');
      mac = this.d.myNumberMac.mac(parsed.value);
      const bound = await bindSubject(this.d.db, issuer, subject, mac, this.d.myNumberMac.version, this.d.now());
      if (!bound.equals(mac))
        throw new SignInError('subject-rebound', 'access_denied', 'this identity is bound to another My Number than the one presented');
    } else {
      mac = await subjectMac(this.d.db, issuer, subject);
      if (!mac) throw new SignInError('my-number', 'access_denied', 'the identity provider presented no My Number for a first sign-in');
    }
    const patientId = await this.d.patientOfMac(mac);
    if (!patientId) throw new SignInError('not-registered', 'access_denied', 'no person in the registry holds this My Number');
    return patientId;
  }

  /** POST /oauth/token with grant_type=authorization_code: the code, its client, redirect URI and PKCE verifier. */
  async redeem(form: URLSearchParams, m: RequestMeta): Promise<OAuthResponse> {
    const oauth = (status: number, error: string, description: string): OAuthResponse => ({
      status,
      body: { error, error_description: description },
    });
    const app = this.app(form.get('client_id'));
    if (!app) return oauth(401, 'invalid_client', 'client_id is not a registered public app');
    const code = form.get('code');
    const taken = code ? await takeCode(this.d.db, sha256(code), this.d.now()) : undefined;
    const refuse = async (step: string, description: string): Promise<OAuthResponse> => {
      this.d.logger.warn({ requestId: m.requestId, step, clientId: app.clientId }, 'authorization code refused');
      await this.announce(m, 4, app.clientId, `authorization code refused at step ${step}`, taken?.patientId);
      return oauth(400, 'invalid_grant', description);
    };
    if (!taken) return refuse('code', 'the code is unknown, expired or already used');
    if (taken.clientId !== app.clientId) return refuse('code-client', 'the code was issued to another client');
    if (form.get('redirect_uri') !== taken.redirectUri)
      return refuse('redirect-uri', 'redirect_uri differs from the authorization request');
    const verifier = form.get('code_verifier') ?? '';
    if (!VERIFIER_RE.test(verifier) || pkceChallenge(verifier) !== taken.codeChallenge)
      return refuse('pkce', 'code_verifier does not match the code_challenge');
    const t = await this.d.tokens.issue(
      app.clientId,
      app.name,
      undefined,
      taken.scope,
      PERSON_TOKEN_TTL_S,
      PERSON_PURPOSE,
      taken.patientId,
    );
    await this.announce(m, 0, app.clientId, `person access token issued (jti ${t.jti})`, taken.patientId);
    return {
      status: 200,
      body: { access_token: t.accessToken, token_type: 'bearer', expires_in: t.expiresIn, scope: t.scope, patient: taken.patientId },
    };
  }
}
