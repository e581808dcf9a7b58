/**
 * SQL for online eligibility confirmation: the coverages a card's numbers name, with their
 * beneficiary's birth date and other coverages, in one round trip.
 */
import type { Db } from './db.ts';
import { STORED_FEATURE_KEYS } from './mpi.ts';

export interface CoverageRow {
  /** 'card': matched the card's numbers; 'other': another coverage of the same beneficiary. */
  kind: 'card' | 'other';
  id: string;
  patientId: string;
  content: string;
}

/** The statement, made once (the stored key of the birth date comes from mpi.ts). */
const BY_CARD = `WITH hit AS (
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
       CROSS JOIN LATERAL (SELECT f.features->>'${STORED_FEATURE_KEYS.birthDate}' AS birth FROM mpi.features f WHERE f.patient_id = h.patient_id COLLATE "default") b`;

/**
 * Coverages whose insured member id is the card's (`exact`), or, without 枝番, any with that
 * 保険者番号:記号:番号 (`prefix`, e.g. `06130009:12:3456:`); plus every other coverage of their
 * beneficiaries and the beneficiaries' birth dates.
 */
export async function coveragesByCard(
  db: Db,
  system: string,
  q: { exact: string } | { prefix: string },
): Promise<{ coverages: CoverageRow[]; birthDates: Map<string, string> }> {
  const byExact = 'exact' in q;
  if (!byExact && !q.prefix.endsWith(':')) throw new Error('a card prefix ends with the colon before 枝番');
  const { rows } = await db.query<{ kind: 'card' | 'other' | 'birth'; id: string; patient_id: string; content: string | null }>(
    BY_CARD,
    // An index range on the C-collated code: exactly the value, or every value with the prefix
    // (the prefix ends in ':', and ';' is the next byte; U+0001 sorts right after the exact value).
    [system, byExact ? q.exact : q.prefix, byExact ? `${q.exact}\u0001` : `${q.prefix.slice(0, -1)};`],
    'eligibility_by_card',
  );
  const coverages: CoverageRow[] = [];
  const birthDates = new Map<string, string>();
  for (const r of rows) {
    if (r.kind === 'birth') {
      if (r.content) birthDates.set(r.patient_id, r.content);
    } else coverages.push({ kind: r.kind, id: r.id, patientId: r.patient_id, content: r.content ?? '{}' });
  }
  return { coverages, birthDates };
}
