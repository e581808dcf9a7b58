/**
 * Advisory locks on a text key. Transaction-scoped ones make concurrent conditional writes with
 * the same criteria serialize, so "create if none exists" cannot create two; `oneNodeAtATime`
 * keeps a periodic job from running on two nodes at once.
 */
import type { Db } from './db.ts';

export async function lockKey(db: Db, key: string): Promise<void> {
  await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
}

/** What `oneNodeAtATime` did: ran the job, or left this turn to the node running it now. */
export type JobTurn<T> = { ran: true; result: T } | { ran: false };

/**
 * Runs a periodic job (a sweep) unless another node — or this one, in a run still going — is
 * running it now: a transaction takes `pg_try_advisory_xact_lock` on the job's key without
 * waiting and holds it while `run` does its work in its own transactions on other connections of
 * the pool; finding the lock taken, the turn is skipped. The lock ends with the holding
 * transaction: when the run ends, or when its node dies (the connection closes). So runs never
 * overlap, and the next one, on whichever node, starts from what the last one committed.
 *
 * PostgreSQL only: the holder keeps one connection idle in a transaction for the run (and would
 * be ended by an `idle_in_transaction_session_timeout` shorter than a run). On the embedded
 * database one process holds the database, and its one connection cannot hold the lock and run
 * the job at once: call `run` directly there.
 */
export async function oneNodeAtATime<T>(db: Db, job: string, run: () => Promise<T>): Promise<JobTurn<T>> {
  const turn = await db.tx(async (t): Promise<JobTurn<{ ok: true; value: T } | { ok: false; error: unknown }>> => {
    const { rows } = await t.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS ok', [
      `medid:job:${job}`,
    ]);
    if (!rows[0]?.ok) return { ran: false };
    // The job's own failure leaves after the holder committed: a deadlock inside the job must not
    // make the holder's transaction (and so the whole job) run again.
    try {
      return { ran: true, result: { ok: true, value: await run() } };
    } catch (error) {
      return { ran: true, result: { ok: false, error } };
    }
  });
  if (!turn.ran) return turn;
  if (!turn.result.ok) throw turn.result.error;
  return { ran: true, result: turn.result.value };
}
