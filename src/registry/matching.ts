/**
 * The registrar asks the match engine (issue 18 item 5): a named record that no number links to
 * a person is held for review when its best candidate — graded by the engine of `Patient/$match`
 * (mpi/match.ts), passed in by app.ts — weighs at least `reviewAt` bits (default: the `probable`
 * threshold), unless My Numbers prove the persons differ; a record a number links to a person
 * updates that person only when the engine grades them `certain` (an agreeing identifier with
 * demographics that do not contradict it). The engine never merges on its own: without an
 * agreeing identifier it can only send a record to review, so a false merge needs a wrong number.
 *
 * A newborn's provisional name (the parent's family name alone) is left to the exact rule
 * (identify.ts): all the engine could add is "same family, same birth date", which that rule
 * already holds on, and it tells twins apart by their birth order, which the engine does not read.
 */
import type { HumanName, Patient } from '@medplum/fhirtypes';
import { representationOf } from '../jp/names.ts';
import type { UnitOfWork } from '../repo/unit-of-work.ts';
import { patientFromRecord } from './patient.ts';
import type { RegistrationRecord } from './record.ts';

/** A registered person as the match engine grades it against a record. */
export interface MatchCandidate {
  patientId: string;
  grade: 'certain' | 'probable' | 'possible';
  /** Total weight in bits (each fact counted once). */
  weight: number;
  /** Identifier systems that agreed (none from `screen`). */
  identifiers: readonly string[];
}

/** One record of a batch as the engine saw it: its candidates, best first, among the registered persons and the batch's earlier records. */
export interface Screened {
  candidates: readonly MatchCandidate[];
  /** Earlier records of the same batch, graded as candidates (`patientId`: the record's position in the batch). */
  earlier: readonly MatchCandidate[];
}

/** The match engine as the registrar uses it (wired in app.ts: the registry does not import mpi). */
export interface RecordMatching {
  /** One record's candidates, best first: by its identifiers (My Number digits become a MAC there) and the blocking index. */
  match(tx: UnitOfWork, patient: Patient): Promise<MatchCandidate[]>;
  /** Many records' candidates from the blocking index alone, in one round trip (the set-based path). */
  screen(tx: UnitOfWork, patients: readonly Patient[]): Promise<Screened[]>;
  /** Bits: a best candidate at least this heavy, with no identifier in common, holds a new record for review. */
  reviewAt: number;
}

/** Whether the engine is asked about this record (a provisional name is not: see above). */
export const asksMatchEngine = (r: RegistrationRecord): boolean => !r.provisional;

/** The record as the engine's query; `myNumber: false` leaves My Number out (the screen reads no identifiers). */
export function matchQuery(r: RegistrationRecord, o: { myNumber: boolean }): Patient {
  return patientFromRecord(o.myNumber ? r : { ...r, myNumber: undefined });
}

/**
 * Whether the record and the person share a current name in kana and in kanji (or one side has
 * none in that script): then the engine cannot find "no name in common", the one contradiction
 * left once the birth date and sex agree (identify.ts checked them), and grades the number
 * `certain` — so the registrar need not ask it. A re-sent file (every record unchanged) stays
 * as fast as before; the engine is asked when a name changed in both parts.
 */
export function sharesAName(r: RegistrationRecord, p: Patient): boolean {
  const current = (p.name ?? []).filter((n) => n.use !== 'old' && n.use !== 'maiden');
  const agrees = (n: HumanName | undefined, family: string | undefined, given: string | undefined): boolean =>
    n === undefined || family === undefined || n.family === family || (given !== undefined && n.given?.[0] === given);
  return (
    agrees(
      current.find((n) => representationOf(n) === 'SYL'),
      r.familyKana,
      r.givenKana,
    ) &&
    agrees(
      current.find((n) => representationOf(n) === 'IDE'),
      r.familyKanji,
      r.givenKanji,
    )
  );
}

/** The candidates that hold a new record: at least `reviewAt` bits, best first. */
export const heavyCandidates = (cands: readonly MatchCandidate[], reviewAt: number): MatchCandidate[] =>
  cands.filter((c) => c.weight >= reviewAt);

/**
 * Whether the record must go the per-record way: the engine finds it like a registered person,
 * or like an earlier record of its batch (which the per-record path, after the batch is written,
 * then holds it against).
 */
export const alikeInScreen = (s: Screened, reviewAt: number): boolean =>
  heavyCandidates(s.candidates, reviewAt).length > 0 || heavyCandidates(s.earlier, reviewAt).length > 0;

/** The review Task's reason for a record held on the engine's grade (the bits are read back by bench/registry.ts). */
export function matchReviewReason(best: MatchCandidate, held: number): string {
  const whom = held === 1 ? 'a registered person' : `${held} registered persons`;
  return `The match engine finds ${whom} like this record (best: ${best.grade}, ${best.weight.toFixed(2)} bits) and no identifier in common`;
}
