import type { Db } from './db.ts';

/** How long readiness waits for the database's answer: a probe must answer, not hang with the pool. */
export const PING_TIMEOUT_MS = 3_000;

/**
 * Whether the database answers a trivial statement within `timeoutMs`. A connection found dead
 * on the way is dropped and the statement runs again on a fresh one (pg.ts), so readiness turns
 * green as soon as the database is back, without a restart.
 */
export async function ping(db: Db, timeoutMs = PING_TIMEOUT_MS): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([
      db.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Refreshes the planner's statistics after a bulk load: autovacuum would, but only after its
 * thresholds and delay, and until then fresh tables are planned as if empty.
 */
export async function analyzeAfterBulkLoad(db: Db): Promise<void> {
  await db.exec(
    'ANALYZE fhir.resource; ANALYZE fhir.resource_version; ANALYZE fhir.sp_token; ANALYZE fhir.sp_string; ANALYZE fhir.sp_date; ANALYZE fhir.sp_reference; ANALYZE fhir.sp_uri; ANALYZE registry.person; ANALYZE registry.person_identifier; ANALYZE registry.my_number; ANALYZE registry.medical_id; ANALYZE mpi.block; ANALYZE mpi.features; ANALYZE audit.event',
  );
}
