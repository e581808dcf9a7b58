/**
 * Transaction-scoped advisory locks on a text key: concurrent conditional writes with the same
 * criteria serialize, so "create if none exists" cannot create two.
 */
import type { Db } from './db.ts';

export async function lockKey(db: Db, key: string): Promise<void> {
  await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
}
