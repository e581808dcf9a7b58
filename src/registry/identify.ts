/**
 * Who a registration record is (R1, R17), decided on the candidates found under lock: the same
 * My Number (by its MAC) or the same insured / public-payer member id is the same person;
 * otherwise the exact demographic rule (kana name + birth date + sex) finds namesakes, which are
 * not proof at national scale and are held for the authority's staff — unless My Numbers prove
 * the persons differ.
 */
import type { Patient } from '@medplum/fhirtypes';
import { ID_SYSTEMS } from '../core/systems.ts';
import type { Candidate, PersonIdentifierRow, PersonRow } from '../store/persons.ts';
import type { RegistrationRecord } from './record.ts';

export type Identification =
  { kind: 'new' } | { kind: 'existing'; person: PersonRow } | { kind: 'review'; reason: string; candidates: PersonRow[] };

/** The identification rule, on the candidates found under lock. */
export function identifyPerson(
  r: RegistrationRecord,
  cands: readonly Candidate[],
  birthDateOf: (p: PersonRow) => string | undefined,
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
    if (!byMyNumber && birthDateOf(p) !== r.birthDate) {
      return { kind: 'review', reason: 'The insured number names a person with a different birth date', candidates: [p] };
    }
    return { kind: 'existing', person: p };
  }
  const namesakes = cands.filter((c) => c.via === 'demographics');
  if (namesakes.length === 0) return { kind: 'new' };
  // Both have a My Number and they differ (the record's matched nobody): different persons.
  if (r.myNumber !== undefined && namesakes.every((c) => c.hasMyNumber)) return { kind: 'new' };
  return {
    kind: 'review',
    reason: `Same kana name, birth date and sex as ${namesakes.length === 1 ? 'a registered person' : `${namesakes.length} registered persons`}, and no identifier in common`,
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
