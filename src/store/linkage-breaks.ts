/**
 * SQL for a change that breaks linkage (migration 0012, privacy-design.md §3 case 2): the
 * person's key replaced in place — the medical IDs, identifiers and merges that name the person
 * follow by ON UPDATE CASCADE, so the old key names nobody afterwards — and the authority's
 * decision, append-only, with the old→new link only sealed to the oversight key, or not at all.
 */
import type { Db } from './db.ts';

/** Replaces a person's key; false when no person had `oldKey`. */
export async function replacePersonKey(db: Db, oldKey: Buffer, newKey: Buffer, at: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE registry.person SET kid = $2, updated_at = $3::timestamptz WHERE kid = $1`,
    [oldKey, newKey, at],
    'registry_replace_kid',
  );
  return rowCount === 1;
}

/**
 * The keys of every person merged into the one with `key`, directly or through another merged
 * person: their pseudonyms were linked to the person's by merge notices, so they change too.
 */
export async function keysMergedInto(db: Db, key: Buffer): Promise<Buffer[]> {
  const { rows } = await db.query<{ kid: Buffer }>(
    `WITH RECURSIVE m(kid) AS (
       SELECT kid FROM registry.person WHERE merged_into = $1
       UNION SELECT p.kid FROM registry.person p JOIN m ON p.merged_into = m.kid)
     SELECT kid FROM m`,
    [key],
    'registry_keys_merged_into',
  );
  return rows.map((r) => Buffer.from(r.kid));
}

/** Records the decision; returns its id. `sealedLink` is null when no link is kept. */
export async function insertLinkageBreak(
  db: Db,
  b: { patientId: string; decidedOn: string; note: string; sealedLink: string | null },
): Promise<number> {
  const { rows } = await db.query<{ id: string | number }>(
    `INSERT INTO registry.linkage_break (patient_id, decided_on, note, sealed_link) VALUES ($1, $2::date, $3, $4) RETURNING id`,
    [b.patientId, b.decidedOn, b.note, b.sealedLink],
    'registry_insert_linkage_break',
  );
  return Number(rows[0]?.id);
}
