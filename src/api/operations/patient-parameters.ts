/**
 * What the medical ID's lifecycle operations share ($change-medical-id, $record-death, $merge,
 * $unmerge): they name Patients by reference, and each discloses the Patients it changes.
 */
import type { Reference } from '@medplum/fhirtypes';
import { errors } from '../../core/outcome.ts';
import type { Disclosure } from '../request.ts';

export const disclosePatients = (...ids: string[]): Disclosure[] => ids.map((id) => ({ resourceType: 'Patient', id, patients: [id] }));

/** `Patient/123` (or a relative/absolute reference ending so) → 123; 400 naming the parameter otherwise. */
export function patientIdOf(ref: unknown, param: string): string {
  const r = (ref as Reference | undefined)?.reference ?? '';
  const m = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(r);
  if (!m) throw errors.badRequest(`Parameter ${param} must reference a Patient (Patient/[id])`, 'invalid-parameter', param);
  return m[1];
}
