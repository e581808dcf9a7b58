/**
 * The set-based path of registration, for the bulk of an insurer's file: records that are new
 * persons beyond doubt (nobody in the registry shares their My Number, insured numbers or
 * demographic key, and no earlier record of the batch shares any of them either) are written
 * together, in one transaction of a few statements — persons, medical IDs, Patients with their
 * history and index rows, identifiers, My Number MACs and audit records. Everything else (an
 * existing person, a namesake, a key shared within the batch) is returned to the caller for the
 * per-record path, to run after this transaction commits, in the batch's order.
 *
 * The decision is the per-record rule's: a record with no candidate at all is `new` there too
 * (see `decide`), and the advisory locks are the same keys, so a concurrent per-record
 * registration of the same person waits for this batch and then finds the person.
 */
import crypto from 'node:crypto';
import { issueUnusedMedicalIds } from '../identifiers/medical-id.ts';
import { kanaLooseKey } from '../jp/kana.ts';
import type { UnitOfWork } from '../repo/unit-of-work.ts';
import { bindMyNumbers } from '../store/my-number.ts';
import { bindNewIdentifiers, insertPersons, issueMedicalIds, lockRegistrationKeys, positionsWithCandidates } from '../store/persons.ts';
import type { PersonIdentifierRow } from '../store/persons.ts';
import { alikeInScreen, asksMatchEngine, matchQuery } from './matching.ts';
import type { RecordMatching } from './matching.ts';
import { newPatient } from './patient.ts';
import type { RegistrationRecord, RegistrationResult } from './record.ts';

/** A record with the keys its decision reads. */
export interface KeyedRecord {
  record: RegistrationRecord;
  mac: Buffer | undefined;
  identifiers: PersonIdentifierRow[];
  demoKey: string;
  /** The family-name key a named record also looks under (a newborn's provisional name: patient.ts familyKeyOf). */
  familyKey: string | undefined;
}

export function lockKeysOf(k: Pick<KeyedRecord, 'mac' | 'identifiers' | 'demoKey' | 'familyKey' | 'record'>): string[] {
  const { givenKana, birthDate } = k.record;
  return [
    ...(k.mac ? [`reg:mn:${k.mac.toString('hex')}`] : []),
    ...k.identifiers.map((i) => `reg:id:${i.system}|${i.value}`),
    `reg:demo:${k.demoKey}`,
    ...(k.familyKey ? [`reg:demo:${k.familyKey}`] : []),
    // The loose given name and birth date (the match engine's `g:` block): two spellings of one
    // person (ユウキ / ユーキ) registered at once wait for each other, and the second sees the first.
    ...(givenKana ? [`reg:near:${kanaLooseKey(givenKana)}|${birthDate}`] : []),
  ];
}

/** The demographic keys a record's namesakes are found under: its own, and its family-name key. */
export const demoKeysOf = (k: Pick<KeyedRecord, 'demoKey' | 'familyKey'>): string[] => [k.demoKey, ...(k.familyKey ? [k.familyKey] : [])];

/** Records whose keys an earlier record of the same batch already uses. */
function sharingEarlierKeys(recs: readonly KeyedRecord[]): Set<number> {
  const seen = new Set<string>();
  const out = new Set<number>();
  recs.forEach((r, i) => {
    const keys = lockKeysOf(r);
    if (keys.some((k) => seen.has(k))) out.add(i);
    for (const k of keys) seen.add(k);
  });
  return out;
}

/**
 * Of the records at `positions` (new persons by the exact rule), those the match engine finds
 * like a registered person or like an earlier one of them (a candidate of at least `reviewAt`
 * bits): the per-record path decides those, after this batch is written. One query for the
 * batch (the engine's `screen`).
 */
async function alikeInEngine(
  tx: UnitOfWork,
  recs: readonly KeyedRecord[],
  positions: readonly number[],
  matching: RecordMatching,
): Promise<Set<number>> {
  const asked = positions.filter((i) => asksMatchEngine(recs[i].record));
  const screened =
    asked.length === 0
      ? []
      : await matching.screen(
          tx,
          asked.map((i) => matchQuery(recs[i].record, { myNumber: false })),
        );
  return new Set(asked.filter((_i, n) => alikeInScreen(screened[n], matching.reviewAt)));
}

export interface BulkOutcome {
  /** Results of the records created here, by position in the batch. */
  created: Map<number, RegistrationResult>;
  /** Positions left for the per-record path, in batch order. */
  rest: number[];
}

/**
 * Creates the batch's certainly-new persons inside `tx`'s transaction. Throws (and the caller
 * rolls back and falls back to the per-record path) if the database disagrees with the
 * decision, which the locks make impossible short of a bug.
 */
export async function createNewPersons(
  tx: UnitOfWork,
  recs: readonly KeyedRecord[],
  o: { medicalIdSystem: string; myNumberMacVersion: number; now: string; drawMedicalId?: () => string; matching: RecordMatching },
): Promise<BulkOutcome> {
  const db = tx.db;
  await lockRegistrationKeys(db, recs.flatMap(lockKeysOf));
  const taken = await positionsWithCandidates(db, recs);
  const shared = sharingEarlierKeys(recs);
  const alike = await alikeInEngine(
    tx,
    recs,
    recs.flatMap((_r, i) => (taken.has(i) || shared.has(i) ? [] : [i])),
    o.matching,
  );
  const perRecord = (i: number): boolean => taken.has(i) || shared.has(i) || alike.has(i);
  const rest = recs.flatMap((_r, i) => (perRecord(i) ? [i] : []));
  const fresh = recs.flatMap((r, i) => (perRecord(i) ? [] : [{ i, r, personKey: crypto.randomBytes(16), patientId: crypto.randomUUID() }]));
  const created = new Map<number, RegistrationResult>();
  if (fresh.length === 0) return { created, rest };

  await insertPersons(
    db,
    fresh.map((f) => ({ personKey: f.personKey, patientId: f.patientId, demoKey: f.r.demoKey })),
    o.now,
  );
  const mids = await issueUnusedMedicalIds(
    fresh.length,
    (round) =>
      issueMedicalIds(
        db,
        round.map((t) => ({ personKey: fresh[t.slot].personKey, mid: t.mid })),
        o.now,
      ),
    o.drawMedicalId,
  );
  const start = o.now.slice(0, 10);
  await tx.resources.createManyTrusted(
    'Patient',
    fresh.map((f, n) => ({
      id: f.patientId,
      resource: newPatient(f.patientId, f.r.record, { system: o.medicalIdSystem, value: mids[n], start }),
    })),
  );
  const clashes =
    (await bindNewIdentifiers(
      db,
      fresh.flatMap((f) => f.r.identifiers.map((x) => ({ ...x, personKey: f.personKey }))),
    )) +
    (await bindMyNumbers(
      db,
      fresh.flatMap((f) => (f.r.mac ? [{ mac: f.r.mac, patientId: f.patientId }] : [])),
      o.myNumberMacVersion,
    ));
  if (clashes > 0) throw new Error(`bulk registration: ${clashes} identifiers were bound under lock by someone else`);
  fresh.forEach((f, n) =>
    created.set(f.i, { record: f.r.record.record, status: 'created', patientId: f.patientId, medicalId: mids[n], issues: [] }),
  );
  return { created, rest };
}
