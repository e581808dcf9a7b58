/**
 * Planner statistics kept fresh by medid itself. PostgreSQL's autovacuum normally runs ANALYZE
 * once a table's changes pass 50 rows + 10 %; where it is off (as on some managed and test
 * servers) tables loaded through the API are never analyzed, and plans made for empty tables
 * stay: $match ran at 21 queries/s until a manual ANALYZE, then at 412/s. PGlite has no
 * autovacuum at all and counts its own writes (pglite.ts); on PostgreSQL the server's own
 * counters (pg_stat_user_tables) see every node's writes, so any node can decide.
 */
import type { Db } from './db.ts';

/** autovacuum's default rule, with a larger floor: a few hundred rows do not change a plan. */
const STALE_ROWS = 500;
const STALE_SHARE = 0.1;

/** Whether the server's autovacuum is on (when off, nothing but medid analyzes). */
export async function autovacuumOn(db: Db): Promise<boolean> {
  const { rows } = await db.query<{ on: boolean }>(`SELECT current_setting('autovacuum') = 'on' AS on`);
  return rows[0]?.on ?? true;
}

/** The schemas medid's migrations create: a shared database's other tables are not medid's to analyze. */
const MEDID_SCHEMAS = ['fhir', 'auth', 'audit', 'registry', 'mpi', 'privacy'];

/** medid's tables never analyzed that hold rows, or changed by more than 500 rows + 10 % since their last ANALYZE. */
export async function staleTables(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT format('%I.%I', s.schemaname, s.relname) AS name
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
      WHERE s.schemaname = ANY($3::text[])
        AND ((c.reltuples < 0 AND s.n_live_tup > 0) OR s.n_mod_since_analyze > $1 + $2 * greatest(c.reltuples, 0))
      ORDER BY s.n_mod_since_analyze DESC`,
    [STALE_ROWS, STALE_SHARE, MEDID_SCHEMAS],
  );
  return rows.map((r) => r.name);
}

/**
 * Analyzes the stale tables, each in its own short transaction (a table's lock is not held while
 * the next is analyzed, so a migration's ALTER TABLE never queues behind the whole round);
 * returns their names. One node at a time, by an advisory lock taken without waiting: a node
 * finding it taken leaves that table to the other.
 */
export async function analyzeStale(db: Db): Promise<string[]> {
  const done: string[] = [];
  for (const name of await staleTables(db)) {
    const analyzed = await db.tx(async (t) => {
      const { rows } = await t.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtextextended('medid:analyze', 0)) AS ok`);
      if (!rows[0]?.ok) return false;
      // Names come from the catalog, quoted by format('%I'): no client text reaches this SQL.
      await t.exec(`ANALYZE ${name}`);
      return true;
    });
    if (analyzed) done.push(name);
  }
  return done;
}
