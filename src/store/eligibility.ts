/**
 * SQL for online eligibility confirmation, service-use history and record location: coverages
 * by the card's numbers (with their beneficiary's birth date and other coverages, in one round
 * trip), the service-use upsert, and the directory lookups record location needs.
 */
import type { Db } from './db.ts';

export interface CoverageRow {
  /** 'card': matched the card's numbers; 'other': another coverage of the same beneficiary. */
  kind: 'card' | 'other';
  id: string;
  patientId: string;
  content: string;
}

/**
 * Coverages whose insured member id is the card's (`exact`), or, without 枝番, any with that
 * 保険者番号:記号:番号 (`prefix`, e.g. `06130009:12:3456:`); plus every other coverage of their
 * beneficiaries and the beneficiaries' birth dates.
 */
export async function coveragesByCard(db: Db, system: string, q: { exact: string } | { prefix: string }): Promise<{ coverages: CoverageRow[]; birthDates: Map<string, string> }> {
  const byExact = 'exact' in q;
  if (!byExact && !q.prefix.endsWith(':')) throw new Error('a card prefix ends with the colon before 枝番');
  const { rows } = await db.query<{ kind: 'card' | 'other' | 'birth'; id: string; patient_id: string; content: string | null }>(
    `WITH hit AS (
       SELECT r.seq, r.id, r.content, ref.target_id AS patient_id FROM fhir.sp_token t
       JOIN fhir.resource r ON r.seq = t.res AND NOT r.deleted
       JOIN fhir.sp_reference ref ON ref.res = r.seq AND ref.param = 'beneficiary' AND ref.target_type = 'Patient'
       WHERE t.resource_type = 'Coverage' AND t.param = 'identifier' AND t.system = $1
         AND t.code >= $2 AND t.code < $3)
     SELECT 'card' AS kind, id, patient_id, content FROM hit
     UNION ALL
     -- LATERAL: lookups driven from the few hits, by index (a join or IN (subquery) let the
     -- planner scan every Coverage or every person).
     SELECT 'other', o.id, h.patient_id, o.content FROM (SELECT DISTINCT patient_id FROM hit) h
       CROSS JOIN LATERAL (SELECT r.seq, r.id, r.content FROM fhir.sp_reference ref JOIN fhir.resource r ON r.seq = ref.res AND NOT r.deleted
                           WHERE ref.resource_type = 'Coverage' AND ref.param = 'beneficiary' AND ref.target_id = h.patient_id AND ref.target_type = 'Patient') o
       WHERE o.seq NOT IN (SELECT seq FROM hit)
     UNION ALL
     SELECT 'birth', '', h.patient_id, b.birth FROM (SELECT DISTINCT patient_id FROM hit) h
       -- target_id is C-collated; features' key is not: compare in its collation to use its index.
       CROSS JOIN LATERAL (SELECT f.features->>'b' AS birth FROM mpi.features f WHERE f.patient_id = h.patient_id COLLATE "default") b`,
    // An index range on the C-collated code: exactly the value, or every value with the prefix
    // (the prefix ends in ':', and ';' is the next byte; U+0001 sorts right after the exact value).
    [system, byExact ? q.exact : q.prefix, byExact ? `${q.exact}\u0001` : `${q.prefix.slice(0, -1)};`], 'eligibility_by_card',
  );
  const coverages: CoverageRow[] = [];
  const birthDates = new Map<string, string>();
  for (const r of rows) {
    if (r.kind === 'birth') { if (r.content) birthDates.set(r.patient_id, r.content); } else coverages.push({ kind: r.kind, id: r.id, patientId: r.patient_id, content: r.content ?? '{}' });
  }
  return { coverages, birthDates };
}

/** That an organization served a person on a day (R9), recorded by a valid confirmation. */
export interface ServiceUse {
  patientId: string;
  /** 医療機関コード. */
  orgCode: string;
  /** YYYY-MM-DD. */
  day: string;
}

/**
 * The upsert of a batch of service uses as JSON parameter `$n`: one row per person and
 * organization, the period stretched to the new days and the visits counted. Several uses of
 * one pair are folded first (an upsert may touch a row only once), in key order so that two
 * concurrent batches lock rows in the same order.
 */
export function serviceUseUpsert(param: number): string {
  return `INSERT INTO registry.service_use (patient_id, org_code, first_day, last_day, visits)
     SELECT u."patientId", u."orgCode", min(u.day), max(u.day), count(*)
     FROM json_to_recordset($${param}::json) AS u("patientId" text, "orgCode" text, day date)
     GROUP BY 1, 2 ORDER BY 1, 2
     ON CONFLICT (patient_id, org_code) DO UPDATE SET first_day = least(registry.service_use.first_day, EXCLUDED.first_day),
       last_day = greatest(registry.service_use.last_day, EXCLUDED.last_day), visits = registry.service_use.visits + EXCLUDED.visits`;
}

/** Records service uses on their own (the audit log normally writes them with its events). */
export async function recordServiceUses(db: Db, uses: readonly ServiceUse[]): Promise<void> {
  if (uses.length === 0) return;
  await db.query(serviceUseUpsert(1), [JSON.stringify(uses)], 'record_service_use');
}

export interface ServiceUseRow { orgCode: string; firstDay: string; lastDay: string; visits: number }

export async function serviceUseOf(db: Db, patientId: string): Promise<ServiceUseRow[]> {
  const { rows } = await db.query<{ org_code: string; first_day: string; last_day: string; visits: number }>(
    `SELECT org_code, to_char(first_day, 'YYYY-MM-DD') AS first_day, to_char(last_day, 'YYYY-MM-DD') AS last_day, visits
     FROM registry.service_use WHERE patient_id = $1 ORDER BY last_day DESC, org_code`, [patientId], 'service_use_of',
  );
  return rows.map((r) => ({ orgCode: r.org_code, firstDay: r.first_day, lastDay: r.last_day, visits: r.visits }));
}

/** Current resources of `type` referring to `Target/id` through search parameter `param` (e.g. Consent.patient). */
export async function referringResources(db: Db, type: string, param: string, targetType: string, targetIds: readonly string[]): Promise<{ id: string; content: string }[]> {
  if (targetIds.length === 0) return [];
  const { rows } = await db.query<{ id: string; content: string }>(
    `SELECT DISTINCT r.id, r.content FROM fhir.sp_reference ref JOIN fhir.resource r ON r.seq = ref.res AND NOT r.deleted
     WHERE ref.resource_type = $1 AND ref.param = $2 AND ref.target_type = $3 AND ref.target_id = ANY($4::text[])`,
    [type, param, targetType, [...targetIds]], 'referring_resources',
  );
  return rows;
}

/** Current resources of `type` carrying any of these identifier values in `system`. */
export async function resourcesByIdentifier(db: Db, type: string, system: string, values: readonly string[]): Promise<{ id: string; content: string }[]> {
  if (values.length === 0) return [];
  const { rows } = await db.query<{ id: string; content: string }>(
    `SELECT DISTINCT r.id, r.content FROM fhir.sp_token t JOIN fhir.resource r ON r.seq = t.res AND NOT r.deleted
     WHERE t.resource_type = $1 AND t.param = 'identifier' AND t.system = $2 AND t.code = ANY($3::text[])`,
    [type, system, [...values]], 'resources_by_identifier',
  );
  return rows;
}
