/** SQL for registrations held for review (registry.review): one Task per distinct record, found again when it is re-submitted. */
import type { Db } from './db.ts';

/** A held review for this record, if one was already opened. */
export async function reviewByKey(db: Db, recordKey: string): Promise<string | undefined> {
  const { rows } = await db.query<{ task_id: string }>(
    `SELECT task_id FROM registry.review WHERE record_key = $1`,
    [recordKey],
    'registry_review_by_key',
  );
  return rows[0]?.task_id;
}

export async function insertReview(db: Db, taskId: string, recordKey: string, mac: Buffer | undefined): Promise<void> {
  await db.query(
    `INSERT INTO registry.review (task_id, record_key, mn_mac) VALUES ($1, $2, $3)`,
    [taskId, recordKey, mac ?? null],
    'registry_insert_review',
  );
}
