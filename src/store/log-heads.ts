/**
 * SQL for the access log's signed tree heads (audit.log_head, append-only: its triggers refuse
 * UPDATE, DELETE and TRUNCATE) and for finding an AuditEvent's leaf. A head for a size already
 * stored is skipped: several nodes may sign the same size, and the first one's head stands.
 */
import type { AuditReach } from '../core/access.ts';
import type { AuditRow } from './audit.ts';
import { auditColumnsOf } from './audit.ts';
import type { Db } from './db.ts';

export interface HeadRow {
  size: number;
  root: Buffer;
  /** The C2SP checkpoint as a signed note. */
  checkpoint: string;
  /** The compact JWS (EdDSA) over {origin, size, root, time}; null only for a head medid did not sign itself. */
  jws: string | null;
  signedAt: Date;
}

interface RawHead {
  size: string | number;
  root: Uint8Array;
  checkpoint: string;
  jws: string | null;
  signed_at: Date | string;
}

const COLUMNS = 'size, root, checkpoint, jws, signed_at';

function toHead(r: RawHead): HeadRow {
  return {
    size: Number(r.size),
    root: Buffer.from(r.root),
    checkpoint: r.checkpoint,
    jws: r.jws,
    signedAt: r.signed_at instanceof Date ? r.signed_at : new Date(r.signed_at),
  };
}

/** Stores a head; false when a head of that size was stored already (by this node or another). */
export async function insertHead(db: Db, h: HeadRow): Promise<boolean> {
  const { rows } = await db.query<{ size: string | number }>(
    `INSERT INTO audit.log_head (${COLUMNS}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (size) DO NOTHING RETURNING size`,
    [h.size, h.root, h.checkpoint, h.jws, h.signedAt.toISOString()],
    'audit_log_head_insert',
  );
  return rows.length > 0;
}

/** The head of the largest size. */
export async function latestHead(db: Db): Promise<HeadRow | undefined> {
  const { rows } = await db.query<RawHead>(`SELECT ${COLUMNS} FROM audit.log_head ORDER BY size DESC LIMIT 1`, [], 'audit_log_head_latest');
  return rows[0] ? toHead(rows[0]) : undefined;
}

/** The head of one size, if one was signed. */
export async function headAt(db: Db, size: number): Promise<HeadRow | undefined> {
  const { rows } = await db.query<RawHead>(`SELECT ${COLUMNS} FROM audit.log_head WHERE size = $1`, [size], 'audit_log_head_at');
  return rows[0] ? toHead(rows[0]) : undefined;
}

/**
 * Where an AuditEvent stands in the access log: `absent` — no such event (or, with `clientId`,
 * not one within the caller's reach: the two are not told apart); `pending` — written inside a
 * transaction, waiting for its leaf; `unlogged` — recorded before the access log began;
 * `logged` — its leaf, with what rebuilds its entry (the event row, the leaf's person and seq, and
 * `prev`: the leaf hash of the person's entry before, null when that leaf is not there). One read.
 */
export type EventLeaf =
  | { state: 'absent' | 'pending' | 'unlogged' }
  | { state: 'logged'; index: number; hash: Buffer; person: string | null; pseq: number | null; prev: Buffer | null; event: AuditRow };

export async function eventLeaf(db: Db, event: number, reach: AuditReach | undefined): Promise<EventLeaf> {
  const { rows } = await db.query(
    `SELECT l.idx AS "leafIdx", l.hash AS "leafHash", l.person AS "leafPerson", l.pseq AS "leafPseq",
            (SELECT b.hash FROM audit.log_leaf b WHERE b.person = l.person AND b.pseq = l.pseq - 1) AS "prevHash",
            (o.idx IS NOT NULL OR EXISTS (SELECT 1 FROM audit.log_pending p WHERE p.event = e.seq)) AS pending, ${auditColumnsOf('e')}
     FROM audit.event e LEFT JOIN audit.log_order o ON o.event = e.seq LEFT JOIN audit.log_leaf l ON l.idx = o.idx
     WHERE e.seq = $1 AND ($2::text IS NULL OR e.client_id = $2::text) AND ($3::text IS NULL OR e.patient_id = $3::text)`,
    [event, reach?.clientId ?? null, reach?.patientId ?? null],
    'audit_log_event_leaf',
  );
  const r = rows[0];
  if (!r) return { state: 'absent' };
  const { leafIdx, leafHash, leafPerson, leafPseq, prevHash, pending, ...row } = r;
  if (leafIdx === null || leafIdx === undefined) return { state: pending === true ? 'pending' : 'unlogged' };
  const recorded = row['recorded'];
  return {
    state: 'logged',
    index: Number(leafIdx),
    hash: Buffer.from(leafHash as Uint8Array),
    person: (leafPerson as string | null) ?? null,
    pseq: leafPseq === null || leafPseq === undefined ? null : Number(leafPseq),
    prev: prevHash === null || prevHash === undefined ? null : Buffer.from(prevHash as Uint8Array),
    event: { ...row, recorded: recorded instanceof Date ? recorded.toISOString() : String(recorded) } as unknown as AuditRow,
  };
}
