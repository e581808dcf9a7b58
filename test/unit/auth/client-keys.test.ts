import { describe, expect, it } from 'vitest';
import { cacheLifetimeMs, JwksFetchError, RemoteJwksCache } from '../../../src/auth/client-keys.ts';

const jwks = (kids: string[]): string => JSON.stringify({ keys: kids.map((kid) => ({ kty: 'EC', crv: 'P-384', x: 'x', y: 'y', kid })) });

describe('client JWKS cache', () => {
  it('reads the cache lifetime from Cache-Control', () => {
    expect(cacheLifetimeMs('max-age=60')).toBe(60_000);
    expect(cacheLifetimeMs('public, max-age=10')).toBe(10_000);
    expect(cacheLifetimeMs('no-store')).toBe(0);
    expect(cacheLifetimeMs(null)).toBe(300_000);
    expect(cacheLifetimeMs('max-age=99999999')).toBe(24 * 3600_000);
  });

  it('caches no longer than Cache-Control allows, and refetches for an unknown kid at most every 30 s', async () => {
    let now = 1_000_000;
    let fetches = 0;
    let kids = ['a'];
    const cache = new RemoteJwksCache(
      () => {
        fetches++;
        return Promise.resolve(new Response(jwks(kids), { headers: { 'cache-control': 'max-age=60' } }));
      },
      () => now,
    );
    expect(await cache.keysFor('https://c/jwks', 'a')).toHaveLength(1);
    expect(await cache.keysFor('https://c/jwks', 'a')).toHaveLength(1);
    expect(fetches).toBe(1);
    now += 61_000;
    await cache.keysFor('https://c/jwks', 'a');
    expect(fetches).toBe(2);
    kids = ['a', 'b'];
    now += 5_000;
    expect(await cache.keysFor('https://c/jwks', 'b')).toHaveLength(0); // within the refetch floor
    now += 30_000;
    expect(await cache.keysFor('https://c/jwks', 'b')).toHaveLength(1); // rotated key found
    expect(fetches).toBe(3);
  });

  it('fails clearly on HTTP errors and documents without keys', async () => {
    const bad = new RemoteJwksCache(() => Promise.resolve(new Response('nope', { status: 500 })));
    await expect(bad.keysFor('https://c/jwks', 'a')).rejects.toBeInstanceOf(JwksFetchError);
    const empty = new RemoteJwksCache(() => Promise.resolve(new Response('{}')));
    await expect(empty.keysFor('https://c/jwks', 'a')).rejects.toThrow(/no keys/);
  });
});
