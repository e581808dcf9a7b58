/**
 * medid as an OpenID Connect relying party of the person's identity provider (issue 17 item 5).
 * medid never authenticates people itself: in Japan the IdP stands in front of the My Number
 * card's JPKI; in development a local OIDC provider does (scripts/dev-idp.ts). Authorization
 * code flow with PKCE (S256) and a nonce; the ID token is verified against the IdP's published
 * keys (issuer, audience, expiry, nonce). The My Number claim is read from the ID token, else
 * from userinfo — and handed on only to be MACed (person-sign-in.ts).
 */
import crypto from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';

export interface PersonIdpSettings {
  /** MEDID_PERSON_IDP_ISSUER */
  issuer: string;
  /** MEDID_PERSON_IDP_CLIENT_ID / _CLIENT_SECRET: medid's registration at the IdP. */
  clientId: string;
  clientSecret: string;
  /** MEDID_PERSON_IDP_MY_NUMBER_CLAIM (default my_number). */
  myNumberClaim: string;
  /** MEDID_PERSON_IDP_SCOPE (default `openid my_number`). */
  scope: string;
}

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  userinfo_endpoint?: string;
}

/** A sign-in the IdP refused or that did not verify; `step` names the check (for the log and the audit record). */
export class IdpError extends Error {
  override name = 'IdpError';
  readonly step: string;
  constructor(step: string, message: string) {
    super(message);
    this.step = step;
  }
}

export interface IdpIdentity {
  issuer: string;
  subject: string;
  /** The 12 digits as the IdP presented them, or undefined when it did not. */
  myNumber: string | undefined;
}

export const pkceChallenge = (verifier: string): string => crypto.createHash('sha256').update(verifier).digest('base64url');
export const randomToken = (): string => crypto.randomBytes(32).toString('base64url');

export class PersonIdp {
  readonly settings: PersonIdpSettings;
  private readonly redirectUri: string;
  private discovery: Promise<Discovery> | undefined;
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(settings: PersonIdpSettings, redirectUri: string) {
    this.settings = settings;
    this.redirectUri = redirectUri;
  }

  /** The IdP's metadata, fetched once (again after a failure). */
  private meta(): Promise<Discovery> {
    this.discovery ??= (async () => {
      const url = `${this.settings.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new IdpError('discovery', `the identity provider's discovery document answered ${res.status}`);
      const d = (await res.json()) as Discovery;
      if (d.issuer !== this.settings.issuer) throw new IdpError('discovery', 'the discovery document names another issuer');
      this.jwks = createRemoteJWKSet(new URL(d.jwks_uri));
      return d;
    })().catch((e: unknown) => {
      this.discovery = undefined;
      throw e instanceof IdpError ? e : new IdpError('discovery', 'the identity provider cannot be reached');
    });
    return this.discovery;
  }

  /** Where to send the browser: the IdP's authorization endpoint with medid's PKCE challenge and nonce. */
  async authorizationUrl(state: string, verifier: string, nonce: string): Promise<string> {
    const d = await this.meta();
    const u = new URL(d.authorization_endpoint);
    u.search = new URLSearchParams({
      response_type: 'code',
      client_id: this.settings.clientId,
      redirect_uri: this.redirectUri,
      scope: this.settings.scope,
      state,
      nonce,
      code_challenge: pkceChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    return u.toString();
  }

  /** Redeems the IdP's code and verifies its ID token; the person's subject and My Number. */
  async identify(code: string, verifier: string, nonce: string): Promise<IdpIdentity> {
    const d = await this.meta();
    const basic = Buffer.from(`${encodeURIComponent(this.settings.clientId)}:${encodeURIComponent(this.settings.clientSecret)}`).toString(
      'base64',
    );
    let res: Response;
    try {
      res = await fetch(d.token_endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${basic}` },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: this.redirectUri, code_verifier: verifier }),
        signal: AbortSignal.timeout(5000),
      });
    } catch {
      throw new IdpError('idp-token', 'the identity provider cannot be reached');
    }
    const body = (await res.json().catch(() => ({}))) as { id_token?: unknown; access_token?: unknown; error?: unknown };
    if (!res.ok || typeof body.id_token !== 'string')
      throw new IdpError(
        'idp-token',
        `the identity provider refused the code (${typeof body.error === 'string' ? body.error : res.status})`,
      );
    let claims: JWTPayload;
    try {
      const jwks = this.jwks;
      if (!jwks) throw new Error('no keys');
      ({ payload: claims } = await jwtVerify(body.id_token, jwks, { issuer: d.issuer, audience: this.settings.clientId }));
    } catch {
      throw new IdpError('id-token', 'the ID token did not verify (signature, issuer, audience or expiry)');
    }
    if (claims['nonce'] !== nonce) throw new IdpError('nonce', 'the ID token does not carry the nonce of this sign-in');
    if (typeof claims.sub !== 'string' || claims.sub === '') throw new IdpError('id-token', 'the ID token has no subject');
    let myNumber = claims[this.settings.myNumberClaim];
    if (myNumber === undefined && d.userinfo_endpoint && typeof body.access_token === 'string') {
      const info = await fetch(d.userinfo_endpoint, {
        headers: { Authorization: `Bearer ${body.access_token}` },
        signal: AbortSignal.timeout(5000),
      }).catch(() => undefined);
      const u = info?.ok ? ((await info.json().catch(() => ({}))) as Record<string, unknown>) : {};
      if (u['sub'] === claims.sub) myNumber = u[this.settings.myNumberClaim];
    }
    return { issuer: d.issuer, subject: claims.sub, myNumber: typeof myNumber === 'string' ? myNumber : undefined };
  }
}
