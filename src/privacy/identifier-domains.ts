/**
 * Which person-identifier domains a caller may query and see (R12, PIXm): the one policy
 * function $ihe-pix uses, and the access rules of later issues will. Domains are the person
 * identifiers medid keeps: the medical ID, insured member ids, public-payer member ids and
 * facility-local ids (one domain per facility). My Number is never a domain anyone sees.
 * - the medical ID and public-payer ids: any caller but a utilizing database;
 * - insured member ids: the authority, medical institutions (they read the card) and an insurer
 *   for its own numbers only;
 * - a facility-local id: the authority and that facility only;
 * - a regional network's local id (its local-ID domain): the authority and that network only.
 */
import type { Identifier } from '@medplum/fhirtypes';
import type { Organization } from '../core/principal.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import { facilityCodeOf } from '../identifiers/facility-patient-id.ts';

/** The network code of a network's local-ID system, or undefined when it is not one. */
export function networkCodeOf(system: string): string | undefined {
  if (!system.startsWith(ID_SYSTEMS.networkPatientIdPrefix)) return undefined;
  const code = system.slice(ID_SYSTEMS.networkPatientIdPrefix.length);
  return /^[a-z][a-z0-9-]{1,63}$/.test(code) ? code : undefined;
}

/** Whether `system` is a person-identifier domain medid keeps. */
export function isPatientDomain(system: string, medicalIdSystem: string): boolean {
  return (
    system === medicalIdSystem ||
    system === ID_SYSTEMS.insuredMemberId ||
    system === ID_SYSTEMS.publicPayerMemberId ||
    facilityCodeOf(system) !== undefined ||
    networkCodeOf(system) !== undefined
  );
}

/** A local-ID domain (a facility's or a network's) belongs to the caller. */
function ownLocalDomain(org: Organization, system: string): boolean {
  const facility = facilityCodeOf(system);
  if (facility !== undefined) return org.kind === 'medical-institution' && facility === org.code;
  const network = networkCodeOf(system);
  return network !== undefined && org.kind === 'regional-network' && network === org.code;
}

/** Whether the caller's organization may see this identifier. */
export function maySeeIdentifier(org: Organization | undefined, id: Identifier, medicalIdSystem: string): boolean {
  const system = id.system ?? '';
  if (system === ID_SYSTEMS.myNumber) return false;
  if (org === undefined || org.kind === 'authority') return true;
  if (system === medicalIdSystem || system === ID_SYSTEMS.publicPayerMemberId) return org.kind !== 'database';
  if (system === ID_SYSTEMS.insuredMemberId)
    return org.kind === 'medical-institution' || (org.kind === 'insurer' && (id.value ?? '').startsWith(`${org.code}:`));
  return ownLocalDomain(org, system);
}

/** Whether the caller may query or receive a domain at all (an insurer: insured numbers, its own only when seen). */
export function mayUseDomain(org: Organization | undefined, system: string, medicalIdSystem: string): boolean {
  if (org === undefined || org.kind === 'authority') return true;
  if (system === ID_SYSTEMS.insuredMemberId) return org.kind === 'medical-institution' || org.kind === 'insurer';
  if (system === medicalIdSystem || system === ID_SYSTEMS.publicPayerMemberId) return org.kind !== 'database';
  return ownLocalDomain(org, system);
}
