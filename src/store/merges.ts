/** SQL for merges of duplicate persons (registry.merge): who was merged into whom, what moved, until when it can be undone. */
import type { Db } from './db.ts';

export interface MergeRow {
  id: number;
  /** Person keys (KID) of the merged-away person and of the survivor. */
  sourcePersonKey: Buffer;
  targetPersonKey: Buffer;
  sourceVersion: number;
  targetVersion: number;
  targetResult: number;
  moved: { system: string; value: string }[];
  movedMyNumber: boolean;
  undoUntil: Date;
}

interface MergeDbRow {
  id: string | number;
  source_kid: Buffer;
  target_kid: Buffer;
  source_version: number;
  target_version: number;
  target_result: number;
  moved: { system: string; value: string }[];
  moved_my_number: boolean;
  undo_until: Date;
}

const toMerge = (r: MergeDbRow): MergeRow => ({
  id: Number(r.id),
  sourcePersonKey: Buffer.from(r.source_kid),
  targetPersonKey: Buffer.from(r.target_kid),
  sourceVersion: r.source_version,
  targetVersion: r.target_version,
  targetResult: r.target_result,
  moved: r.moved,
  movedMyNumber: r.moved_my_number,
  undoUntil: r.undo_until,
});

export async function insertMerge(db: Db, m: Omit<MergeRow, 'id'> & { mergedAt: string }): Promise<number> {
  const { rows } = await db.query<{ id: string | number }>(
    `INSERT INTO registry.merge (source_kid, target_kid, source_version, target_version, target_result, moved, moved_my_number, merged_at, undo_until)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::timestamptz, $9::timestamptz) RETURNING id`,
    [
      m.sourcePersonKey,
      m.targetPersonKey,
      m.sourceVersion,
      m.targetVersion,
      m.targetResult,
      JSON.stringify(m.moved),
      m.movedMyNumber,
      m.mergedAt,
      m.undoUntil.toISOString(),
    ],
  );
  return Number(rows[0]?.id);
}

/** The open (not undone) merge that retired `sourcePersonKey`, locked for an undo. */
export async function openMergeOf(db: Db, sourcePersonKey: Buffer): Promise<MergeRow | undefined> {
  const { rows } = await db.query<MergeDbRow>(
    `SELECT id, source_kid, target_kid, source_version, target_version, target_result, moved, moved_my_number, undo_until
     FROM registry.merge WHERE source_kid = $1 AND undone_at IS NULL FOR UPDATE`,
    [sourcePersonKey],
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
     FROM registry.merge WHERE undone_at IS NULL AND finalized_at IS NULL AND undo_until <= $1::timestamptz ORDER BY id LIMIT $2`,
    [at, limit],
  );
  return rows.map(toMerge);
}

export async function markMergeFinal(db: Db, id: number, at: string): Promise<void> {
  await db.query(`UPDATE registry.merge SET finalized_at = $2::timestamptz WHERE id = $1`, [id, at]);
}
