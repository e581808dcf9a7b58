/** An online eligibility confirmation as a desk sends it: the card's insurer, 記号 1, number, 枝番 00. */
import type { CoverageEligibilityRequest } from '@medplum/fhirtypes';
import { EXTENSIONS, ID_SYSTEMS } from '../../src/core/systems.ts';

const JPC = EXTENSIONS.jpCoverageInsuredPerson;

export function eligibilityCard(insurer: string, number: string, day: string, birthDate = '1981-01-01'): CoverageEligibilityRequest {
  return {
    resourceType: 'CoverageEligibilityRequest',
    status: 'active',
    purpose: ['validation'],
    created: `${day}T09:00:00+09:00`,
    contained: [
      { resourceType: 'Patient', id: 'p', birthDate },
      {
        resourceType: 'Coverage',
        id: 'c',
        status: 'active',
        beneficiary: { reference: '#p' },
        payor: [{ identifier: { system: ID_SYSTEMS.insurerNumber, value: insurer } }],
        extension: [
          { url: `${JPC}Symbol`, valueString: '1' },
          { url: `${JPC}Number`, valueString: number },
          { url: `${JPC}SubNumber`, valueString: '00' },
        ],
      },
    ],
    patient: { reference: '#p' },
    servicedDate: day,
    insurer: { identifier: { system: ID_SYSTEMS.insurerNumber, value: insurer } },
    insurance: [{ coverage: { reference: '#c' } }],
  };
}
