/**
 * SQL for the registry's persons (migration 0004): each person by its person key (the KID of
 * privacy-design.md; column `kid`), every medical ID ever issued, and the identifiers that name
 * one person. Callers run these inside one transaction per registration or lifecycle step.
 */
import type { Db } from './db.ts';

export type PersonStatus = 'active' | 'deceased' | 'retired' | 'merged';

export interface PersonRow {
  /** The person key (KID): random, never shown, the root of the person's pseudonyms. */
  personKey: Buffer;
  patientId: string;
  status: PersonStatus;
  demoKey: string;
  deceasedOn: string | null;
  retireAfter: string | null;
  mergedInto: Buffer | null;
}

interface PersonDbRow {
  kid: Buffer;
  patient_id: string;
  status: PersonStatus;
  demo_key: string;
  deceased_on: string | null;
  retire_after: string | null;
  merged_into: Buffer | null;
}

const PERSON_COLS = `p.kid, p.patient_id, p.status, p.demo_key, to_char(p.deceased_on, 'YYYY-MM-DD') AS deceased_on,
  to_char(p.retire_after, 'YYYY-MM-DD') AS retire_after, p.merged_into`;

const toPerson = (r: PersonDbRow): PersonRow => ({
  personKey: Buffer.from(r.kid),
  patientId: r.patient_id,
  status: r.status,
  demoKey: r.demo_key,
  deceasedOn: r.deceased_on,
  retireAfter: r.retire_after,
  mergedInto: r.merged_into ? Buffer.from(r.merged_into) : null,
});

/**
 * Transaction-scoped advisory locks on every key a registration decides by, taken in one sorted
 * order so two registrations sharing keys serialize instead of deadlocking.
 */
export async function lockRegistrationKeys(db: Db, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await db.query(
    `SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM (SELECT DISTINCT unnest($1::text[]) AS k ORDER BY 1) s`,
    [[...keys]],
    'registry_lock_keys',
  );
}

export type CandidateVia = 'my-number' | 'identifier' | 'demographics';

export interface Candidate {
  via: CandidateVia;
  person: PersonRow;
  /** Whether a My Number is bound to the person. */
  hasMyNumber: boolean;
}

/** Everyone a record could be: by My Number MAC, by any of its identifiers, by any of its demographic keys. */
export async function findCandidates(
  db: Db,
  q: { mac: Buffer | undefined; identifiers: readonly { system: string; value: string }[]; demoKeys: readonly string[] },
): Promise<Candidate[]> {
  const { rows } = await db.query<PersonDbRow & { via: CandidateVia; has_mn: boolean }>(
    `SELECT 'my-number' AS via, ${PERSON_COLS}, true AS has_mn
       FROM registry.my_number m JOIN registry.person p ON p.patient_id = m.patient_id WHERE m.mac = $1
     UNION ALL
     SELECT 'identifier', ${PERSON_COLS}, EXISTS (SELECT 1 FROM registry.my_number m WHERE m.patient_id = p.patient_id)
       FROM registry.person_identifier i JOIN registry.person p ON p.kid = i.kid
       WHERE (i.system, i.value) IN (SELECT s, v FROM unnest($2::text[], $3::text[]) AS u(s, v))
     UNION ALL
     SELECT 'demographics', ${PERSON_COLS}, EXISTS (SELECT 1 FROM registry.my_number m WHERE m.patient_id = p.patient_id)
       FROM registry.person p WHERE p.demo_key = ANY($4::text[]) AND p.status <> 'merged'`,
    [q.mac ?? null, q.identifiers.map((i) => i.system), q.identifiers.map((i) => i.value), [...q.demoKeys]],
    'registry_candidates',
  );
  return rows.map((r) => ({ via: r.via, person: toPerson(r), hasMyNumber: r.has_mn }));
}

export async function personByPatientId(db: Db, patientId: string, lock = false): Promise<PersonRow | undefined> {
  const { rows } = await db.query<PersonDbRow>(
    `SELECT ${PERSON_COLS} FROM registry.person p WHERE p.patient_id = $1${lock ? ' FOR UPDATE' : ''}`,
    [patientId],
    lock ? 'registry_person_lock' : 'registry_person',
  );
  return rows[0] ? toPerson(rows[0]) : undefined;
}

export async function personByKey(db: Db, personKey: Buffer): Promise<PersonRow | undefined> {
  const { rows } = await db.query<PersonDbRow>(
    `SELECT ${PERSON_COLS} FROM registry.person p WHERE p.kid = $1`,
    [personKey],
    'registry_person_kid',
  );
  return rows[0] ? toPerson(rows[0]) : undefined;
}

