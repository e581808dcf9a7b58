/**
 * A client's public keys: its registered JWKS, or the JWKS at its registered jwks_uri, fetched
 * and cached no longer than the response's Cache-Control allows (SMART backend services:
 * "cache no longer than the client's Cache-Control"). An unknown kid triggers one refetch (the
 * client may have rotated keys), at most every 30 s per URL, so a flood of bad kids cannot
 * make medid hammer a client's server. Also here: which registered key may do what — verify a
 * signature (`signingKeyFits`) or receive an encrypted answer (`encryptionKeyProblem`).
 */
import type { JWK } from 'jose';

export type FetchFn = (url: string, init: { signal: AbortSignal; headers: Record<string, string> }) => Promise<Response>;

interface CacheEntry {
  keys: JWK[];
  expires: number;
  fetchedAt: number;
}

const DEFAULT_TTL_MS = 5 * 60_000;
const MAX_TTL_MS = 24 * 3600_000;
const REFETCH_FLOOR_MS = 30_000;
const TIMEOUT_MS = 5_000;
const MAX_BYTES = 256 * 1024;

/**
 * Whether a registered key may verify a signature made with `alg` (RS384 or ES384): the right
 * type and curve, no other `alg` declared, and not an encryption key (`use: enc` keys are for
 * encrypting answers to the client, never for its signatures).
 */
export function signingKeyFits(k: JWK, alg: string): boolean {
  return (
    (alg === 'RS384' ? k.kty === 'RSA' : k.kty === 'EC' && k.crv === 'P-384') &&
    (k.alg === undefined || k.alg === alg) &&
    (k.use === undefined || k.use === 'sig')
  );
}

/** How answers are encrypted to a client's `use: "enc"` key (auth/client-encryption.ts). */
export const ANSWER_ALG = 'ECDH-ES+A256KW';
export const ANSWER_ENC = 'A256GCM';
const EC_CURVES = ['P-256', 'P-384', 'P-521'];

/** Why a JWKS member marked `use: "enc"` cannot receive answers; undefined when it can (registration checks this). */
export function encryptionKeyProblem(k: JWK): string | undefined {
  if (typeof k.kid !== 'string' || k.kid === '') return 'an encryption key (use "enc") needs a kid';
  if (!((k.kty === 'EC' && EC_CURVES.includes(k.crv ?? '')) || (k.kty === 'OKP' && k.crv === 'X25519')))
    return `encryption key ${k.kid}: must be an EC key on ${EC_CURVES.join(', ')} or an OKP X25519 key (ECDH-ES)`;
  if (k.alg !== undefined && k.alg !== ANSWER_ALG) return `encryption key ${k.kid}: alg must be ${ANSWER_ALG} (or absent)`;
  return undefined;
}

/** Seconds a response may be cached: max-age, or 0 for no-store/no-cache, or the default. */
export function cacheLifetimeMs(cacheControl: string | null): number {
  if (!cacheControl) return DEFAULT_TTL_MS;
  const cc = cacheControl.toLowerCase();
  if (/\b(no-store|no-cache)\b/.test(cc)) return 0;
  const m = /\bmax-age=(\d+)/.exec(cc);
  return m ? Math.min(Number(m[1]) * 1000, MAX_TTL_MS) : DEFAULT_TTL_MS;
}

export class JwksFetchError extends Error {
  override name = 'JwksFetchError';
}

export class RemoteJwksCache {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly fetchFn: FetchFn;
  private readonly now: () => number;

  constructor(fetchFn: FetchFn = (u, i) => fetch(u, i), now: () => number = Date.now) {
    this.fetchFn = fetchFn;
    this.now = now;
  }

  private async fetchKeys(url: string): Promise<CacheEntry> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
      const res = await this.fetchFn(url, { signal: ctl.signal, headers: { accept: 'application/json' } });
      if (!res.ok) throw new JwksFetchError(`jwks_uri answered ${res.status}`);
      const text = await res.text();
      if (text.length > MAX_BYTES) throw new JwksFetchError('jwks_uri document is too large');
      const body = JSON.parse(text) as { keys?: unknown };
      if (!Array.isArray(body.keys)) throw new JwksFetchError('jwks_uri document has no keys array');
      const now = this.now();
      const entry = { keys: body.keys as JWK[], expires: now + cacheLifetimeMs(res.headers.get('cache-control')), fetchedAt: now };
      this.cache.set(url, entry);
      return entry;
    } catch (e) {
      throw e instanceof JwksFetchError ? e : new JwksFetchError(`jwks_uri could not be fetched: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Every key at `url` (cached as for `keysFor`). */
  async keys(url: string): Promise<JWK[]> {
    const entry = this.cache.get(url);
    return (entry && entry.expires > this.now() ? entry : await this.fetchKeys(url)).keys;
  }

  /** Keys at `url` whose kid is `kid`, refetching once when the cached set lacks it. */
  async keysFor(url: string, kid: string): Promise<JWK[]> {
    const now = this.now();
    let entry = this.cache.get(url);
    if (!entry || entry.expires <= now) {
      entry = await this.fetchKeys(url);
    } else if (!entry.keys.some((k) => k.kid === kid) && now - entry.fetchedAt >= REFETCH_FLOOR_MS) {
      entry = await this.fetchKeys(url);
    }
    return entry.keys.filter((k) => k.kid === kid);
  }
}
