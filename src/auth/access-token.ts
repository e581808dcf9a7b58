/**
 * Access tokens: JWTs (RFC 9068 `at+jwt`) signed with the server's active key, valid for the
 * FHIR base URL as audience and at most 300 seconds. Verification checks signature (by kid,
 * against every published key), issuer, audience, expiry and type; verified tokens are cached
 * until they expire, so a request pays for the signature check once per token, not per call.
 */
import { DEFAULT_PURPOSE_OF_USE } from '../core/systems.ts';
import crypto from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { JWTHeaderParameters, JWTPayload } from 'jose';
import type { ServerKeys } from './keys.ts';
import type { Organization, OrgKind, Principal } from '../core/principal.ts';
import { parseScopes } from './scopes.ts';

export const ACCESS_TOKEN_TTL_S = 300;

export interface TokenIssuerOptions {
  keys: ServerKeys;
  issuer: string;
  audience: string;
  isResourceType: (t: string) => boolean;
  now?: () => number;
  /** The purpose a token names when it was issued without one (the organization kind's default). */
  defaultPurpose?: (org: Organization | undefined) => string;
}

interface MedidClaims extends JWTPayload {
  client_id: string;
  scope: string;
  client_name?: string;
  org_kind?: OrgKind;
  org_code?: string;
  /** The purpose of use the token was issued for (medid's extension; SMART has no claim for it yet). */
  purpose_of_use?: string;
}

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

  async issue(
    clientId: string,
    clientName: string | undefined,
    org: Organization | undefined,
    scope: string,
    ttl = ACCESS_TOKEN_TTL_S,
    purposeOfUse = this.defaultPurpose(org),
  ): Promise<IssuedToken> {
    const key = this.o.keys.active;
    const jti = crypto.randomUUID();
    const iat = this.nowS();
    const claims: MedidClaims = { client_id: clientId, scope, purpose_of_use: purposeOfUse };
    if (clientName) claims.client_name = clientName;
    if (org) {
      claims.org_kind = org.kind;
      claims.org_code = org.code;
    }
    const accessToken = await new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
      .setIssuer(this.o.issuer)
      .setSubject(clientId)
      .setAudience(this.o.audience)
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttl)
      .sign(key.privateKey);
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
          requiredClaims: ['exp', 'jti', 'sub'],
          currentDate: new Date(this.nowS() * 1000),
        },
      );
      payload = res.payload;
    } catch (e) {
      if (e instanceof TokenError) throw e;
      if (e instanceof joseErrors.JWTExpired) throw new TokenError('the access token has expired');
      if (e instanceof joseErrors.JWTClaimValidationFailed && e.claim === 'aud')
        throw new TokenError('the access token is for another audience');
      throw new TokenError('the access token is not valid');
    }
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
    if (this.cache.size >= 50_000) this.cache.clear();
    this.cache.set(token, principal);
    return principal;
  }
}
