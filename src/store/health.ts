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