/** A new person with its first medical ID; false when the medical ID was ever issued before. */
export async function insertPerson(
  db: Db,
  p: { personKey: Buffer; patientId: string; demoKey: string; mid: string; at: string },
): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>(
    `WITH m AS (INSERT INTO registry.medical_id (mid, kid, issued_at) SELECT $4, $1, $5::timestamptz
                WHERE NOT EXISTS (SELECT 1 FROM registry.medical_id WHERE mid = $4) RETURNING mid),
          p AS (INSERT INTO registry.person (kid, patient_id, demo_key, created_at, updated_at)
                SELECT $1, $2, $3, $5::timestamptz, $5::timestamptz WHERE EXISTS (SELECT 1 FROM m) RETURNING kid)
     SELECT EXISTS (SELECT 1 FROM p) AS ok`,
    [p.personKey, p.patientId, p.demoKey, p.mid, p.at],
    'registry_insert_person',
  );
  return rows[0]?.ok ?? false;
}

/** Issues `mid` to an existing person; false when it was ever issued before. */
export async function issueMedicalId(db: Db, personKey: Buffer, mid: string, at: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO registry.medical_id (mid, kid, issued_at) VALUES ($1, $2, $3::timestamptz) ON CONFLICT (mid) DO NOTHING`,
    [mid, personKey, at],
    'registry_issue_mid',
  );
  return rowCount === 1;
}

/** Ends the person's active medical ID (replaced or retired). */
export async function endActiveMedicalId(
  db: Db,
  personKey: Buffer,
  status: 'replaced' | 'retired',
  at: string,
): Promise<string | undefined> {
  const { rows } = await db.query<{ mid: string }>(
    `UPDATE registry.medical_id SET status = $2, ended_at = $3::timestamptz WHERE kid = $1 AND status = 'active' RETURNING mid`,
    [personKey, status, at],
    'registry_end_mid',
  );
  return rows[0]?.mid;
}

/** Retires every medical ID of a person that is not retired yet (death, final merge). */
export async function retireMedicalIds(db: Db, personKey: Buffer, at: string): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE registry.medical_id SET status = 'retired', ended_at = coalesce(ended_at, $2::timestamptz) WHERE kid = $1 AND status <> 'retired'`,
    [personKey, at],
    'registry_retire_mids',
  );
  return rowCount;
}

export interface PersonIdentifierRow {
  system: string;
  value: string;
  payer: string;
  periodStart: string | null;
  periodEnd: string | null;
}

/**
 * Binds identifiers to a person (periods updated when already bound to it). Returns the
 * identifiers that belong to someone else; the caller refuses the write then.
 */
