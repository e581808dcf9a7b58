/** Consents and care relationships for access-policy tests: written by the authority, over HTTP. */
import type { Consent } from '@medplum/fhirtypes';
import { ID_SYSTEMS } from '../../src/core/systems.ts';
import { fhirFetch } from './fhir.ts';
import type { TestServer } from './server.ts';

export type ActorKind = 'medical-institution' | 'insurer' | 'regional-network';

const SYSTEM_OF: Record<ActorKind, string> = {
  'medical-institution': ID_SYSTEMS.medicalInstitutionCode,
  insurer: ID_SYSTEMS.insurerNumber,
  'regional-network': ID_SYSTEMS.regionalNetwork,
};

/** A person's Consent: permit or deny, naming an organization (or, without `actor`, everyone). */
export function consent(
  patientId: string,
  type: 'permit' | 'deny',
  actor?: { kind: ActorKind; code: string },
  extra: { purposes?: string[]; classes?: string[] } = {},
): Consent {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patientId}` },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: type === 'permit' ? 'OPTIN' : 'OPTOUT' }] },
    provision: {
      type,
      ...(actor
        ? {
            actor: [
              {
                role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
                reference: { identifier: { system: SYSTEM_OF[actor.kind], value: actor.code } },
              },
            ],
          }
        : {}),
      ...(extra.purposes
        ? { purpose: extra.purposes.map((code) => ({ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code })) }
        : {}),
      ...(extra.classes ? { class: extra.classes.map((code) => ({ system: 'http://hl7.org/fhir/resource-types', code })) } : {}),
    },
  };
}

/** Writes a Consent as the authority; returns its id. */
export async function writeConsent(s: TestServer, c: Consent): Promise<string> {
  const res = await fhirFetch<Consent>(`${s.base}/Consent`, { method: 'POST', json: c, headers: { authorization: `Bearer ${s.token}` } });
  if (res.status !== 201) throw new Error(`Consent not written: ${res.status} ${res.text}`);
  return res.body.id as string;
}
