import type { Db } from './db.ts';

/** Whether the database answers a trivial statement. */
export async function ping(db: Db): Promise<boolean> {
  try {
    await db.query('SELECT 1');
    return true;
  } catch {
    return false;
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
