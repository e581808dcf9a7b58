/**
 * The マイナ保険証 path of online eligibility confirmation: the card reader presents the My
 * Number card's 利用者証明用電子証明書 (after the holder's PIN or face check), the certificate
 * names the person (card-certificates.ts links it, through the My Number MAC), and the answer is
 * every coverage of theirs that day — there is no card number to check, so no "several found"
 * and no "a newer coverage exists": whatever is newer is simply among the answers.
 *
 * - 1 有効: the coverages in force that day, each valid (insured before public-payer, the latest
 *   started first);
 * - 2 無効: none in force, the latest that started by then (it ended: its loss reason says why);
 * - 4 該当資格なし: a certificate nobody registered, a revoked or expired one (the card confirms
 *   no one: the person is audited, never disclosed), or a holder with no coverage by then.
 */
import type { Coverage } from '@medplum/fhirtypes';
import { ID_SYSTEMS } from '../core/systems.ts';
import type { CardHolder } from '../store/card-certificates.ts';
import type { CoverageRow } from '../store/coverages.ts';
import { cardClassOf } from './card-class.ts';
import type { CardClass } from './card-class.ts';
import { coverageNumbers } from './coverage-numbers.ts';
import type { CoverageNumbers } from './coverage-numbers.ts';
import { inForce } from './validity.ts';
import type { CoverageCandidate, Validity } from './validity.ts';

/** Why a certificate confirms no one. */
export type CertificateRefusal = 'unknown' | 'revoked' | 'expired';

export interface CardCoverage {
  candidate: CoverageCandidate;
  validity: Validity;
  numbers: CoverageNumbers | undefined;
  cardClass: CardClass | undefined;
}

export interface CardDecision {
  validity: Validity;
  /** The card's holder: audited whatever the answer; disclosed only with validity 1 or 2. */
  holder: string | undefined;
  coverages: CardCoverage[];
  refusal?: CertificateRefusal;
}

const startOf = (c: Coverage): string => c.period?.start ?? '';

/** Insured before public-payer (公費 comes second on a claim), then the latest started first. */
function answerOrder(a: CardCoverage, b: CardCoverage): number {
  const pa = a.numbers?.memberSystem === ID_SYSTEMS.publicPayerMemberId ? 1 : 0;
  const pb = b.numbers?.memberSystem === ID_SYSTEMS.publicPayerMemberId ? 1 : 0;
  return (
    pa - pb || startOf(b.candidate.coverage).localeCompare(startOf(a.candidate.coverage)) || a.candidate.id.localeCompare(b.candidate.id)
  );
}

function described(c: CoverageRow, validity: Validity): CardCoverage {
  const coverage = JSON.parse(c.content) as Coverage;
  const numbers = coverageNumbers(coverage);
  return {
    candidate: { id: c.id, patientId: c.patientId, coverage, card: true },
    validity,
    numbers,
    cardClass: numbers ? cardClassOf(coverage, numbers.memberSystem, numbers.payer) : undefined,
  };
}

/** The answer for a card on `day` (YYYY-MM-DD), from its holder's link and coverages. */
export function decideByCard(holder: CardHolder | undefined, rows: readonly CoverageRow[], day: string): CardDecision {
  if (!holder?.patientId) return { validity: '4', holder: undefined, coverages: [], refusal: 'unknown' };
  const patientId = holder.patientId;
  if (holder.revoked) return { validity: '4', holder: patientId, coverages: [], refusal: 'revoked' };
  // The certificate's last day counts, like a coverage's.
  if (holder.notAfter < day) return { validity: '4', holder: patientId, coverages: [], refusal: 'expired' };
  const all = rows.map((r) => described(r, '1'));
  const valid = all.filter((c) => inForce(c.candidate.coverage, day)).sort(answerOrder);
  if (valid.length > 0) return { validity: '1', holder: patientId, coverages: valid };
  const ended = all
    .filter((c) => c.candidate.coverage.status === 'active' && startOf(c.candidate.coverage) <= day)
    .sort((a, b) => startOf(b.candidate.coverage).localeCompare(startOf(a.candidate.coverage)))[0];
  if (ended) return { validity: '2', holder: patientId, coverages: [{ ...ended, validity: '2' }] };
  return { validity: '4', holder: patientId, coverages: [] };
}
