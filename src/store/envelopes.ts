/**
 * SQL for sealed-delivery work numbers (registry.envelope_work): a work number is redeemed once.
 * Only a hash is kept, until the envelope expires; expired entries are purged now and then on
 * the way (as the client-assertion jti store does).
 */
import type { Db } from './db.ts';

/**
 * Records an envelope's work key (a hash) until `expiresAt`; false when it was already recorded
 * (a replay). `now` is the caller's clock: an entry expired by then counts as gone, purged or not
 * (every node agrees, whenever the purge last ran).
 */
export async function recordEnvelopeWork(db: Db, workHash: Buffer, expiresAt: Date, now: Date): Promise<boolean> {
  const { rows } = await db.query<{ ok: number }>(
    `INSERT INTO registry.envelope_work AS w (work_hash, expires_at) VALUES ($1, $2)
     ON CONFLICT (work_hash) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE w.expires_at < $3
     RETURNING 1 AS ok`,
    [workHash, expiresAt.toISOString(), now.toISOString()],
    'record_envelope_work',
  );
  if (Math.random() < 0.01) {
    await db.query('DELETE FROM registry.envelope_work WHERE expires_at < $1', [now.toISOString()]);
  }
  return rows.length === 1;
}
