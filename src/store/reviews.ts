/**
 * SQL for registrations held for review (registry.review, migrations 0004 and 0019): one Task per
 * distinct record, found again when it is re-submitted, with the held My Number MAC until the
 * review is resolved — once.
 */
import type { Db } from './db.ts';

export interface ReviewRow {
  taskId: string;
  /** The held record's My Number MAC (never the digits), until a resolution binds it. */
  mac: Buffer | undefined;
  /** The key version the MAC was made with (null for reviews held before it was recorded). */
  macVersion: number | null;
  resolvedAt: string | null;
  resolvedPatient: string | null;
  resolution: 'person' | 'new-person' | null;
}

interface ReviewDbRow {
  task_id: string;
  mn_mac: Buffer | null;
  mn_mac_version: number | null;
  resolved_at: Date | string | null;
  resolved_patient: string | null;
  resolution: 'person' | 'new-person' | null;
}

const COLS = 'task_id, mn_mac, mn_mac_version, resolved_at, resolved_patient, resolution';

const toReview = (r: ReviewDbRow): ReviewRow => ({
  taskId: r.task_id,
  mac: r.mn_mac ? Buffer.from(r.mn_mac) : undefined,
  macVersion: r.mn_mac_version,
  resolvedAt: r.resolved_at === null ? null : new Date(r.resolved_at).toISOString(),
  resolvedPatient: r.resolved_patient,
  resolution: r.resolution,
});

/** A held review for this record, if one was already opened (resolved or not). */
export async function reviewByKey(db: Db, recordKey: string): Promise<ReviewRow | undefined> {
  const { rows } = await db.query<ReviewDbRow>(
    `SELECT ${COLS} FROM registry.review WHERE record_key = $1`,
    [recordKey],
    'registry_review_by_key',
  );
  return rows[0] ? toReview(rows[0]) : undefined;
}

export async function insertReview(
  db: Db,
  taskId: string,
  recordKey: string,
  mac: { mac: Buffer; version: number } | undefined,
): Promise<void> {
  await db.query(
    `INSERT INTO registry.review (task_id, record_key, mn_mac, mn_mac_version) VALUES ($1, $2, $3, $4)`,
    [taskId, recordKey, mac?.mac ?? null, mac?.version ?? null],
    'registry_insert_review',
  );
}

/** The review held as this Task, locked until the transaction ends: two resolutions of one Task serialize. */
export async function lockReview(db: Db, taskId: string): Promise<ReviewRow | undefined> {
  const { rows } = await db.query<ReviewDbRow>(
    `SELECT ${COLS} FROM registry.review WHERE task_id = $1 FOR UPDATE`,
    [taskId],
    'registry_lock_review',
  );
  return rows[0] ? toReview(rows[0]) : undefined;
}

/**
 * Records the decision and forgets the held MAC (now bound to the person in registry.my_number).
 * False when the review was resolved already.
 */
export async function markReviewResolved(
  db: Db,
  taskId: string,
  d: { patientId: string; resolution: 'person' | 'new-person'; at: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE registry.review SET resolved_at = $2::timestamptz, resolved_patient = $3, resolution = $4, mn_mac = NULL, mn_mac_version = NULL
     WHERE task_id = $1 AND resolved_at IS NULL`,
    [taskId, d.at, d.patientId, d.resolution],
    'registry_resolve_review',
  );
  return rowCount === 1;
}
