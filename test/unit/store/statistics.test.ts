/**
 * Issue 15's two planner faults, checked against the database itself:
 * - the match index's maintenance finds a Patient's rows through the patient_id index whatever
 *   the statistics (it scanned all of mpi.block on every write when the planner guessed wrong);
 * - stale statistics are noticed and analyzed (autovacuum may be off, and PGlite has none).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replaceMatchRows } from '../../../src/store/mpi.ts';
import { analyzeStale, staleTables } from '../../../src/store/statistics.ts';
import { openTestDb, testDrivers } from '../../helpers/db.ts';
import type { TestDb } from '../../helpers/db.ts';

describe.each(testDrivers())('planner statistics on %s', (driver) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb(driver);
    // 40,000 match-index rows of 10,000 patients, never analyzed.
    await t.db.query(
      `INSERT INTO mpi.block (key, patient_id) SELECT 'k' || (i % 4000), 'p' || (i / 4) FROM generate_series(0, 39999) AS i`,
    );
  });
  afterAll(async () => {
    await t.close();
  });

  it('replacing one Patient’s match rows reads mpi.block through its patient_id index, not a scan, even without statistics', async () => {
    // The backend's counts not yet flushed to the server's statistics, before and after.
    const scans = await t.db.tx(async (tx) => {
      const count = async (): Promise<{ seq: number; idx: number }> =>
        (
          await tx.query<{ seq: number; idx: number }>(
            `SELECT seq_scan::int AS seq, coalesce(idx_scan, 0)::int AS idx FROM pg_stat_xact_user_tables WHERE schemaname = 'mpi' AND relname = 'block'`,
          )
        ).rows[0] ?? { seq: 0, idx: 0 };
      const before = await count();
      await replaceMatchRows(tx, [{ patientId: 'p17', features: { familyKana: 'ヤマダ' }, keys: ['k68', 'new-key'] }], ['p18']);
      const after = await count();
      return { seq: after.seq - before.seq, idx: after.idx - before.idx };
    });
    expect(scans.seq).toBe(0);
    expect(scans.idx).toBeGreaterThan(0);
    const { rows } = await t.db.query<{ key: string }>(`SELECT key FROM mpi.block WHERE patient_id = 'p17' ORDER BY key`);
    expect(rows.map((r) => r.key)).toEqual(['k68', 'new-key']);
  });

  // PGlite counts its own writes and analyzes after them (store/pglite.ts); this check reads
  // PostgreSQL's server-wide counters, which other sessions flush within seconds.
  it.skipIf(driver === 'pglite')(
    'a table never analyzed, or changed by more than 500 rows and 10 %, is stale; analyzing makes it fresh (PostgreSQL)',
    async () => {
      let stale: string[] = [];
      for (let i = 0; i < 200 && !stale.includes('mpi.block'); i++) {
        await new Promise((r) => setTimeout(r, 100));
        stale = await staleTables(t.db);
      }
      expect(stale).toContain('mpi.block');
      const analyzed = await analyzeStale(t.db);
      expect(analyzed).toContain('mpi.block');
      expect(await staleTables(t.db)).not.toContain('mpi.block');
    },
  );
});
