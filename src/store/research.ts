/**
 * SQL for what a utilizing database may see of the registry (issue 16 items 3–4): persons
 * within its reach (the access policy compiled in, so a person whose Consents shut the
 * database out is never read), with their key, their Patient and the kinds and periods of the
 * numbers they hold — the raw material the pseudonymization service rebuilds from an allow-list.
 */
import type { PersonReach } from '../core/access.ts';
import { personSql } from './access-sql.ts';
import type { Db } from './db.ts';
import { Sql } from './sql.ts';

export interface ResearchRow {
  patientId: string;
  /** The person key the pseudonyms derive from. */
  kid: Buffer;
  /** The Patient JSON as stored. */
  content: string;
  /** The numbers the person holds or held: system, payer number, period (YYYY-MM-DD or null). */
  numbers: { system: string; payer: string; start: string | null; end: string | null }[];
}

interface Raw {
  id: string;
  kid: Buffer;
  content: string;
  numbers: ResearchRow['numbers'] | null;
}

const NUMBERS = `(SELECT json_agg(json_build_object('system', i.system, 'payer', i.payer,
    'start', to_char(i.period_start, 'YYYY-MM-DD'), 'end', to_char(i.period_end, 'YYYY-MM-DD'))
    ORDER BY i.period_start NULLS FIRST, i.period_end NULLS LAST, i.system, i.payer)
  FROM registry.person_identifier i WHERE i.kid = p.kid)`;

const toRow = (r: Raw): ResearchRow => ({ patientId: r.id, kid: Buffer.from(r.kid), content: r.content, numbers: r.numbers ?? [] });

/**
 * One page (keyset by Patient id) of the persons research may see — alive, or deceased within
 * the retention; not retired, not merged away — and within `reach`.
 */
export async function researchPage(db: Db, reach: PersonReach, after: string, limit: number): Promise<ResearchRow[]> {
  const b = new Sql();
  const afterP = b.p(after, 'text');
  const visible = personSql(b, reach, 'p.patient_id', () => `'Patient'`);
  const limitP = b.p(limit, 'int');
  const { rows } = await db.query<Raw>(
    `SELECT p.patient_id AS id, p.kid, r.content, ${NUMBERS} AS numbers
     FROM registry.person p JOIN fhir.resource r ON r.resource_type = 'Patient' AND r.id = p.patient_id AND NOT r.deleted
     WHERE p.status IN ('active', 'deceased') AND p.patient_id > ${afterP} AND ${visible}
     ORDER BY p.patient_id LIMIT ${limitP}`,
    b.params,
  );
  return rows.map(toRow);
}

/** One person by key, within `reach` (undefined otherwise). */
export async function researchPerson(db: Db, reach: PersonReach, kid: Buffer): Promise<ResearchRow | undefined> {
  const b = new Sql();
  const kidP = b.p(kid, 'bytea');
  const visible = personSql(b, reach, 'p.patient_id', () => `'Patient'`);
  const { rows } = await db.query<Raw>(
    `SELECT p.patient_id AS id, p.kid, r.content, ${NUMBERS} AS numbers
     FROM registry.person p JOIN fhir.resource r ON r.resource_type = 'Patient' AND r.id = p.patient_id AND NOT r.deleted
     WHERE p.kid = ${kidP} AND p.status IN ('active', 'deceased') AND ${visible}`,
    b.params,
  );
  return rows[0] && toRow(rows[0]);
}

/** Of these person keys, the persons within `reach` research may see (Patient id and key). */
export async function researchPersonsByKeys(
  db: Db,
  reach: PersonReach,
  kids: readonly Buffer[],
): Promise<{ patientId: string; kid: Buffer }[]> {
  if (kids.length === 0) return [];
  const b = new Sql();
  const kidsP = b.p([...kids], 'bytea[]');
  const visible = personSql(b, reach, 'p.patient_id', () => `'Patient'`);
  const { rows } = await db.query<{ id: string; kid: Buffer }>(
    `SELECT p.patient_id AS id, p.kid FROM registry.person p
     WHERE p.kid = ANY(${kidsP}) AND p.status IN ('active', 'deceased') AND ${visible}`,
    b.params,
  );
  return rows.map((r) => ({ patientId: r.id, kid: Buffer.from(r.kid) }));
}
