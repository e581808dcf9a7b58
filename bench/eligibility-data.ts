/** What the eligibility benchmarks send and seed: Coverages of synthetic persons and hospitals' confirmation requests. */
import type { Coverage, CoverageEligibilityRequest } from '@medplum/fhirtypes';
import { EXTENSIONS, ID_SYSTEMS } from '../src/core/systems.ts';
import type { Person } from './match-population.ts';

/** What a card carries. */
export type Card = Pick<Person, 'birthDate' | 'insurer' | 'symbol' | 'number' | 'branch'>;

const JPC = EXTENSIONS.jpCoverageInsuredPerson;
/** The medical institution that confirms in the benchmarks. */
export const HOSPITAL = '1310000001';

/** A Coverage for the card `insurer:symbol:number:branch` of a person. */
export function coverage(p: Person, patientId: string, insurer: string, number: string, start: string, end?: string): Coverage {
  return {
    resourceType: 'Coverage',
    status: 'active',
    identifier: [{ system: ID_SYSTEMS.insuredMemberId, value: `${insurer}:${p.symbol}:${number}:${p.branch}` }],
    extension: [
      { url: `${JPC}Symbol`, valueString: p.symbol },
      { url: `${JPC}Number`, valueString: number },
      { url: `${JPC}SubNumber`, valueString: p.branch },
    ],
    beneficiary: { reference: `Patient/${patientId}` },
    payor: [{ identifier: { system: ID_SYSTEMS.insurerNumber, value: insurer } }],
    period: { start, ...(end ? { end } : {}) },
  };
}

/** An eligibility confirmation request for a card on a day, as a hospital sends it. */
export function request(p: Card, day: string): CoverageEligibilityRequest {
  return {
    resourceType: 'CoverageEligibilityRequest',
    status: 'active',
    purpose: ['validation'],
    created: `${day}T09:00:00+09:00`,
    contained: [
      { resourceType: 'Patient', id: 'p', birthDate: p.birthDate },
      {
        resourceType: 'Coverage',
        id: 'c',
        status: 'active',
        beneficiary: { reference: '#p' },
        payor: [{ display: 'card' }],
        extension: [
          { url: `${JPC}Symbol`, valueString: p.symbol },
          { url: `${JPC}Number`, valueString: p.number },
          { url: `${JPC}SubNumber`, valueString: p.branch },
        ],
      },
    ],
    patient: { reference: '#p' },
    servicedDate: day,
    insurer: { identifier: { system: ID_SYSTEMS.insurerNumber, value: p.insurer } },
    insurance: [{ coverage: { reference: '#c' } }],
  };
}
