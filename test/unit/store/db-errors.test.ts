/**
 * The one database-error mapper: what each failure becomes for the client, and that only
 * serialization failures and deadlocks are tried again (a bounded number of times).
 */
import { describe, expect, it } from 'vitest';
import { isOutcomeError, statusOf } from '../../../src/core/outcome.ts';
import {
  classifyDbError,
  connectionLost,
  isReadOnly,
  mapDbError,
  mapInTransaction,
  MAX_ATTEMPTS,
  neverSent,
  withRetry,
} from '../../../src/store/db-errors.ts';

const pgError = (code: string, message = 'db says no'): Error => Object.assign(new Error(message), { code });
const statusOfError = (e: unknown): number | undefined => (isOutcomeError(e) ? statusOf(e.outcome) : undefined);

describe('database errors', () => {
  it('maps a unique violation to 409 duplicate, without the database detail', () => {
    const e = mapDbError(
      Object.assign(pgError('23505', 'duplicate key value violates unique constraint "resource_pkey"'), {
        detail: 'Key (id)=(secret-value) already exists.',
      }),
    );
    expect(statusOfError(e)).toBe(409);
    const text = JSON.stringify(isOutcomeError(e) ? e.outcome : e);
    expect(text).toContain('"code":"duplicate"');
    expect(text).not.toMatch(/secret-value|resource_pkey/);
  });
  it.each([
    ['a connection exception', pgError('08006')],
    ['an administrator shutdown', pgError('57P01')],
    ['a database starting up', pgError('57P03')],
    ['too many connections', pgError('53300')],
    ['a refused connection', pgError('ECONNREFUSED')],
    ['a reset connection', pgError('ECONNRESET')],
    ['a connection lost mid-query', new Error('Connection terminated unexpectedly')],
    ['a pool that cannot connect in time', new Error('timeout exceeded when trying to connect')],
    ['a closed embedded database', new Error('PGlite is closed')],
    [
      'a missing Unix socket (the server is down)',
      Object.assign(pgError('ENOENT', 'connect ENOENT /var/run/postgresql/.s.PGSQL.5432'), { syscall: 'connect' }),
    ],
    [
      'a host whose every address refused',
      Object.assign(new AggregateError([pgError('ECONNREFUSED'), pgError('ECONNREFUSED')]), { code: undefined }),
    ],
    ['a refusal wrapped as a cause', new Error('could not connect', { cause: pgError('ECONNREFUSED') })],
    ['a session ended by idle_session_timeout', pgError('57P05')],
    ['a session ended by idle_in_transaction_session_timeout', pgError('25P03')],
    ['a database in recovery or shutting down', pgError('57P03', 'the database system is shutting down')],
    ['a dropped database', pgError('57P04')],
    ['a socket destroyed under a statement', pgError('ERR_STREAM_DESTROYED')],
    ['a write after the server hung up', pgError('ERR_STREAM_WRITE_AFTER_END')],
    ['a connection that timed out while connecting', new Error('Connection terminated due to connection timeout')],
    ['a client already known dead', new Error('Client has encountered a connection error and is not queryable')],
    ['a pool already ended', new Error('Cannot use a pool after calling end on the pool')],
  ])('maps %s to 503', (_name, e) => {
    expect(classifyDbError(e)).toBe('unavailable');
    expect(statusOfError(mapDbError(e))).toBe(503);
  });
  it('inside a transaction keeps errors raw for the outer retry, but answers a lost connection 503 at once', () => {
    const deadlock = pgError('40P01');
    const unique = pgError('23505');
    expect(mapInTransaction(deadlock)).toBe(deadlock);
    expect(mapInTransaction(unique)).toBe(unique);
    expect(statusOfError(mapInTransaction(pgError('57P01', 'terminating connection due to administrator command')))).toBe(503);
    expect(statusOfError(mapInTransaction(new Error('Connection terminated unexpectedly')))).toBe(503);
  });
  it('tells a dead connection, a statement that never left, and a read that may run twice', () => {
    expect(connectionLost(pgError('ECONNRESET'))).toBe(true);
    expect(connectionLost(pgError('42P01'))).toBe(false);
    expect(neverSent(new Error('Client has encountered a connection error and is not queryable'))).toBe(true);
    expect(neverSent(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(isReadOnly('SELECT 1')).toBe(true);
    expect(isReadOnly('  WITH m AS (SELECT id FROM fhir.resource) SELECT * FROM m')).toBe(true);
    expect(isReadOnly('SELECT last_updated, deleted FROM fhir.resource')).toBe(true);
    expect(isReadOnly('INSERT INTO audit.event SELECT 1')).toBe(false);
    expect(isReadOnly('WITH x AS (INSERT INTO t VALUES (1) RETURNING 1) SELECT 1')).toBe(false);
    expect(isReadOnly('SELECT * FROM t FOR UPDATE')).toBe(false);
    expect(isReadOnly("SELECT nextval('s')")).toBe(false);
    expect(isReadOnly('SELECT pg_advisory_xact_lock(1)')).toBe(false);
  });
  it('leaves other errors as they are (a bug answers 500)', () => {
    const e = pgError('42P01', 'relation does not exist');
    expect(mapDbError(e)).toBe(e);
    expect(mapDbError('weird')).toBe('weird');
  });
  it('runs work again after a serialization failure or a deadlock, and succeeds when it can', async () => {
    for (const code of ['40001', '40P01']) {
      let calls = 0;
      const out = await withRetry(() => {
        calls++;
        return calls < MAX_ATTEMPTS ? Promise.reject(pgError(code)) : Promise.resolve('done');
      });
      expect([out, calls]).toEqual(['done', MAX_ATTEMPTS]);
    }
  });
  it('answers 503 once the retries are spent, and never retries anything else', async () => {
    let calls = 0;
    const failing = withRetry(() => {
      calls++;
      return Promise.reject(pgError('40P01'));
    });
    await expect(failing).rejects.toSatisfy((e: unknown) => statusOfError(e) === 503);
    expect(calls).toBe(MAX_ATTEMPTS);
    calls = 0;
    await expect(
      withRetry(() => {
        calls++;
        return Promise.reject(pgError('23505'));
      }),
    ).rejects.toSatisfy((e: unknown) => statusOfError(e) === 409);
    expect(calls).toBe(1);
  });
});
