/**
 * The registry's side of pseudonymization (privacy-design.md §1): it knows which person key
 * (KID) stands behind a Patient, a member id or a medical ID, and hands the KID — never a key —
 * to whoever composes it with the pseudonymization service (api/ handlers, app.ts). The
 * registry never sees a pseudonym; the pseudonymization service never sees who a KID is.
 */
import type { Db } from '../store/db.ts';
import { personByIdentifier, personByKey, personByMedicalId, personsByPatientIds } from '../store/persons.ts';
import type { PersonRow, PersonStatus } from '../store/persons.ts';

export interface KeyedPerson {
  patientId: string;
  /** The person key: 16 bytes, never shown, never logged. */
  kid: Buffer;
  status: PersonStatus;
  /** The survivor's key when this person was merged into another. */
  mergedInto: Buffer | null;
}

const keyed = (p: PersonRow): KeyedPerson => ({ patientId: p.patientId, kid: p.personKey, status: p.status, mergedInto: p.mergedInto });

/** Whether research may still see the person: alive, or deceased within the retention (R7); not retired, not merged away. */
export const researchVisible = (p: KeyedPerson): boolean => p.status === 'active' || p.status === 'deceased';

/** Persons by Patient id (ids that are not registry persons are absent from the map). */
export async function keyedPersons(db: Db, patientIds: readonly string[]): Promise<Map<string, KeyedPerson>> {
  const rows = await personsByPatientIds(db, [...new Set(patientIds)]);
  return new Map(rows.map((p) => [p.patientId, keyed(p)]));
}

export async function keyedPersonOfKey(db: Db, kid: Buffer): Promise<KeyedPerson | undefined> {
  const p = await personByKey(db, kid);
  return p && keyed(p);
}

/** The person an insured / public-payer member id (canonical form) names, current or past. */
export async function keyedPersonOfIdentifier(db: Db, system: string, value: string): Promise<KeyedPerson | undefined> {
  const p = await personByIdentifier(db, system, value);
  return p && keyed(p);
}

/**
 * The person a medical ID names: its current one, or one it replaced (a lost card: same person,
 * same key). A retired ID names nobody — retired at death, or by a change that broke linkage,
 * whose whole point is that the old number no longer leads to the person.
 */
export async function keyedPersonOfMedicalId(db: Db, mid: string): Promise<{ person: KeyedPerson; active: boolean } | undefined> {
  const r = await personByMedicalId(db, mid);
  return r && r.status !== 'retired' ? { person: keyed(r.person), active: r.status === 'active' } : undefined;
}
