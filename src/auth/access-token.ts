/**
 * Access tokens: JWTs (RFC 9068 `at+jwt`) signed with the server's active key, valid for the
 * FHIR base URL as audience and 300 seconds (the token endpoint; `medid token` up to an hour).
 * Verification checks signature (by kid, against every published key), issuer, audience,
 * expiry and type, and the token's times: issued no later than now (within a clock skew), and
 * living no longer than this server issues tokens for — a token that claims otherwise was not
 * made by medid's issuer, whatever its signature says. Verified tokens are cached until they
 * expire (a bounded number of them), so a request pays for the signature check once per token.
 */
import { DEFAULT_PURPOSE_OF_USE } from '../core/systems.ts';
import crypto from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { JWTHeaderParameters, JWTPayload } from 'jose';
import type { ServerKeys } from './keys.ts';
import type { Organization, OrgKind, Principal } from '../core/principal.ts';
import { parseScopes } from './scopes.ts';

export const ACCESS_TOKEN_TTL_S = 300;
/** The longest lifetime (exp − iat) of a token this server issues, and so accepts: `medid token --ttl` allows up to an hour. */
export const MAX_ACCESS_TOKEN_LIFETIME_S = 3600;
/** Clock skew tolerated between the nodes that sign and verify tokens. */
export const ACCESS_TOKEN_SKEW_S = 60;
/** Verified tokens kept in memory at most (the oldest go first). */
export const MAX_CACHED_TOKENS = 10_000;

export interface TokenIssuerOptions {
  keys: ServerKeys;
  issuer: string;
  audience: string;
  isResourceType: (t: string) => boolean;
  now?: () => number;
  /** The purpose a token names when it was issued without one (the organization kind's default). */
  defaultPurpose?: (org: Organization | undefined) => string;
  /** The longest lifetime a token is issued with and accepted with (default MAX_ACCESS_TOKEN_LIFETIME_S). */
  maxLifetimeS?: number;
}

interface MedidClaims extends JWTPayload {
  client_id: string;
  scope: string;
  client_name?: string;
  org_kind?: OrgKind;
  org_code?: string;
  /** The purpose of use the token was issued for (medid's extension; SMART has no claim for it yet). */
  purpose_of_use?: string;
  /** SMART launch context: the Patient a person's token is for. */
  patient?: string;
}

const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');

export class TokenError extends Error {
  override name = 'TokenError';
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  scope: string;
  jti: string;
  purposeOfUse: string;
}

export class AccessTokens {
  private readonly o: TokenIssuerOptions;
  private readonly cache = new Map<string, Principal>();

  constructor(o: TokenIssuerOptions) {
    this.o = o;
  }

  private defaultPurpose(org: Organization | undefined): string {
    return this.o.defaultPurpose?.(org) ?? DEFAULT_PURPOSE_OF_USE;
  }

  private nowS(): number {
    return Math.floor((this.o.now?.() ?? Date.now()) / 1000);
  }

  private get maxLifetimeS(): number {
    return this.o.maxLifetimeS ?? MAX_ACCESS_TOKEN_LIFETIME_S;
  }

  /** How many verified tokens are cached (memory is bounded by MAX_CACHED_TOKENS). */
  get cachedTokens(): number {
    return this.cache.size;
  }

  async issue(
    clientId: string,
    clientName: string | undefined,
    org: Organization | undefined,
    scope: string,
    ttl = ACCESS_TOKEN_TTL_S,
    purposeOfUse = this.defaultPurpose(org),
    patient?: string,
  ): Promise<IssuedToken> {
    if (ttl > this.maxLifetimeS) throw new RangeError(`an access token lives at most ${this.maxLifetimeS} seconds`);
    const key = this.o.keys.active;
    const jti = crypto.randomUUID();
    const iat = this.nowS();
    const claims: MedidClaims = { client_id: clientId, scope, purpose_of_use: purposeOfUse };
    if (clientName) claims.client_name = clientName;
    if (patient !== undefined) claims.patient = patient;
    if (org) {
      claims.org_kind = org.kind;
      claims.org_code = org.code;
    }
    const header = { alg: key.alg, kid: key.kid, typ: 'at+jwt' };
    const registered = { iss: this.o.issuer, sub: clientId, aud: this.o.audience, jti, iat, exp: iat + ttl };
    let accessToken: string;
    if (key.privateKey) {
      accessToken = await new SignJWT(claims)
        .setProtectedHeader(header)
        .setIssuer(registered.iss)
        .setSubject(registered.sub)
        .setAudience(registered.aud)
        .setJti(jti)
        .setIssuedAt(iat)
        .setExpirationTime(registered.exp)
        .sign(key.privateKey);
    } else if (key.sign) {
      // A key store's key (an HSM's): the compact JWS is assembled here and only signed there.
      const input = `${b64(header)}.${b64({ ...claims, ...registered })}`;
      accessToken = `${input}.${key.sign(Buffer.from(input)).toString('base64url')}`;
    } else {
      throw new TokenError(`signing key ${key.kid} can neither sign nor be signed with`);
    }
    return { accessToken, expiresIn: ttl, scope, jti, purposeOfUse };
  }

