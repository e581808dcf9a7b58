/** SQL for merges of duplicate persons (registry.merge) and for held reviews (registry.review). */
import type { Db } from './db.ts';

export interface MergeRow {
  id: number;
  sourceKid: Buffer;
  targetKid: Buffer;
  sourceVersion: number;
  targetVersion: number;
  targetResult: number;
  moved: { system: string; value: string }[];
  movedMyNumber: boolean;
  undoUntil: Date;
}

interface MergeDbRow {
  id: string | number; source_kid: Buffer; target_kid: Buffer; source_version: number; target_version: number;
  target_result: number; moved: { system: string; value: string }[]; moved_my_number: boolean; undo_until: Date;
}

const toMerge = (r: MergeDbRow): MergeRow => ({
  id: Number(r.id), sourceKid: Buffer.from(r.source_kid), targetKid: Buffer.from(r.target_kid), sourceVersion: r.source_version,
  targetVersion: r.target_version, targetResult: r.target_result, moved: r.moved, movedMyNumber: r.moved_my_number, undoUntil: r.undo_until,
});

export async function insertMerge(db: Db, m: Omit<MergeRow, 'id'> & { mergedAt: string }): Promise<number> {
  const { rows } = await db.query<{ id: string | number }>(
    `INSERT INTO registry.merge (source_kid, target_kid, source_version, target_version, target_result, moved, moved_my_number, merged_at, undo_until)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::timestamptz, $9::timestamptz) RETURNING id`,
    [m.sourceKid, m.targetKid, m.sourceVersion, m.targetVersion, m.targetResult, JSON.stringify(m.moved), m.movedMyNumber, m.mergedAt, m.undoUntil.toISOString()],
  );
  return Number(rows[0]?.id);
}

/** The open (not undone) merge that retired `sourceKid`, locked for an undo. */
export async function openMergeOf(db: Db, sourceKid: Buffer): Promise<MergeRow | undefined> {
  const { rows } = await db.query<MergeDbRow>(
    `SELECT id, source_kid, target_kid, source_version, target_version, target_result, moved, moved_my_number, undo_until
     FROM registry.merge WHERE source_kid = $1 AND undone_at IS NULL FOR UPDATE`, [sourceKid],
  );
  return rows[0] ? toMerge(rows[0]) : undefined;
}

export async function markMergeUndone(db: Db, id: number, at: string): Promise<void> {
  await db.query(`UPDATE registry.merge SET undone_at = $2::timestamptz WHERE id = $1`, [id, at]);
}

/** Merges whose undo window closed before `at` and are not final yet. */
export async function mergesToFinalize(db: Db, at: string, limit: number): Promise<MergeRow[]> {
  const { rows } = await db.query<MergeDbRow>(
    `SELECT id, source_kid, target_kid, source_version, target_version, target_result, moved, moved_my_number, undo_until
     FROM registry.merge WHERE undone_at IS NULL AND finalized_at IS NULL AND undo_until <= $1::timestamptz ORDER BY id LIMIT $2`, [at, limit],
  );
  return rows.map(toMerge);
}

export async function markMergeFinal(db: Db, id: number, at: string): Promise<void> {
  await db.query(`UPDATE registry.merge SET finalized_at = $2::timestamptz WHERE id = $1`, [id, at]);
}

/** Moves a My Number binding between patients (merge and its undo). */
export async function moveMyNumber(db: Db, fromPatient: string, toPatient: string): Promise<number> {
  const { rowCount } = await db.query(`UPDATE registry.my_number SET patient_id = $2 WHERE patient_id = $1`, [fromPatient, toPatient]);
  return rowCount;
}

export async function hasMyNumber(db: Db, patientId: string): Promise<boolean> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM registry.my_number WHERE patient_id = $1`, [patientId]);
  return (rows[0]?.n ?? 0) > 0;
}

/** A held review for this record, if one was already opened. */
export async function reviewByKey(db: Db, recordKey: string): Promise<string | undefined> {
  const { rows } = await db.query<{ task_id: string }>(`SELECT task_id FROM registry.review WHERE record_key = $1`, [recordKey], 'registry_review_by_key');
  return rows[0]?.task_id;
}

export async function insertReview(db: Db, taskId: string, recordKey: string, mac: Buffer | undefined): Promise<void> {
  await db.query(`INSERT INTO registry.review (task_id, record_key, mn_mac) VALUES ($1, $2, $3)`, [taskId, recordKey, mac ?? null], 'registry_insert_review');
}
