/** SQL for linkage orders (pseudonym.linkage_order, _approval, _batch; migration 0010). */
import type { Db } from './db.ts';

export type LinkageStatus = 'requested' | 'active' | 'closed' | 'revoked' | 'expired';

export interface LinkageOrderRow {
  id: string;
  canonical: string;
  orderHash: string;
  domains: string[];
  periodStart: string;
  periodEnd: string;
  requestedBy: string;
  status: LinkageStatus;
  /** Present only while the order is active. */
  salt: Buffer | null;
  approvals: { officer: string; approvedAt: string }[];
}

export async function insertLinkageOrder(
  db: Db,
  o: {
    id: string;
    canonical: string;
    orderHash: string;
    domains: string[];
    periodStart: string;
    periodEnd: string;
    requestedBy: string;
    at: string;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO pseudonym.linkage_order (id, canonical, order_hash, domains, period_start, period_end, requested_by, filed_at)
     VALUES ($1, $2, $3, $4::text[], $5::date, $6::date, $7, $8::timestamptz)`,
    [o.id, o.canonical, o.orderHash, o.domains, o.periodStart, o.periodEnd, o.requestedBy, o.at],
  );
}

/** The order (locked for update inside a transaction when `lock`), with its approvals. */
export async function readLinkageOrder(db: Db, id: string, lock = false): Promise<LinkageOrderRow | undefined> {
  const { rows } = await db.query<{
    id: string;
    canonical: string;
    order_hash: string;
    domains: string[];
    ps: string;
    pe: string;
    requested_by: string;
    status: LinkageStatus;
    salt: Buffer | null;
  }>(
    `SELECT id, canonical, order_hash, domains, to_char(period_start, 'YYYY-MM-DD') AS ps, to_char(period_end, 'YYYY-MM-DD') AS pe,
       requested_by, status, salt
     FROM pseudonym.linkage_order WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  const r = rows[0];
  if (!r) return undefined;
  const approvals = await db.query<{ officer: string; at: string }>(
    `SELECT officer, to_char(approved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at FROM pseudonym.linkage_approval WHERE order_id = $1 ORDER BY approved_at, officer`,
    [id],
  );
  return {
    id: r.id,
    canonical: r.canonical,
    orderHash: r.order_hash,
    domains: r.domains,
    periodStart: r.ps,
    periodEnd: r.pe,
    requestedBy: r.requested_by,
    status: r.status,
    salt: r.salt ? Buffer.from(r.salt) : null,
    approvals: approvals.rows.map((a) => ({ officer: a.officer, approvedAt: a.at })),
  };
}

export async function insertLinkageApproval(db: Db, a: { orderId: string; officer: string; jws: string; at: string }): Promise<void> {
  await db.query(`INSERT INTO pseudonym.linkage_approval (order_id, officer, jws, approved_at) VALUES ($1, $2, $3, $4::timestamptz)`, [
    a.orderId,
    a.officer,
    a.jws,
    a.at,
  ]);
}

export async function activateLinkageOrder(db: Db, id: string, salt: Buffer, at: string): Promise<void> {
  await db.query(`UPDATE pseudonym.linkage_order SET status = 'active', salt = $2, activated_at = $3::timestamptz WHERE id = $1`, [
    id,
    salt,
    at,
  ]);
}

/** Ends an order: its salt is destroyed in the same statement. */
export async function endLinkageOrder(db: Db, id: string, status: 'closed' | 'revoked' | 'expired', at: string): Promise<void> {
  await db.query(`UPDATE pseudonym.linkage_order SET status = $2, salt = NULL, ended_at = $3::timestamptz WHERE id = $1`, [id, status, at]);
}

/**
 * Rewrites the table's pages so the destroyed salts' old row versions are gone from the heap
 * (autovacuum may be off, and a dead row version still holds the bytes). Outside a transaction.
 */
export async function purgeEndedSalts(db: Db): Promise<void> {
  await db.query('VACUUM pseudonym.linkage_order');
}

/** Active orders whose period ended before `day`. */
export async function expiredLinkageOrders(db: Db, day: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM pseudonym.linkage_order WHERE status IN ('requested', 'active') AND period_end < $1::date`,
    [day],
  );
  return rows.map((r) => r.id);
}

export async function insertLinkageBatch(
  db: Db,
  b: { orderId: string; domain: string; submitted: number; converted: number; at: string },
): Promise<void> {
  await db.query(
    `INSERT INTO pseudonym.linkage_batch (order_id, domain, submitted, converted, at) VALUES ($1, $2, $3, $4, $5::timestamptz)`,
    [b.orderId, b.domain, b.submitted, b.converted, b.at],
  );
}
