/**
 * Access tokens at the resource server: beyond signature, issuer, audience and expiry, a token's
 * times must be ones this server's issuer could have written — issued no later than now (within
 * a 60 s clock skew) and living no longer than the server issues tokens for. Each test is named
 * after the rule and checks that this rule, and no other, refused.
 */
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ACCESS_TOKEN_SKEW_S,
  AccessTokens,
  MAX_ACCESS_TOKEN_LIFETIME_S,
  MAX_CACHED_TOKENS,
  TokenError,
} from '../../../src/auth/access-token.ts';
import { generateSigningJwks, serverKeysFromJwks } from '../../../src/auth/keys.ts';
import type { ServerKeys } from '../../../src/auth/keys.ts';

const ISSUER = 'https://medid.example/oauth';
const AUDIENCE = 'https://medid.example/fhir';
const NOW = 1_900_000_000;

describe('access token times', () => {
  let keys: ServerKeys;
  let now = NOW;
  let tokens: AccessTokens;
  beforeAll(async () => {
    keys = await serverKeysFromJwks(await generateSigningJwks());
    tokens = new AccessTokens({ keys, issuer: ISSUER, audience: AUDIENCE, isResourceType: () => true, now: () => now * 1000 });
  });

  /** A token signed with the server's own key, with the given times (no iat when `iat` is null). */
  const signed = (times: { iat: number | null; exp: number }): Promise<string> => {
    const jwt = new SignJWT({ client_id: 'c', scope: 'system/*.rs' })
      .setProtectedHeader({ alg: keys.active.alg, kid: keys.active.kid, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('c')
      .setJti(crypto.randomUUID())
      .setExpirationTime(times.exp);
    if (times.iat !== null) jwt.setIssuedAt(times.iat);
    const { privateKey } = keys.active;
    if (!privateKey) throw new Error('a JWKS key has its private part');
    return jwt.sign(privateKey);
  };
  const refusal = async (token: string): Promise<string> => {
    try {
      await tokens.verify(token);
      return 'accepted';
    } catch (e) {
      expect(e).toBeInstanceOf(TokenError);
      return (e as Error).message;
    }
  };

  it('refuses an access token issued in the future, beyond the clock skew (iat)', async () => {
    const iat = NOW + ACCESS_TOKEN_SKEW_S + 5;
    expect(await refusal(await signed({ iat, exp: iat + 300 }))).toBe(
      'the access token was issued in the future (iat is ahead of the clock)',
    );
  });

  it('accepts an access token whose iat is ahead by less than the clock skew', async () => {
    const iat = NOW + ACCESS_TOKEN_SKEW_S - 5;
    expect(await refusal(await signed({ iat, exp: iat + 300 }))).toBe('accepted');
  });

  it('refuses an access token living longer than the server issues tokens for (exp - iat)', async () => {
    const tooLong = await signed({ iat: NOW - 10, exp: NOW - 10 + MAX_ACCESS_TOKEN_LIFETIME_S + ACCESS_TOKEN_SKEW_S + 1 });
    expect(await refusal(tooLong)).toBe(
      `the access token lives longer than this server issues tokens for (exp - iat is over ${MAX_ACCESS_TOKEN_LIFETIME_S} s)`,
    );
    const tenYears = await signed({ iat: NOW, exp: NOW + 10 * 365 * 86400 });
    expect(await refusal(tenYears)).toMatch(/lives longer than this server issues/);
    expect(await refusal(await signed({ iat: NOW, exp: NOW + MAX_ACCESS_TOKEN_LIFETIME_S }))).toBe('accepted');
  });

  it('refuses an access token without iat', async () => {
    expect(await refusal(await signed({ iat: null, exp: NOW + 300 }))).toBe('the access token has no iat');
  });

  it('honours a configured, shorter lifetime, and never issues a token it would refuse', async () => {
    const short = new AccessTokens({
      keys,
      issuer: ISSUER,
      audience: AUDIENCE,
      isResourceType: () => true,
      now: () => now * 1000,
      maxLifetimeS: 300,
    });
    await expect(short.verify(await signed({ iat: NOW, exp: NOW + 600 }))).rejects.toThrow(/exp - iat is over 300 s/);
    await expect(short.issue('c', undefined, undefined, 'system/*.rs', 600)).rejects.toThrow(RangeError);
    const issued = await short.issue('c', undefined, undefined, 'system/*.rs', 300);
    expect((await short.verify(issued.accessToken)).clientId).toBe('c');
  });

  it('keeps at most MAX_CACHED_TOKENS verified tokens in memory, dropping expired and oldest first', async () => {
    const cache = new AccessTokens({ keys, issuer: ISSUER, audience: AUDIENCE, isResourceType: () => true, now: () => now * 1000 });
    const batch = MAX_CACHED_TOKENS + 50;
    const issued = await Promise.all(Array.from({ length: batch }, () => cache.issue('c', undefined, undefined, 'system/*.rs', 300)));
    for (const t of issued) await cache.verify(t.accessToken);
    expect(cache.cachedTokens).toBeLessThanOrEqual(MAX_CACHED_TOKENS);
    // The newest is still served from the cache; an evicted one verifies again (and is cached again).
    expect((await cache.verify(issued[batch - 1]?.accessToken ?? '')).clientId).toBe('c');
    expect((await cache.verify(issued[0]?.accessToken ?? '')).clientId).toBe('c');
    expect(cache.cachedTokens).toBeLessThanOrEqual(MAX_CACHED_TOKENS);
    now += 400; // all expired: the next insert clears them out
    await cache.verify((await cache.issue('c', undefined, undefined, 'system/*.rs', 300)).accessToken);
    expect(cache.cachedTokens).toBe(1);
    now = NOW;
  }, 60_000);
});
