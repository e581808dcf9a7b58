/**
 * The access log read back whole, for `medid log verify` (audit/log-audit.ts): leaves with the
 * events they name, the stored subtrees and the signed heads, every one in keyset pages (one page
 * of rows in memory at a time), and what the log should hold but does not. Plain reads of what is stored: nothing here trusts a hash medid computed.
 */
import type { AuditRow } from './audit.ts';
import { auditColumnsOf } from './audit.ts';
import type { Db } from './db.ts';

/** A leaf as stored, with the event row it names (`event` undefined when that row is gone). */
export interface StoredLeaf {
  idx: number;
  /** The AuditEvent id placed at the leaf's index (audit.log_order); null when its place is gone. */
  eventId: number | null;
  hash: Buffer;
  /** The entry's field fingerprints (null for leaves written before they were kept). */
  fields: Buffer | null;
  person: string | null;
  pseq: number | null;
  event: AuditRow | undefined;
}

/** A stored subtree above the leaves (audit.log_node). */
export interface StoredNode {
  level: number;
  idx: number;
  hash: Buffer;
}

/** A stored tree head (audit.log_head). */
export interface StoredHead {
  size: number;
  root: Buffer;
  checkpoint: string;
  /** The compact JWS (EdDSA) over {origin, size, root, time}. */
  jws: string;
  signedAt: string;
}

const num = (v: unknown): number => Number(v);
const bytes = (v: unknown): Buffer => Buffer.from(v as Uint8Array);
const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));

/**
 * Runs `fn` on one snapshot of the database (REPEATABLE READ, read only): a log still growing
 * under a running server is checked as it stood when the check began.
 */
export function onSnapshot<T>(db: Db, fn: (db: Db) => Promise<T>): Promise<T> {
  return db.tx(async (t) => {
    await t.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    return fn(t);
  });
}

/**
 * Leaves after index `after` (−1: from the first), by index, each with the event placed there and
 * its row, if there are. The bound is repeated on the places: the planner does not carry it across
 * the outer join, and a merge join would scan every place from index 0 for every page.
 */
export async function leavesAfter(db: Db, after: number, limit: number): Promise<StoredLeaf[]> {
  const { rows } = await db.query(
    `SELECT l.idx AS "leafIdx", o.event AS "leafEvent", l.hash AS "leafHash", l.fields AS "leafFields", l.person AS "leafPerson",
            l.pseq AS "leafPseq", e.seq AS "eventSeq", ${auditColumnsOf('e')}
     FROM audit.log_leaf l LEFT JOIN audit.log_order o ON o.idx = l.idx AND o.idx > $1 LEFT JOIN audit.event e ON e.seq = o.event
     WHERE l.idx > $1 ORDER BY l.idx LIMIT $2`,
    [after, limit],
    'log_verify_leaves',
  );
  return rows.map((r) => {
    const { leafIdx, leafEvent, leafHash, leafFields, leafPerson, leafPseq, eventSeq, ...event } = r;
    return {
      idx: num(leafIdx),
      eventId: leafEvent === null || leafEvent === undefined ? null : num(leafEvent),
      hash: bytes(leafHash),
      fields: leafFields === null || leafFields === undefined ? null : bytes(leafFields),
      person: (leafPerson as string | null) ?? null,
      pseq: leafPseq === null || leafPseq === undefined ? null : num(leafPseq),
      event:
        eventSeq === null || eventSeq === undefined ? undefined : ({ ...event, recorded: iso(event['recorded']) } as unknown as AuditRow),
    };
  });
}

/** Stored subtrees after (level, idx), in (level, idx) order. */
export async function nodesAfter(db: Db, after: { level: number; idx: number }, limit: number): Promise<StoredNode[]> {
  const { rows } = await db.query<{ level: number; idx: unknown; hash: unknown }>(
    `SELECT level, idx, hash FROM audit.log_node WHERE (level, idx) > ($1::int2, $2::int8) ORDER BY level, idx LIMIT $3`,
    [after.level, after.idx, limit],
    'log_verify_nodes',
  );
  return rows.map((r) => ({ level: num(r.level), idx: num(r.idx), hash: bytes(r.hash) }));
}

