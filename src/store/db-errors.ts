/**
 * The one place database errors become answers (both drivers call it where an error leaves the
 * Db interface):
 * - a unique violation (23505): a concurrent write took the key first → 409 `duplicate`;
 * - a serialization failure (40001) or a deadlock (40P01): the work is sound, only its timing was
 *   unlucky → the driver runs the transaction (or the statement) again, a few times, then 503;
 * - the database down, restarting, unreachable or out of connections, the pool unable to connect,
 *   a connection lost, an embedded database already closed → 503 (the HTTP edge adds Retry-After);
 * - anything else stays as it is: a bug, answered 500 and logged.
 * Answers never repeat the database's message or detail: they can quote a value.
 *
 * It also says which failures mean the connection itself is dead (the driver drops it, and may
 * run a statement again on a fresh one: `connectionLost`, `neverSent`, `isReadOnly`).
 */
import { errors } from '../core/outcome.ts';

export type DbErrorClass = 'unique' | 'retry' | 'unavailable' | 'other';

/**
 * SQLSTATEs of a database that cannot serve now, besides class 08 (connection exceptions):
 * shutting down (57P01 admin, 57P02 crash, 57P03 cannot connect now: starting, stopping, in
 * recovery), the database dropped (57P04), the session ended by a timeout (57P05 idle session,
 * 25P03 idle in transaction), out of connections (53300).
 */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '57P04', '57P05', '25P03', '53300']);
/** Node errors of an unreachable, vanished or unusable connection (TCP, Unix socket, DNS, a destroyed stream). */
const SOCKET_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'EADDRNOTAVAIL',
  'EAI_AGAIN',
  'EAI_FAIL',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
  'ERR_SOCKET_CLOSED',
]);
/** System calls whose failure, whatever the errno, means the database cannot be reached (ENOENT: no Unix socket, the server is down). */
const CONNECT_SYSCALLS = new Set(['connect', 'getaddrinfo']);
/** Messages of pg's pool and client, and PGlite, when there is no usable connection (they carry no code). */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end',
  'This socket has been ended by the other party',
  'PGlite is closed',
];
/** Messages of a statement refused before anything was written to the connection. */
const NOT_SENT_MESSAGES = ['Client has encountered a connection error and is not queryable', 'Client was closed and is not queryable'];

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  syscall?: unknown;
  errors?: unknown;
  cause?: unknown;
}

/** The error and what it wraps: an AggregateError's errors (a host with several addresses), a `cause` chain. */
function* layers(e: unknown, depth = 0): Generator<ErrorLike> {
  if (typeof e !== 'object' || e === null || depth > 4) return;
  const x = e as ErrorLike;
  yield x;
  if (Array.isArray(x.errors)) for (const inner of x.errors as unknown[]) yield* layers(inner, depth + 1);
  if (x.cause !== undefined) yield* layers(x.cause, depth + 1);
}

function unavailableLayer(x: ErrorLike): boolean {
  const code = x.code;
  if (typeof code === 'string' && (code.startsWith('08') || UNAVAILABLE_STATES.has(code) || SOCKET_ERRORS.has(code))) return true;
  if (typeof x.syscall === 'string' && CONNECT_SYSCALLS.has(x.syscall)) return true;
  const message = x.message;
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => message.includes(m));
}

/** What kind of failure a driver error is. */
export function classifyDbError(e: unknown): DbErrorClass {
  if (typeof e !== 'object' || e === null) return 'other';
  const code = (e as ErrorLike).code;
  if (code === '23505') return 'unique';
  if (code === '40001' || code === '40P01') return 'retry';
  for (const x of layers(e)) if (unavailableLayer(x)) return 'unavailable';
  return 'other';
}

/**
 * Whether the error means the connection it happened on is dead (lost, closed by the server,
 * refused): such a connection is dropped, never handed to the next request.
 */
export function connectionLost(e: unknown): boolean {
  return classifyDbError(e) === 'unavailable';
}

/** Whether the statement was refused before anything of it was written to the connection (so running it again cannot run it twice). */
export function neverSent(e: unknown): boolean {
  const message = (e as ErrorLike | null)?.message;
  return typeof message === 'string' && NOT_SENT_MESSAGES.some((m) => message.startsWith(m));
}

/** Words of a statement that may change something; a SELECT without them is a read that can run twice. */
const MAY_WRITE =
  /\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|COPY|CALL|DO|LOCK|NOTIFY|nextval|setval|pg_advisory_lock|pg_advisory_xact_lock|set_config)\b/i;

/**
 * Whether a statement only reads (a plain SELECT, or a WITH … SELECT without data-modifying
 * parts): running it a second time after its connection died cannot change anything.
 * Conservative: a read that merely mentions one of the words above counts as a write.
 */
export function isReadOnly(sql: string): boolean {
  return /^\s*(SELECT|WITH)\b/i.test(sql) && !MAY_WRITE.test(sql);
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

/**
 * Inside a transaction errors stay raw (the outermost transaction decides about retries), except
 * a lost database: nothing inside can use the connection any more, and answering 503 at once
 * keeps code that wraps errors on the way out (an audit failure, a bundle entry) from turning
 * the outage into a 500.
 */
export function mapInTransaction(e: unknown): unknown {
  return classifyDbError(e) === 'unavailable' ? errors.unavailable() : e;
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
