/**
 * Who may read `/metrics` (MEDID_METRICS). Not the FHIR token: a scraper is no FHIR client, and
 * its credential must not open any patient data. Three settings:
 *
 * - `off`: no endpoint at all (404, as for any unknown path);
 * - `loopback` (the default): only a connection from the loopback interface (127.0.0.0/8, ::1)
 *   that carries no proxy forwarding header (`Forwarded`, `X-Forwarded-For`, `X-Real-IP`) — a
 *   reverse proxy on the same host connects from loopback too, and must not relay the
 *   endpoint to the world; anything else answers 404, like an unknown path (no hint that
 *   there is something to guess a way into);
 * - `bearer:<secret>`: any address, with `Authorization: Bearer <secret>`, compared in constant
 *   time; a missing or wrong secret answers 401 with `WWW-Authenticate`.
 */
import crypto from 'node:crypto';

export type MetricsAccess = { mode: 'off' } | { mode: 'loopback' } | { mode: 'bearer'; secret: string };

/** The shortest bearer secret accepted (a scraper's credential, not a password a person types). */
export const MIN_METRICS_SECRET_LENGTH = 16;

/** What the endpoint does with one request: serve it, pretend it is not there, or ask for the secret. */
export type MetricsDecision = 'serve' | 'not-found' | 'unauthorized';

export interface MetricsRequestFacts {
  /** The TCP peer's address (the socket's, never a header). */
  remoteAddress: string | undefined;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 addresses (a dual-stack socket's form). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase();
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice('::ffff:'.length) : a;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'] as const;

const digest = (s: string): Buffer => crypto.createHash('sha256').update(s, 'utf8').digest();

/** The bearer credential of an Authorization header, or undefined. */
function bearerOf(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1];
}

/**
 * Equal secrets, in time independent of where they differ: both sides are hashed to 32 bytes
 * first, so neither the length nor a common prefix of the secret shows in the timing.
 */
export function sameSecret(given: string, secret: string): boolean {
  return crypto.timingSafeEqual(digest(given), digest(secret));
}

export function metricsDecision(access: MetricsAccess, req: MetricsRequestFacts): MetricsDecision {
  switch (access.mode) {
    case 'off':
      return 'not-found';
    case 'loopback':
      if (!isLoopbackAddress(req.remoteAddress)) return 'not-found';
      return FORWARDING_HEADERS.some((h) => req.headers[h] !== undefined) ? 'not-found' : 'serve';
    case 'bearer': {
      const given = bearerOf(req.headers['authorization']);
      return given !== undefined && sameSecret(given, access.secret) ? 'serve' : 'unauthorized';
    }
  }
}

/** Parses MEDID_METRICS; throws an Error whose message never repeats a secret. */
export function parseMetricsAccess(raw: string | undefined): MetricsAccess {
  if (raw === undefined || raw === '' || raw === 'loopback') return { mode: 'loopback' };
  if (raw === 'off') return { mode: 'off' };
  if (raw.startsWith('bearer:')) {
    const secret = raw.slice('bearer:'.length);
    if (secret.length < MIN_METRICS_SECRET_LENGTH || !/^[\x21-\x7e]+$/.test(secret))
      throw new Error(
        `MEDID_METRICS=bearer:<secret> needs a secret of at least ${MIN_METRICS_SECRET_LENGTH} printable ASCII characters without spaces`,
      );
    return { mode: 'bearer', secret };
  }
  throw new Error(`MEDID_METRICS must be off, loopback or bearer:<secret>, got "${raw.replace(/:.*/s, ':…')}"`);
}
