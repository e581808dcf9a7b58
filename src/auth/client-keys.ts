/**
 * A client's public keys: its registered JWKS, or the JWKS at its registered jwks_uri, fetched
 * and cached no longer than the response's Cache-Control allows (SMART backend services:
 * "cache no longer than the client's Cache-Control"). An unknown kid triggers one refetch (the
 * client may have rotated keys), at most every 30 s per URL, so a flood of bad kids cannot
 * make medid hammer a client's server.
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
