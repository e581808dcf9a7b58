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
 * Records which medical IDs these Patients now carry. `replaced`: Patients that existed before
 * (updates, deletions), whose earlier rows go first; new Patients have none, so a bulk load is
 * one INSERT. Returns the IDs refused — carried by another Patient, or not issued to this
 * Patient's person: the caller refuses the write.
 */
export async function carryMedicalIds(
  db: Db,
  replaced: readonly string[],
  carried: readonly { mid: string; patientId: string }[],
): Promise<string[]> {
  if (replaced.length > 0) {
    // One row per Patient and ID: few, found by the patient_id index.
    await db.query(
      `DELETE FROM registry.patient_medical_id WHERE patient_id = ANY($1::text[]) AND NOT (mid = ANY($2::text[]))`,
      [[...replaced], carried.map((c) => c.mid)],
      'uncarry_medical_ids',
    );
  }
  if (carried.length === 0) return [];
  // Only an ID issued to the Patient's own person goes in; an ID this Patient already carries
  // conflicts with itself, and DO UPDATE (a no-op) keeps it. Whatever is not returned is refused.
  const { rows } = await db.query<{ mid: string }>(
    `INSERT INTO registry.patient_medical_id (mid, patient_id)
     SELECT w.mid, w.patient_id FROM unnest($1::text[], $2::text[]) AS w(mid, patient_id)
     WHERE EXISTS (SELECT 1 FROM registry.medical_id m JOIN registry.person p ON p.kid = m.kid WHERE m.mid = w.mid AND p.patient_id = w.patient_id)
     ON CONFLICT (mid) DO UPDATE SET patient_id = EXCLUDED.patient_id WHERE registry.patient_medical_id.patient_id = EXCLUDED.patient_id
     RETURNING mid`,
    [carried.map((c) => c.mid), carried.map((c) => c.patientId)],
    'carry_medical_ids',
  );
  const kept = new Set(rows.map((r) => r.mid));
  return carried.map((c) => c.mid).filter((m) => !kept.has(m));
}