  /** Verifies a bearer token; throws TokenError with a reason safe to show the client. */
  async verify(token: string): Promise<Principal> {
    const hit = this.cache.get(token);
    if (hit) {
      if (hit.expiresAt > this.nowS()) return hit;
      this.cache.delete(token);
      throw new TokenError('the access token has expired');
    }
    let payload: MedidClaims;
    try {
      const res = await jwtVerify<MedidClaims>(
        token,
        (header: JWTHeaderParameters) => {
          const k = header.kid ? this.o.keys.byKid.get(header.kid) : undefined;
          if (!k || k.alg !== header.alg) throw new TokenError('the access token was not signed by this server');
          return k.publicKey;
        },
        {
          issuer: this.o.issuer,
          audience: this.o.audience,
          typ: 'at+jwt',
          requiredClaims: ['exp', 'iat', 'jti', 'sub'],
          currentDate: new Date(this.nowS() * 1000),
        },
      );
      payload = res.payload;
    } catch (e) {
      if (e instanceof TokenError) throw e;
      if (e instanceof joseErrors.JWTExpired) throw new TokenError('the access token has expired');
      if (e instanceof joseErrors.JWTClaimValidationFailed && e.claim === 'aud')
        throw new TokenError('the access token is for another audience');
      if (e instanceof joseErrors.JWTClaimValidationFailed && e.claim === 'iat') throw new TokenError('the access token has no iat');
      throw new TokenError('the access token is not valid');
    }
    checkTimes(payload, this.nowS(), this.maxLifetimeS);
    if (typeof payload.client_id !== 'string' || typeof payload.scope !== 'string') throw new TokenError('the access token is not valid');
    const org = payload.org_kind && payload.org_code ? { kind: payload.org_kind, code: payload.org_code } : undefined;
    const principal: Principal = {
      clientId: payload.client_id,
      clientName: payload.client_name,
      org,
      purposeOfUse: typeof payload.purpose_of_use === 'string' ? payload.purpose_of_use : this.defaultPurpose(org),
      scopes: parseScopes(payload.scope, this.o.isResourceType),
      scope: payload.scope,
      tokenId: payload.jti as string,
      expiresAt: payload.exp as number,
    };
    // A person's token never also acts for an organization.
    if (typeof payload.patient === 'string' && !org) principal.person = payload.patient;
    this.remember(token, principal);
    return principal;
  }

  /** Caches a verified token; at the bound, expired and then the oldest entries make room. */
  private remember(token: string, principal: Principal): void {
    if (this.cache.size >= MAX_CACHED_TOKENS) {
      const now = this.nowS();
      for (const [k, v] of this.cache) {
        if (this.cache.size < MAX_CACHED_TOKENS && v.expiresAt > now) break;
        this.cache.delete(k);
      }
    }
    this.cache.set(token, principal);
  }
}

/**
 * The token's times, beyond expiry (jose checks exp and nbf): `iat` no later than now plus the
 * clock skew (a token from the future was not issued by a clock of ours), and a lifetime
 * `exp − iat` no longer than the server issues (plus the skew).
 */
function checkTimes(payload: JWTPayload, now: number, maxLifetimeS: number): void {
  const iat = payload.iat as number;
  const exp = payload.exp as number;
  if (iat > now + ACCESS_TOKEN_SKEW_S) throw new TokenError('the access token was issued in the future (iat is ahead of the clock)');
  if (exp - iat > maxLifetimeS + ACCESS_TOKEN_SKEW_S) {
    throw new TokenError(`the access token lives longer than this server issues tokens for (exp - iat is over ${maxLifetimeS} s)`);
  }
}
