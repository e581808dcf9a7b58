/**
 * SQL for usage metering (issue 19 item 1, R26): what an organization did in a month, read
 * from the audit log itself (audit.event) — there is no counter table, so nothing on the audit
 * hot path and no second record to disagree with. The counting rules live in audit/usage.ts;
 * this file only groups the month's events finely enough for them.
 *
 * The month is a range of `recorded` (the BRIN index on it keeps the scan to that month's
 * blocks). Refusals, writes and logins are grouped too: every event of the month is in exactly
 * one group, which is what lets the rules be reconciled with the events one by one.
 */
import { auditColumnsOf } from './audit.ts';
import type { AuditRow } from './audit.ts';
import type { Db } from './db.ts';

/** One group of a month's events: same organization, subtype, success, person-or-not and $match grades. */
export interface UsageGroup {
  orgKind: string;
  orgCode: string;
  subtype: string;
  eventType: string;
  /** outcome = 0 (the disclosure happened) */
  ok: boolean;
  /** the event names a Patient (one person disclosed) */
  person: boolean;
  /** For a successful $match: the `grades` its audit query lists (one per person returned, comma-separated). */
  grades: string | null;
  events: number;
}

/**
 * The month's events of every organization (or of one), grouped. Events of persons signed in
 * (org_kind `person`) and of unauthenticated callers belong to no organization and are left out.
 */
export async function usageGroups(db: Db, from: string, to: string, org?: { kind: string; code: string }): Promise<UsageGroup[]> {
  const { rows } = await db.query<{
    org_kind: string;
    org_code: string;
    subtype: string;
    event_type: string;
    ok: boolean;
    person: boolean;
    grades: string | null;
    events: string | number;
  }>(
    `SELECT org_kind, org_code, subtype, event_type, outcome = 0 AS ok, patient_id IS NOT NULL AS person,
            CASE WHEN subtype = '$match' AND outcome = 0
                 THEN coalesce(substring(query FROM '(?:^|&)grades=([^&]*)'), '') END AS grades,
            count(*) AS events
       FROM audit.event
      WHERE recorded >= $1::timestamptz AND recorded < $2::timestamptz
        AND org_kind IS NOT NULL AND org_code IS NOT NULL AND org_kind <> 'person'
        AND ($3::text IS NULL OR (org_kind = $3::text AND org_code = $4::text))
      GROUP BY 1, 2, 3, 4, 5, 6, 7
      ORDER BY 1, 2, 3, 4, 5, 6, 7`,
    [from, to, org?.kind ?? null, org?.code ?? null],
  );
  return rows.map((r) => ({
    orgKind: r.org_kind,
    orgCode: r.org_code,
    subtype: r.subtype,
    eventType: r.event_type,
    ok: r.ok,
    person: r.person,
    grades: r.grades,
    events: Number(r.events),
  }));
}

/** The sequence numbers the month's events lie between (undefined: none). */
export async function usageSeqRange(db: Db, from: string, to: string): Promise<{ first: number; last: number } | undefined> {
  const { rows } = await db.query<{ first: string | number | null; last: string | number | null }>(
    `SELECT min(seq) AS first, max(seq) AS last FROM audit.event WHERE recorded >= $1::timestamptz AND recorded < $2::timestamptz`,
    [from, to],
  );
  const r = rows[0];
  return r?.first === null || r?.first === undefined ? undefined : { first: Number(r.first), last: Number(r.last) };
}

/** The month's events after `after`, up to `last`, by seq — whole rows, as the AuditEvent API renders them. */
export async function usageEventsAfter(
  db: Db,
  from: string,
  to: string,
  after: number,
  last: number,
  limit: number,
): Promise<(AuditRow & { seq: number })[]> {
  const { rows } = await db.query<AuditRow & { seq: number | string }>(
    `SELECT e.seq, ${auditColumnsOf('e')} FROM audit.event e
      WHERE e.seq > $3 AND e.seq <= $4 AND e.recorded >= $1::timestamptz AND e.recorded < $2::timestamptz
      ORDER BY e.seq LIMIT $5`,
    [from, to, after, last, limit],
  );
  return rows.map((r) => {
    const recorded = r.recorded as unknown;
    return { ...r, seq: Number(r.seq), recorded: recorded instanceof Date ? recorded.toISOString() : String(recorded) };
  });
}

/** Runs `fn` on one snapshot (REPEATABLE READ, read only): the report and its recount see the same events. */
export function onUsageSnapshot<T>(db: Db, fn: (db: Db) => Promise<T>): Promise<T> {
  return db.tx(async (t) => {
    await t.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    return fn(t);
  });
}
