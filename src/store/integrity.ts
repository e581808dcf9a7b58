/**
 * What a restored database must show before it serves again (backup and restore, issue 19
 * item 3): the registry's uniqueness rules hold in the rows themselves, and how much it holds.
 * Read on one snapshot with index scans off, so each rule is checked against the table's own
 * rows, not against the unique index that enforces it (an index can be what a bad copy or a
 * bad restore broke; a physical copy carries indexes and tables separately).
 */
import type { Db } from './db.ts';
import { listMigrations } from './migrate.ts';

/** One uniqueness rule of the registry and how many values break it (0 when it holds). */
export interface UniquenessRule {
  rule: string;
  /** Values held more than once (or, for `…-issued`, IDs carried by a Patient that were never issued). */
  violations: number;
}

export interface RegistryCounts {
  persons: number;
  medicalIds: number;
  activeMedicalIds: number;
  myNumbers: number;
  insuredNumbers: number;
  patients: number;
  resources: number;
  auditEvents: number;
}

export interface RegistryIntegrity {
  counts: RegistryCounts;
  rules: UniquenessRule[];
  ok: boolean;
}

/** Each rule as a query counting what breaks it; names are what a report prints. */
const RULES: [string, string][] = [
  ['medical ID issued once (registry.medical_id.mid)', 'SELECT mid FROM registry.medical_id GROUP BY mid HAVING count(*) > 1'],
  [
    'one active medical ID per person (registry.medical_id by kid)',
    `SELECT kid FROM registry.medical_id WHERE status = 'active' GROUP BY kid HAVING count(*) > 1`,
  ],
  [
    'one Patient per medical ID (registry.patient_medical_id.mid)',
    'SELECT mid FROM registry.patient_medical_id GROUP BY mid HAVING count(*) > 1',
  ],
  [
    "a Patient's medical ID was issued (registry.patient_medical_id → medical_id)",
    'SELECT p.mid FROM registry.patient_medical_id p LEFT JOIN registry.medical_id m ON m.mid = p.mid WHERE m.mid IS NULL',
  ],
  ['one person per Patient (registry.person.patient_id)', 'SELECT patient_id FROM registry.person GROUP BY patient_id HAVING count(*) > 1'],
  ['one person per My Number (registry.my_number.mac)', 'SELECT mac FROM registry.my_number GROUP BY mac HAVING count(*) > 1'],
  [
    'one person per insured number (registry.person_identifier)',
    'SELECT system, value FROM registry.person_identifier GROUP BY system, value HAVING count(*) > 1',
  ],
];

const COUNTS_SQL = `SELECT
  (SELECT count(*) FROM registry.person)::bigint AS persons,
  (SELECT count(*) FROM registry.medical_id)::bigint AS "medicalIds",
  (SELECT count(*) FROM registry.medical_id WHERE status = 'active')::bigint AS "activeMedicalIds",
  (SELECT count(*) FROM registry.my_number)::bigint AS "myNumbers",
  (SELECT count(*) FROM registry.person_identifier)::bigint AS "insuredNumbers",
  (SELECT count(*) FROM fhir.resource WHERE resource_type = 'Patient' AND NOT deleted)::bigint AS patients,
  (SELECT count(*) FROM fhir.resource)::bigint AS resources,
  (SELECT count(*) FROM audit.event)::bigint AS "auditEvents"`;

/** The registry's uniqueness rules, checked row by row, and its counts, on one snapshot. */
export async function registryIntegrity(db: Db): Promise<RegistryIntegrity> {
  return db.tx(async (t) => {
    await t.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    // Sequential scans only: a rule is checked against the rows, not the index that enforces it.
    for (const knob of ['enable_indexscan', 'enable_indexonlyscan', 'enable_bitmapscan']) await t.query(`SET LOCAL ${knob} = off`);
    const rules: UniquenessRule[] = [];
    for (const [rule, sql] of RULES) {
      const { rows } = await t.query<{ n: number | string }>(`SELECT count(*) AS n FROM (${sql}) broken`);
      rules.push({ rule, violations: Number(rows[0]?.n ?? 0) });
    }
    const { rows } = await t.query<Record<keyof RegistryCounts, number | string>>(COUNTS_SQL);
    const row = rows[0];
    if (!row) throw new Error('registry counts: no row');
    const counts = Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)])) as unknown as RegistryCounts;
    return { counts, rules, ok: rules.every((r) => r.violations === 0) };
  });
}

/** The newest migration applied to this database (0: none), and the newest this medid has. */
export async function schemaVersion(db: Db): Promise<{ applied: number; known: number }> {
  const known = Math.max(0, ...listMigrations().map((m) => m.version));
  const { rows: table } = await db.query<{ t: string | null }>(`SELECT to_regclass('public.medid_migration')::text AS t`);
  if (!table[0]?.t) return { applied: 0, known };
  const { rows } = await db.query<{ v: number | null }>('SELECT max(version) AS v FROM public.medid_migration');
  return { applied: rows[0]?.v ?? 0, known };
}