/** Stored heads larger than `after`, by size. */
export async function headsAfter(db: Db, after: number, limit: number): Promise<StoredHead[]> {
  const { rows } = await db.query<{ size: unknown; root: unknown; checkpoint: string; jws: string; signed_at: unknown }>(
    `SELECT size, root, checkpoint, jws, signed_at FROM audit.log_head WHERE size > $1 ORDER BY size LIMIT $2`,
    [after, limit],
    'log_verify_heads',
  );
  return rows.map((r) => ({ size: num(r.size), root: bytes(r.root), checkpoint: r.checkpoint, jws: r.jws, signedAt: iso(r.signed_at) }));
}

/**
 * Events from `fromEvent` on that have no place in the log (hashed or not) and are not waiting in
 * audit.log_pending: how many, and the first `limit` of their ids.
 */
export async function unloggedEvents(db: Db, fromEvent: number, limit: number): Promise<{ count: number; ids: number[] }> {
  const { rows } = await db.query<{ seq: unknown; n: unknown }>(
    `SELECT e.seq, count(*) OVER () AS n FROM audit.event e
     WHERE e.seq >= $1
       AND NOT EXISTS (SELECT 1 FROM audit.log_order o WHERE o.event = e.seq)
       AND NOT EXISTS (SELECT 1 FROM audit.log_pending p WHERE p.event = e.seq)
     ORDER BY e.seq LIMIT $2`,
    [fromEvent, limit],
    'log_verify_unlogged',
  );
  return { count: rows.length === 0 ? 0 : num(rows[0]?.n), ids: rows.map((r) => num(r.seq)) };
}

/**
 * The queue of events waiting for their places: its length, and entries that cannot be right —
 * an event that is gone, or one that has its place already (each: how many, and the first `limit`).
 */
export async function pendingState(
  db: Db,
  limit: number,
): Promise<{ waiting: number; gone: { count: number; ids: number[] }; logged: { count: number; ids: number[] } }> {
  const waiting = await db.query<{ n: unknown }>(`SELECT count(*) AS n FROM audit.log_pending`, [], 'log_verify_pending');
  const some = async (condition: string, name: string): Promise<{ count: number; ids: number[] }> => {
    const { rows } = await db.query<{ event: unknown; n: unknown }>(
      `SELECT p.event, count(*) OVER () AS n FROM audit.log_pending p WHERE ${condition} ORDER BY p.event LIMIT $1`,
      [limit],
      name,
    );
    return { count: rows.length === 0 ? 0 : num(rows[0]?.n), ids: rows.map((r) => num(r.event)) };
  };
  return {
    waiting: num(waiting.rows[0]?.n ?? 0),
    gone: await some('NOT EXISTS (SELECT 1 FROM audit.event e WHERE e.seq = p.event)', 'log_verify_pending_gone'),
    logged: await some('EXISTS (SELECT 1 FROM audit.log_order o WHERE o.event = p.event)', 'log_verify_pending_logged'),
  };
}

/**
 * Places from leaf index `size` on (given, not hashed yet: the appender hashes them a few
 * milliseconds after they commit): how many, whether they run size…size+n−1 without a gap, and
 * those whose event row is gone (how many, the first `limit` as [leaf, event]).
 */
export async function unhashedPlaces(
  db: Db,
  size: number,
  limit: number,
): Promise<{ count: number; end: number; gone: { count: number; places: [number, number][] } }> {
  const all = await db.query<{ n: unknown; end: unknown }>(
    `SELECT count(*) AS n, coalesce(max(idx) + 1, $1) AS end FROM audit.log_order WHERE idx >= $1`,
    [size],
    'log_verify_unhashed',
  );
  const { rows } = await db.query<{ idx: unknown; event: unknown; n: unknown }>(
    `SELECT o.idx, o.event, count(*) OVER () AS n FROM audit.log_order o
     WHERE o.idx >= $1 AND NOT EXISTS (SELECT 1 FROM audit.event e WHERE e.seq = o.event) ORDER BY o.idx LIMIT $2`,
    [size, limit],
    'log_verify_unhashed_gone',
  );
  return {
    count: num(all.rows[0]?.n ?? 0),
    end: num(all.rows[0]?.end ?? size),
    gone: { count: rows.length === 0 ? 0 : num(rows[0]?.n), places: rows.map((r) => [num(r.idx), num(r.event)]) },
  };
}
