/**
 * Keeps registry.patient_medical_id in step with Patients — a repository write hook, for every
 * path (the registry's own writes, the bulk load, clients' writes): which Patient carries which
 * medical ID as its current identifier (official, not ended). The table's primary key refuses
 * a second Patient with the same ID; its one INSERT refuses an ID not issued to the Patient's
 * own person.
 */
import type { Patient } from '@medplum/fhirtypes';
import { errors } from '../core/outcome.ts';
import type { AfterWrite } from '../repo/repository.ts';
import { carryMedicalIds } from '../store/access.ts';

/** The medical IDs a Patient carries as current: official, in the medical-ID system, without an end. */
export function currentMedicalIds(p: Patient, medicalIdSystem: string): string[] {
  return (p.identifier ?? [])
    .filter((i) => i.system === medicalIdSystem && i.use !== 'old' && !i.period?.end && i.value)
    .map((i) => i.value as string);
}

export function carriedMedicalIdHook(medicalIdSystem: string): AfterWrite {
  return async (db, changes) => {
    const replaced: string[] = [];
    const carried: { mid: string; patientId: string }[] = [];
    for (const c of changes) {
      if (c.stored.resourceType !== 'Patient') continue;
      if (c.action !== 'create') replaced.push(c.stored.id);
      const p = c.resource as Patient | undefined;
      if (c.action !== 'delete' && p)
        for (const mid of currentMedicalIds(p, medicalIdSystem)) carried.push({ mid, patientId: c.stored.id });
    }
    if ((await carryMedicalIds(db, replaced, carried)).length > 0) {
      throw errors.conflict(
        "Registry integrity: a Patient carries only its own person's medical ID, and no other Patient may",
        'duplicate',
      );
    }
  };
}
