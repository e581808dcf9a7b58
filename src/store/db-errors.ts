/**
 * The one place database errors become answers (both drivers call it where an error leaves the
 * Db interface):
 * - a unique violation (23505): a concurrent write took the key first → 409 `duplicate`;
 * - a serialization failure (40001) or a deadlock (40P01): the work is sound, only its timing was
 *   unlucky → the driver runs the transaction (or the statement) again, a few times, then 503;
 * - the database down, restarting, unreachable or out of connections, the pool unable to connect,
 *   an embedded database already closed → 503 (the HTTP edge adds Retry-After);
 * - anything else stays as it is: a bug, answered 500 and logged.
 * Answers never repeat the database's message or detail: they can quote a value.
 */
import { errors } from '../core/outcome.ts';

export type DbErrorClass = 'unique' | 'retry' | 'unavailable' | 'other';

/** SQLSTATEs of a database that cannot serve now: connection exceptions (class 08), shutting down or starting up, out of connections. */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** Node socket errors of an unreachable or vanished server. */
const SOCKET_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** Messages of pg's pool and client, and PGlite, when there is no usable connection (they carry no code). */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Cannot use a pool after calling end',
  'Client was closed and is not queryable',
  'PGlite is closed',
];

/** What kind of failure a driver error is. */
export function classifyDbError(e: unknown): DbErrorClass {
  if (typeof e !== 'object' || e === null) return 'other';
  const code = (e as { code?: unknown }).code;
  if (code === '23505') return 'unique';
  if (code === '40001' || code === '40P01') return 'retry';
  if (typeof code === 'string' && (code.startsWith('08') || UNAVAILABLE_STATES.has(code) || SOCKET_ERRORS.has(code))) return 'unavailable';
  const message = (e as { message?: unknown }).message;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => message.includes(m))) return 'unavailable';
  return 'other';
}

/** The answer for a driver error: an OperationOutcomeError for the three known classes, else the error itself. */
export function mapDbError(e: unknown): unknown {
  switch (classifyDbError(e)) {
    case 'unique':
      return errors.conflict(
        'A concurrent write took this unique key first; nothing was written. Read the current state and retry',
        'duplicate',
      );
    case 'retry':
      return errors.unavailable(
        'The database kept refusing this work because of concurrent writes (serialization failure or deadlock); nothing was written. Retry later',
      );
    case 'unavailable':
      return errors.unavailable();
    case 'other':
      return e;
  }
}

/** How often a transaction or statement that hit a serialization failure or deadlock is run in all. */
export const MAX_ATTEMPTS = 3;

/**
 * Runs `work`, again when it fails with a serialization failure or a deadlock (after a short
 * random pause, so the two parties of a deadlock do not meet again), at most MAX_ATTEMPTS times;
 * any failure leaves mapped (mapDbError).
 */
export async function withRetry<T>(work: () => Promise<T>, attempts = MAX_ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (e) {
      if (classifyDbError(e) !== 'retry' || attempt >= attempts) throw mapDbError(e);
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
    }
  }
}
