/**
 * Record location (R11): which organizations served a person (from the service uses that valid
 * eligibility confirmations record), their directory entries and active endpoints — minus what
 * the person's Consents deny (the one consent decision, consent/decision.ts). Who may ask:
 * access-rules.ts (treatment only, medical institutions and the authority).
 */
import type { Endpoint, Organization } from '@medplum/fhirtypes';
import { ID_SYSTEMS, POLICIES } from '../core/systems.ts';
import type { UnitOfWork } from '../repo/unit-of-work.ts';
import { serviceUseOf } from '../store/service-use.ts';
import type { ServiceUseRow } from '../store/service-use.ts';
import { consentsOf } from './consent/consents.ts';
import { decideConsent } from './consent/decision.ts';

export interface RecordLocations {
  /** Service uses shown: one per organization, first and last confirmed day, visits. */
  uses: ServiceUseRow[];
  organizations: Organization[];
  endpoints: Endpoint[];
  /** The person's Consent denies record location altogether. */
  deniedAll: boolean;
}

const codeOf = (o: Organization): string | undefined => o.identifier?.find((i) => i.system === ID_SYSTEMS.medicalInstitutionCode)?.value;

/**
 * Where the person's records are, on `day`, as their Consents allow — or, asked by the person
 * themselves (`forThePerson`), all of it: their Consents bind others, not what they see of their own.
 */
export async function recordLocationsOf(uow: UnitOfWork, patientId: string, day: string, forThePerson = false): Promise<RecordLocations> {
  const repo = uow.resources;
  const consent = forThePerson
    ? decideConsent([], { policy: POLICIES.recordLocation, day })
    : decideConsent(await consentsOf(repo, patientId), { policy: POLICIES.recordLocation, day });
  const uses = consent.denyAll ? [] : await serviceUseOf(uow.db, patientId);
  const orgs = (
    await repo.byIdentifier(
      'Organization',
      ID_SYSTEMS.medicalInstitutionCode,
      uses.map((u) => u.orgCode),
    )
  ).map((r) => JSON.parse(r.content) as Organization);
  const organizations = orgs.filter(
    (o) => !consent.deniedOrganizationIds.has(o.id as string) && !consent.deniedOrganizationCodes.has(codeOf(o) ?? ''),
  );
  const visibleCodes = new Set(organizations.map(codeOf));
  // A use is shown when its organization is visible, or not in the directory at all (and not denied by code).
  const shown = uses.filter(
    (u) => !consent.deniedOrganizationCodes.has(u.orgCode) && (visibleCodes.has(u.orgCode) || !orgs.some((o) => codeOf(o) === u.orgCode)),
  );
  const endpoints = (
    await repo.referring(
      'Endpoint',
      'organization',
      'Organization',
      organizations.map((o) => o.id as string),
    )
  )
    .map((r) => JSON.parse(r.content) as Endpoint)
    .filter((e) => e.status === 'active');
  return { uses: shown, organizations, endpoints, deniedAll: consent.denyAll };
}
