/**
 * The registry's integrity against clients' plain writes (R1–R8): a Patient that carries a
 * medical ID — a registry Patient, with its person in registry.person — and its registry-owned
 * elements change only through the registry's operations ($register, $change-medical-id,
 * $record-death, $merge, $unmerge). A client's POST, PUT, DELETE or bundle entry, the
 * authority's included, may not create, alter, copy, strip or delete them; no other resource
 * may carry the medical-ID system or a My Number. The registry's own writes are not clients'
 * writes and do not pass here (repository: only writes with an access pass the guards).
 * A regional network's local id is not written on any Patient either: it is fed through
 * Patient/$feed-network-id and kept apart (network-ids.ts), seen by the authority and that
 * network only — on a Patient, everyone who reads it would see it.
 */
import type { Identifier, Patient, Resource } from '@medplum/fhirtypes';
import { errors } from '../core/outcome.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import type { WriteGuard } from '../repo/repository.ts';
import { personByPatientId } from '../store/persons.ts';
import { PENDING_MY_NUMBER } from './my-number/vault.ts';

/** Patient elements only the registry writes. */
const OWNED_ELEMENTS = ['name', 'birthDate', 'gender', 'active', 'deceasedBoolean', 'deceasedDateTime', 'link'] as const;

const refuse = (rule: string, expression: string): never => {
  throw errors.unprocessable(`Registry integrity: ${rule}`, 'business-rule', expression);
};

/** The registry-owned part of a Patient, as comparable text (identifier order does not matter). */
function ownedPart(p: Patient, ownedSystems: ReadonlySet<string>): string {
  const ids = (p.identifier ?? [])
    .filter((i: Identifier) => ownedSystems.has(i.system ?? ''))
    .map((i) => JSON.stringify(i))
    .sort();
  return JSON.stringify([ids, ...OWNED_ELEMENTS.map((k) => p[k] ?? null)]);
}

/** Whether `after` carries a network's local id that `before` (the stored version) did not. */
function addsNetworkId(after: Patient, before: string | null | undefined): boolean {
  const ids = (after.identifier ?? []).filter((i) => (i.system ?? '').startsWith(ID_SYSTEMS.networkPatientIdPrefix));
  if (ids.length === 0) return false;
  const had = before ? ((JSON.parse(before) as Patient).identifier ?? []) : [];
  return ids.some((i) => !had.some((h) => h.system === i.system && h.value === i.value));
}

export function registryIntegrityGuard(medicalIdSystem: string): WriteGuard {
  const ownedSystems = new Set([medicalIdSystem, ID_SYSTEMS.myNumber, ID_SYSTEMS.insuredMemberId, ID_SYSTEMS.publicPayerMemberId]);
  const carriesMedicalId = (r: Resource): boolean => JSON.stringify(r).includes(`"${medicalIdSystem}"`);
  const carriesMyNumber = (r: Resource): boolean => PENDING_MY_NUMBER in r;
  return async (db, w) => {
    if (w.after && w.type !== 'Patient' && carriesMedicalId(w.after)) {
      refuse('only the registry Patient carries a medical ID (no other resource may name the medical-ID system)', w.type);
    }
    if (w.type !== 'Patient') return;
    if (w.after && addsNetworkId(w.after as Patient, w.before)) {
      refuse(
        "a regional network's local id is fed through Patient/$feed-network-id only (kept apart from the Patient: only the authority and that network see it)",
        'Patient.identifier',
      );
    }
    // A create under an id the server has just drawn cannot be a registry Patient: no lookup.
    const registered = !w.minted && (await personByPatientId(db, w.id)) !== undefined;
    if (!registered) {
      if (w.after && (carriesMedicalId(w.after) || carriesMyNumber(w.after))) {
        refuse('medical IDs and My Numbers enter the registry through Patient/$register only', 'Patient.identifier');
      }
      return;
    }
    if (!w.after) {
      throw errors.forbidden(
        'Registry integrity: a registry Patient is never deleted (use Patient/$record-death, or Patient/$merge for a duplicate)',
      );
    }
    if (carriesMyNumber(w.after)) refuse('a My Number is bound through Patient/$register only', 'Patient.identifier');
    const before = w.before ? (JSON.parse(w.before) as Patient) : undefined;
    if (!before || ownedPart(before, ownedSystems) !== ownedPart(w.after as Patient, ownedSystems)) {
      refuse(
        'the medical ID, insured and public-payer member ids, registered names, birth date, sex, status and links of a registry Patient change only through the registry operations ($register, $change-medical-id, $record-death, $merge, $unmerge)',
        'Patient',
      );
    }
  };
}
