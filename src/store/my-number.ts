/** SQL for My Number MACs (registry.my_number). */
import type { Db } from './db.ts';

/**
 * Binds a MAC to a patient. Returns the patient it is bound to afterwards: this one, or the
 * one that already held it (the caller refuses the write then).
 */
export async function bindMyNumber(db: Db, mac: Buffer, version: number, patientId: string): Promise<string> {
  const { rows } = await db.query<{ patient_id: string }>(
    `WITH ins AS (INSERT INTO registry.my_number (mac, mac_version, patient_id) VALUES ($1, $2, $3)
       ON CONFLICT (mac) DO NOTHING RETURNING patient_id)
     SELECT patient_id FROM ins UNION ALL SELECT patient_id FROM registry.my_number WHERE mac = $1 LIMIT 1`,
    [mac, version, patientId],
    'bind_my_number',
  );
  return rows[0]?.patient_id ?? patientId;
}

/** Binds MACs to new patients; returns how many were already bound (then the caller rolls back). */
export async function bindMyNumbers(db: Db, rows: readonly { mac: Buffer; patientId: string }[], version: number): Promise<number> {
  if (rows.length === 0) return 0;
  const { rowCount } = await db.query(
    `INSERT INTO registry.my_number (mac, mac_version, patient_id) SELECT decode(u.m, 'hex'), $2, u.p FROM json_to_recordset($1::json) AS u(m text, p text)
     ON CONFLICT (mac) DO NOTHING`,
    [JSON.stringify(rows.map((r) => ({ m: r.mac.toString('hex'), p: r.patientId }))), version],
    'bind_my_numbers',
  );
  return rows.length - rowCount;
}

/** Moves a My Number binding between patients (merge and its undo). */
export async function moveMyNumber(db: Db, fromPatient: string, toPatient: string): Promise<number> {
  const { rowCount } = await db.query(`UPDATE registry.my_number SET patient_id = $2 WHERE patient_id = $1`, [fromPatient, toPatient]);
  return rowCount;
}

/** Which of these patients have a My Number bound. */
export async function patientsWithMyNumber(db: Db, patientIds: readonly string[]): Promise<Set<string>> {
  if (patientIds.length === 0) return new Set();
  const { rows } = await db.query<{ patient_id: string }>(
    `SELECT DISTINCT patient_id FROM registry.my_number WHERE patient_id = ANY($1::text[])`,
    [[...patientIds]],
    'patients_with_my_number',
  );
  return new Set(rows.map((r) => r.patient_id));
}

export async function hasMyNumber(db: Db, patientId: string): Promise<boolean> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM registry.my_number WHERE patient_id = $1`, [patientId]);
  return (rows[0]?.n ?? 0) > 0;
}

/** The patient a MAC is bound to (the survivor after a merge: merges move the binding). */
export async function patientOfMyNumber(db: Db, mac: Buffer): Promise<string | undefined> {
  const { rows } = await db.query<{ patient_id: string }>(
    `SELECT patient_id FROM registry.my_number WHERE mac = $1`,
    [mac],
    'patient_of_my_number',
  );
  return rows[0]?.patient_id;
}
