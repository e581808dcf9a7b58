/**
 * Periodic jobs on several nodes (store/locks.ts `oneNodeAtATime`): two nodes' pools on one
 * PostgreSQL database; while one runs a job the other's turn is skipped, a different job runs
 * meanwhile, and once the run ends — returning or throwing — the next turn runs wherever it is
 * taken. PostgreSQL only: the embedded database belongs to one process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneNodeAtATime } from '../../src/store/locks.ts';
import { PgDb } from '../../src/store/pg.ts';
import { openTestDb, testDrivers } from '../helpers/db.ts';
import type { TestDb } from '../helpers/db.ts';

describe.skipIf(!testDrivers().includes('pg'))('one node at a time (PostgreSQL)', () => {
  let t: TestDb;
  let other: PgDb;
  beforeAll(async () => {
    t = await openTestDb('pg');
    other = new PgDb(t.url as string, 4);
  });
  afterAll(async () => {
    await other.close();
    await t.close();
  });

  it('skips a turn while another node runs the job, runs other jobs meanwhile, and runs again once it ended', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const first = oneNodeAtATime(t.db, 'sweep', async () => {
      started();
      await held;
      return 'first';
    });
    await running;
    let ran = 0;
    expect(await oneNodeAtATime(other, 'sweep', () => Promise.resolve(++ran))).toEqual({ ran: false });
    // The same node's own next turn, while its run goes on, is skipped too.
    expect(await oneNodeAtATime(t.db, 'sweep', () => Promise.resolve(++ran))).toEqual({ ran: false });
    expect(await oneNodeAtATime(other, 'analyze', () => Promise.resolve('other job'))).toEqual({ ran: true, result: 'other job' });
    expect(ran).toBe(0);
    release();
    expect(await first).toEqual({ ran: true, result: 'first' });
    expect(await oneNodeAtATime(other, 'sweep', () => Promise.resolve(++ran))).toEqual({ ran: true, result: 1 });
  });

  it('lets the job run on its own connections, and a failure leaves once, freeing the job', async () => {
    let calls = 0;
    const failing = oneNodeAtATime(t.db, 'failing', async () => {
      calls++;
      // The job's own work, in its own transaction, beside the one holding the lock.
      await t.db.tx(async (tx) => tx.query('SELECT 1'));
      throw new Error('the sweep failed');
    });
    await expect(failing).rejects.toThrow('the sweep failed');
    expect(calls).toBe(1);
    expect(await oneNodeAtATime(other, 'failing', () => Promise.resolve('again'))).toEqual({ ran: true, result: 'again' });
  });
});
