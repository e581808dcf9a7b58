/**
 * Who a registration record is (R1, R17), decided on the candidates found under lock: the same
 * My Number (by its MAC) or the same insured / public-payer member id is the same person —
 * unless the person's own facts disagree (another birth date, another sex), which is held for
 * the authority's staff rather than overwritten. Otherwise the exact demographic rule (kana name
 * + birth date + sex) finds namesakes, which are not proof at national scale and are held too —
 * unless My Numbers prove the persons differ. A newborn's provisional name (family name only)
 * is weak evidence: a named record of the same family, birth date and sex is held against it,
 * and two provisional twins are told apart by their birth order.
 */
import type { Patient } from '@medplum/fhirtypes';
import { ID_SYSTEMS } from '../core/systems.ts';
import type { Candidate, PersonIdentifierRow, PersonRow } from '../store/persons.ts';
import { hasProvisionalNameOnly } from './patient.ts';
import type { RegistrationRecord } from './record.ts';

export type Identification =
  { kind: 'new' } | { kind: 'existing'; person: PersonRow } | { kind: 'review'; reason: string; candidates: PersonRow[] };

/** A sex that says something (`unknown` on either side agrees with anything). */
const knownSex = (s: string | undefined): boolean => s !== undefined && s !== 'unknown';

/**
 * The facts of the person that the record contradicts, in words ("birth date", "sex", "birth
 * date and sex"), or undefined. A number or My Number proves who a record is about, not that its
 * facts are right: a typo in a file must not rewrite a person's birth date.
 */
export function conflictingFacts(r: Pick<RegistrationRecord, 'birthDate' | 'gender'>, p: Patient | undefined): string | undefined {
  if (!p) return undefined;
  const facts = [
    ...(p.birthDate !== undefined && p.birthDate !== r.birthDate ? ['birth date'] : []),
    ...(knownSex(p.gender) && knownSex(r.gender) && p.gender !== r.gender ? ['sex'] : []),
  ];
  return facts.length > 0 ? facts.join(' and ') : undefined;
}

/** Twins registered before they were named: both provisional, each with its own birth order. */
function otherTwin(r: RegistrationRecord, p: Patient | undefined): boolean {
  return (
    r.provisional &&
    r.birthOrder !== undefined &&
    p !== undefined &&
    hasProvisionalNameOnly(p) &&
    p.multipleBirthInteger !== undefined &&
    p.multipleBirthInteger !== r.birthOrder
  );
}

/**
 * The identification rule, on the candidates found under lock. `patientOf` gives the Patient of
 * every candidate linked by a number, and of namesakes when the record is provisional.
 */
export function identifyPerson(
  r: RegistrationRecord,
  cands: readonly Candidate[],
  patientOf: (p: PersonRow) => Patient | undefined,
  demoKey: string,
): Identification {
  const byId = new Map<string, Candidate>();
  for (const c of cands) if (c.via !== 'demographics') byId.set(c.person.patientId, c);
  if (byId.size > 1)
    return {
      kind: 'review',
      reason: 'The My Number and the insured numbers of this record point to different persons',
      candidates: [...byId.values()].map((c) => c.person),
    };
  const linked = [...byId.values()][0];
  if (linked) {
    const p = linked.person;
    const byMyNumber = cands.some((c) => c.via === 'my-number');
    if (r.myNumber !== undefined && !byMyNumber && linked.hasMyNumber) {
      return { kind: 'review', reason: 'The insured number names a person registered with a different My Number', candidates: [p] };
    }
    const facts = conflictingFacts(r, patientOf(p));
    if (facts !== undefined)
      return {
        kind: 'review',
        reason: `The ${byMyNumber ? 'My Number' : 'insured number'} names a person with a different ${facts}`,
        candidates: [p],
      };
    return { kind: 'existing', person: p };
  }
  const namesakes = cands.filter((c) => c.via === 'demographics' && !otherTwin(r, patientOf(c.person)));
  if (namesakes.length === 0) return { kind: 'new' };
  // Both have a My Number and they differ (the record's matched nobody): different persons.
  if (r.myNumber !== undefined && namesakes.every((c) => c.hasMyNumber)) return { kind: 'new' };
  const whom = namesakes.length === 1 ? 'a registered person' : `${namesakes.length} registered persons`;
  // A candidate under another key shares only the family name: it has no given name (provisional).
  const weak = r.provisional || namesakes.some((c) => c.person.demoKey !== demoKey);
  return {
    kind: 'review',
    reason: weak
      ? `Same family name in kana, birth date and sex as ${whom}, one of them under a provisional name (a newborn not yet named), and no identifier in common`
      : `Same kana name, birth date and sex as ${whom}, and no identifier in common`,
    candidates: namesakes.map((c) => c.person),
  };
}

/** The registry rows a record's numbers become. */
export function personIdentifiers(r: RegistrationRecord): PersonIdentifierRow[] {
  const period = { periodStart: r.validFrom ?? null, periodEnd: r.validTo ?? null };
  return [
    ...(r.insuredMemberId
      ? [{ system: ID_SYSTEMS.insuredMemberId, value: r.insuredMemberId.value, payer: r.insuredMemberId.insurerNumber, ...period }]
      : []),
    ...(r.publicPayerMemberId
      ? [
          {
            system: ID_SYSTEMS.publicPayerMemberId,
            value: r.publicPayerMemberId.value,
            payer: r.publicPayerMemberId.payerNumber,
            ...period,
          },
        ]
      : []),
  ];
}

export function activeMedicalId(p: Patient, system: string): string | undefined {
  return p.identifier?.find((i) => i.system === system && i.use !== 'old')?.value;
}
