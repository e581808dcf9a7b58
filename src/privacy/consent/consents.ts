/** The one read of a person's Consents (R10, R11): every current Consent whose patient is the person. */
import type { Consent } from '@medplum/fhirtypes';
import type { Repository } from '../../repo/repository.ts';

export async function consentsOf(repo: Repository, patientId: string): Promise<Consent[]> {
  return (await repo.referring('Consent', 'patient', 'Patient', [patientId])).map((r) => JSON.parse(r.content) as Consent);
}
