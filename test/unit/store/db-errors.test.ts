/**
 * The one database-error mapper: what each failure becomes for the client, and that only
 * serialization failures and deadlocks are tried again (a bounded number of times).
 */
import { describe, expect, it } from 'vitest';
import { isOutcomeError, statusOf } from '../../../src/core/outcome.ts';
import { classifyDbError, mapDbError, MAX_ATTEMPTS, withRetry } from '../../../src/store/db-errors.ts';

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
  ])('maps %s to 503', (_name, e) => {
    expect(classifyDbError(e)).toBe('unavailable');
    expect(statusOfError(mapDbError(e))).toBe(503);
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
