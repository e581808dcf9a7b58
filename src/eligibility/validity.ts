/**
 * The eligibility decision, as the online eligibility system (OQS) answers it: validity code
 * 1 有効 (valid), 2 無効 (invalid), 3 無効（新しい資格あり） (invalid, a newer coverage exists),
 * 4 該当資格なし (not found), 5 複数該当 (several found). Coverage is valid by the day: the
 * period's start and end days are both included. The birth date must agree (OQS requires it);
 * a card whose numbers exist under another birth date is "not found", revealing nothing.
 */
import type { Coverage } from '@medplum/fhirtypes';
import { EXTENSIONS } from '../core/systems.ts';

export type Validity = '1' | '2' | '3' | '4' | '5';

export const VALIDITY_DISPLAY: Record<Validity, string> = {
  '1': '有効 (valid)',
  '2': '無効 (invalid)',
  '3': '無効（新しい資格あり） (invalid: a newer coverage exists)',
  '4': '該当資格なし (not found)',
  '5': '複数該当 (several found)',
};

export interface CoverageCandidate {
  id: string;
  patientId: string;
  coverage: Coverage;
  card: boolean;
}

export interface EligibilityDecision {
  validity: Validity;
  /** The coverage the answer is about (valid, or the one that ended). */
  coverage?: CoverageCandidate;
  /** A newer coverage of the same person (validity 3). */
  newer?: CoverageCandidate;
  patientId?: string;
}

export function lossReasonOf(c: Coverage): string | undefined {
  return c.extension?.find((e) => e.url === EXTENSIONS.coverageLossReason)?.valueCoding?.code;
}

/** Whether the coverage is in force on `day` (YYYY-MM-DD): active, and start ≤ day ≤ end. */
export function inForce(c: Coverage, day: string): boolean {
  if (c.status !== 'active') return false;
  const start = c.period?.start?.slice(0, 10);
  const end = c.period?.end?.slice(0, 10);
  return (start === undefined || start <= day) && (end === undefined || day <= end);
}

/** The validity of a card on `day`, from the coverages its numbers name (see the header for the codes). */
export function decideValidity(
  cands: readonly CoverageCandidate[],
  birthDates: ReadonlyMap<string, string>,
  birthDate: string,
  day: string,
): EligibilityDecision {
  const card = cands.filter((c) => c.card && birthDates.get(c.patientId) === birthDate);
  const persons = [...new Set(card.map((c) => c.patientId))];
  if (persons.length === 0) return { validity: '4' };
  if (persons.length > 1) return { validity: '5' };
  const patientId = persons[0];
  const valid = card.find((c) => inForce(c.coverage, day));
  if (valid) return { validity: '1', coverage: valid, patientId };
  // The card's coverage is not in force that day: the latest one that started on or before it.
  const started = card
    .filter((c) => (c.coverage.period?.start ?? '') <= day)
    .sort((a, b) => (b.coverage.period?.start ?? '').localeCompare(a.coverage.period?.start ?? ''));
  const ended = started[0] ?? card[0];
  const endedStart = ended?.coverage.period?.start ?? '';
  const newer = cands.find(
    (c) =>
      !c.card &&
      c.patientId === patientId &&
      c.coverage.status === 'active' &&
      (c.coverage.period?.start ?? '') > endedStart &&
      (c.coverage.period?.start ?? '') <= day,
  );
  return newer ? { validity: '3', coverage: ended, newer, patientId } : { validity: '2', coverage: ended, patientId };
}
