/**
 * SQL for the access policy's own rows: the compiled consent rules, break-the-glass grants, and
 * which Patient carries which medical ID (the registry's uniqueness, in the database).
 */
import type { Db } from './db.ts';
import { statementNames } from './prepared.ts';

export interface ConsentRuleRow {
  consentId: string;
  patientId: string;
  effect: 'permit' | 'deny';
  actor: string | null;
  purposes: string[];
  classes: string[];
  periodStart: string | null;
  periodEnd: string | null;
}

/** Replaces the rules of these Consents with `rules` (one statement). */
export async function replaceConsentRules(db: Db, consentIds: readonly string[], rules: readonly ConsentRuleRow[]): Promise<void> {
  if (consentIds.length === 0) return;
  const text = `WITH d AS (DELETE FROM privacy.consent_rule WHERE consent_id = ANY($1::text[]))
    INSERT INTO privacy.consent_rule (consent_id, patient_id, effect, actor, purposes, classes, period_start, period_end)
    SELECT r->>'consentId', r->>'patientId', r->>'effect', r->>'actor',
      ARRAY(SELECT jsonb_array_elements_text(r->'purposes')), ARRAY(SELECT jsonb_array_elements_text(r->'classes')),
      (r->>'periodStart')::date, (r->>'periodEnd')::date
    FROM jsonb_array_elements($2::jsonb) AS r`;
  await db.query(text, [[...consentIds], JSON.stringify(rules)], statementNames.nameFor(text));
}

export interface BtgGrantRow {
  id: number;
  patientId: string;
  actor: string;
  clientId: string;
  reason: string;
  grantedAt: string;
  expiresAt: string;
}

interface RawGrant {
  id: number | string;
  patient_id: string;
  actor: string;
  client_id: string;
  reason: string;
  granted_at: Date;
  expires_at: Date;
}
const toGrant = (r: RawGrant): BtgGrantRow => ({
  id: Number(r.id),
  patientId: r.patient_id,
  actor: r.actor,
  clientId: r.client_id,
  reason: r.reason,
  grantedAt: new Date(r.granted_at).toISOString(),
  expiresAt: new Date(r.expires_at).toISOString(),
});

export async function insertBtgGrant(db: Db, g: Omit<BtgGrantRow, 'id'>): Promise<BtgGrantRow> {
  const { rows } = await db.query<RawGrant>(
    `INSERT INTO privacy.btg_grant (patient_id, actor, client_id, reason, granted_at, expires_at)
     VALUES ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz) RETURNING *`,
    [g.patientId, g.actor, g.clientId, g.reason, g.grantedAt, g.expiresAt],
    'insert_btg_grant',
  );
  return toGrant(rows[0]);
}

/** Grants made in [from, to), oldest first (the authority's daily report). */
export async function btgGrantsBetween(db: Db, from: string, to: string): Promise<BtgGrantRow[]> {
  const { rows } = await db.query<RawGrant>(
    `SELECT * FROM privacy.btg_grant WHERE granted_at >= $1::timestamptz AND granted_at < $2::timestamptz ORDER BY granted_at, id`,
    [from, to],
    'btg_grants_between',
  );
  return rows.map(toGrant);
}

/**
 * Records which medical IDs these Patients now carry (replacing what they carried). Returns
 * the IDs that another Patient already carries: the caller refuses the write.
 */
export async function carryMedicalIds(
  db: Db,
  patientIds: readonly string[],
  carried: readonly { mid: string; patientId: string }[],
): Promise<string[]> {
  if (patientIds.length === 0) return [];
  const text = `WITH want AS (SELECT * FROM unnest($2::text[], $3::text[]) AS w(mid, patient_id)),
    d AS (DELETE FROM registry.patient_medical_id c WHERE c.patient_id = ANY($1::text[])
      AND NOT EXISTS (SELECT 1 FROM want w WHERE w.mid = c.mid AND w.patient_id = c.patient_id)),
    i AS (INSERT INTO registry.patient_medical_id (mid, patient_id) SELECT mid, patient_id FROM want
      ON CONFLICT (mid) DO NOTHING RETURNING mid)
    SELECT w.mid FROM want w WHERE NOT EXISTS (SELECT 1 FROM i WHERE i.mid = w.mid)
      AND NOT EXISTS (SELECT 1 FROM registry.patient_medical_id c WHERE c.mid = w.mid AND c.patient_id = w.patient_id)`;
  const { rows } = await db.query<{ mid: string }>(
    text,
    [[...patientIds], carried.map((c) => c.mid), carried.map((c) => c.patientId)],
    statementNames.nameFor(text),
  );
  return rows.map((r) => r.mid);
}