export async function bindIdentifiers(db: Db, personKey: Buffer, ids: readonly PersonIdentifierRow[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<{ value: string }>(
    `WITH u AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::date[], $6::date[]) AS u(system, value, payer, ps, pe)),
          ins AS (INSERT INTO registry.person_identifier (system, value, kid, payer, period_start, period_end)
                  SELECT system, value, $1, payer, ps, pe FROM u
                  ON CONFLICT (system, value) DO UPDATE SET period_start = coalesce(EXCLUDED.period_start, registry.person_identifier.period_start),
                    period_end = EXCLUDED.period_end, recorded_at = now()
                  WHERE registry.person_identifier.kid = EXCLUDED.kid
                  RETURNING system, value)
     SELECT u.value FROM u WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.system = u.system AND ins.value = u.value)`,
    [
      personKey,
      ids.map((i) => i.system),
      ids.map((i) => i.value),
      ids.map((i) => i.payer),
      ids.map((i) => i.periodStart),
      ids.map((i) => i.periodEnd),
    ],
    'registry_bind_ids',
  );
  return rows.map((r) => r.value);
}

export async function identifiersOf(db: Db, personKey: Buffer): Promise<PersonIdentifierRow[]> {
  const { rows } = await db.query<{ system: string; value: string; payer: string; ps: string | null; pe: string | null }>(
    `SELECT system, value, payer, to_char(period_start, 'YYYY-MM-DD') AS ps, to_char(period_end, 'YYYY-MM-DD') AS pe
     FROM registry.person_identifier WHERE kid = $1 ORDER BY system, value`,
    [personKey],
    'registry_ids_of',
  );
  return rows.map((r) => ({ system: r.system, value: r.value, payer: r.payer, periodStart: r.ps, periodEnd: r.pe }));
}

/** Moves identifiers from one person to another (merge, and back on undo). */
export async function moveIdentifiers(db: Db, from: Buffer, to: Buffer, ids: readonly { system: string; value: string }[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `UPDATE registry.person_identifier SET kid = $2, recorded_at = now()
     WHERE kid = $1 AND (system, value) IN (SELECT s, v FROM unnest($3::text[], $4::text[]) AS u(s, v))`,
    [from, to, ids.map((i) => i.system), ids.map((i) => i.value)],
  );
}

export async function updatePerson(
  db: Db,
  personKey: Buffer,
  set: { demoKey?: string; status?: PersonStatus; deceasedOn?: string | null; retireAfter?: string | null; mergedInto?: Buffer | null },
  at: string,
): Promise<void> {
  await db.query(
    `UPDATE registry.person SET
       demo_key = coalesce($2, demo_key),
       status = coalesce($3, status),
       deceased_on = CASE WHEN $4 THEN $5::date ELSE deceased_on END,
       retire_after = CASE WHEN $6 THEN $7::date ELSE retire_after END,
       merged_into = CASE WHEN $8 THEN $9::bytea ELSE merged_into END,
       updated_at = $10::timestamptz
     WHERE kid = $1`,
    [
      personKey,
      set.demoKey ?? null,
      set.status ?? null,
      'deceasedOn' in set,
      set.deceasedOn ?? null,
      'retireAfter' in set,
      set.retireAfter ?? null,
      'mergedInto' in set,
      set.mergedInto ?? null,
      at,
    ],
    'registry_update_person',
  );
}

/** Persons whose post-mortem retention ended on or before `day`. */
export async function personsToRetire(db: Db, day: string, limit: number): Promise<PersonRow[]> {
  const { rows } = await db.query<PersonDbRow>(
    `SELECT ${PERSON_COLS} FROM registry.person p WHERE p.status = 'deceased' AND p.retire_after <= $1::date ORDER BY p.retire_after LIMIT $2`,
    [day, limit],
  );
  return rows.map(toPerson);
}

// ---- Bulk registration: the set-based path for records that are new persons ----

/** One record of a bulk registration, as the decision keys it is looked up by. */
export interface BulkKeys {
  mac: Buffer | undefined;
  identifiers: readonly { system: string; value: string }[];
  demoKey: string;
  /** A second demographic key looked under (the family name alone: a newborn's provisional name). */
  familyKey: string | undefined;
}

// Batches travel as one JSON parameter per statement (bytea as hex): JSON.stringify is native,
// where array parameters are escaped element by element in JavaScript.
const hex = (b: Buffer): string => b.toString('hex');

/**
 * Which records of a batch have anyone to be compared with (a person by My Number, by an
 * identifier or by demographic key). Returns their positions; the others are new persons.
 */
export async function positionsWithCandidates(db: Db, recs: readonly BulkKeys[]): Promise<Set<number>> {
  const keys = recs.map((r, i) => ({ i, mac: r.mac ? hex(r.mac) : null, demo: r.demoKey, fam: r.familyKey ?? null }));
  const ids = recs.flatMap((r, i) => r.identifiers.map((x) => ({ i, s: x.system, v: x.value })));
  const { rows } = await db.query<{ i: number }>(
    `WITH q AS (SELECT * FROM json_to_recordset($1::json) AS q(i int4, mac text, demo text, fam text))
     SELECT q.i FROM q WHERE EXISTS (SELECT 1 FROM registry.my_number m WHERE m.mac = decode(q.mac, 'hex'))
     UNION
     SELECT q.i FROM json_to_recordset($2::json) AS q(i int4, s text, v text)
       WHERE EXISTS (SELECT 1 FROM registry.person_identifier x WHERE x.system = q.s AND x.value = q.v)
     UNION
     SELECT q.i FROM q WHERE EXISTS (SELECT 1 FROM registry.person p WHERE p.demo_key = q.demo AND p.status <> 'merged')
     UNION
     SELECT q.i FROM q WHERE q.fam IS NOT NULL AND EXISTS (SELECT 1 FROM registry.person p WHERE p.demo_key = q.fam AND p.status <> 'merged')`,
    [JSON.stringify(keys), JSON.stringify(ids)],
    'registry_bulk_candidates',
  );
  return new Set(rows.map((r) => r.i));
}

export interface NewPersonRow {
  personKey: Buffer;
  patientId: string;
  demoKey: string;
}

/** Inserts new persons (no medical ID yet: issueMedicalIds follows in the same transaction). */
export async function insertPersons(db: Db, ps: readonly NewPersonRow[], at: string): Promise<void> {
  await db.query(
    `INSERT INTO registry.person (kid, patient_id, demo_key, created_at, updated_at)
     SELECT decode(u.k, 'hex'), u.p, u.d, $2::timestamptz, $2::timestamptz FROM json_to_recordset($1::json) AS u(k text, p text, d text)`,
    [JSON.stringify(ps.map((p) => ({ k: hex(p.personKey), p: p.patientId, d: p.demoKey }))), at],
    'registry_insert_persons',
  );
}

/** Issues medical IDs to persons; returns the mids that were issued (a mid ever issued before is not). */
export async function issueMedicalIds(db: Db, rows: readonly { personKey: Buffer; mid: string }[], at: string): Promise<Set<string>> {
  const { rows: out } = await db.query<{ mid: string }>(
    `INSERT INTO registry.medical_id (mid, kid, issued_at) SELECT u.m, decode(u.k, 'hex'), $2::timestamptz FROM json_to_recordset($1::json) AS u(m text, k text)
     ON CONFLICT (mid) DO NOTHING RETURNING mid`,
    [JSON.stringify(rows.map((r) => ({ m: r.mid, k: hex(r.personKey) }))), at],
    'registry_issue_mids',
  );
  return new Set(out.map((r) => r.mid));
}

/** Binds identifiers to new persons; returns how many were already someone's (then the caller rolls back). */
export async function bindNewIdentifiers(db: Db, rows: readonly (PersonIdentifierRow & { personKey: Buffer })[]): Promise<number> {
  if (rows.length === 0) return 0;
  const { rowCount } = await db.query(
    `INSERT INTO registry.person_identifier (system, value, kid, payer, period_start, period_end)
     SELECT u.s, u.v, decode(u.k, 'hex'), u.p, u.ps, u.pe FROM json_to_recordset($1::json) AS u(s text, v text, k text, p text, ps date, pe date)
     ON CONFLICT (system, value) DO NOTHING`,
    [JSON.stringify(rows.map((i) => ({ s: i.system, v: i.value, k: hex(i.personKey), p: i.payer, ps: i.periodStart, pe: i.periodEnd })))],
    'registry_bind_new_ids',
  );
  return rows.length - rowCount;
}

// ---- Person keys for the pseudonymization service (the registry hands KIDs over, never keys) ----

/** Persons by Patient id, with their keys (for a database's pseudonymized view). */
export async function personsByPatientIds(db: Db, patientIds: readonly string[]): Promise<PersonRow[]> {
  if (patientIds.length === 0) return [];
  const { rows } = await db.query<PersonDbRow>(
    `SELECT ${PERSON_COLS} FROM registry.person p WHERE p.patient_id = ANY($1::text[])`,
    [[...patientIds]],
    'registry_persons_by_ids',
  );
  return rows.map(toPerson);
}

/** The person an insured or public-payer member id names (current or past), if any. */
export async function personByIdentifier(db: Db, system: string, value: string): Promise<PersonRow | undefined> {
  const { rows } = await db.query<PersonDbRow>(
    `SELECT ${PERSON_COLS} FROM registry.person_identifier i JOIN registry.person p ON p.kid = i.kid WHERE i.system = $1 AND i.value = $2`,
    [system, value],
    'registry_person_by_identifier',
  );
  return rows[0] ? toPerson(rows[0]) : undefined;
}

/** The person a medical ID was issued to, and that ID's status (active, replaced by a new one, or retired). */
export async function personByMedicalId(
  db: Db,
  mid: string,
): Promise<{ person: PersonRow; status: 'active' | 'replaced' | 'retired' } | undefined> {
  const { rows } = await db.query<PersonDbRow & { mid_status: string }>(
    `SELECT ${PERSON_COLS}, m.status AS mid_status FROM registry.medical_id m JOIN registry.person p ON p.kid = m.kid WHERE m.mid = $1`,
    [mid],
    'registry_person_by_mid',
  );
  const r = rows[0];
  return r ? { person: toPerson(r), status: r.mid_status as 'active' | 'replaced' | 'retired' } : undefined;
}

/** Whether one of the person's numbers, current or past, is the payer's: the person is (or was) its member. */
export async function personHasPayer(db: Db, personKey: Buffer, payer: string): Promise<boolean> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM registry.person_identifier WHERE kid = $1 AND payer = $2`,
    [personKey, payer],
    'registry_person_has_payer',
  );
  return (rows[0]?.n ?? 0) > 0;
}
