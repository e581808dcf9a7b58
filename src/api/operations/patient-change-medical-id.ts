/** Patient/[id]/$change-medical-id (R6): a new medical ID for the same person; the old one stays, `use: old`. */
import type { Parameters } from '@medplum/fhirtypes';
import { operationUrl } from '../../core/systems.ts';
import type { Lifecycle } from '../../registry/lifecycle.ts';
import { disclosePatients } from './patient-parameters.ts';
import { defineOperation } from './operation.ts';
import { assertAuthorityStaff } from '../../privacy/access-rules.ts';
import type { OperationHandler } from './operation.ts';

export function patientChangeMedicalId(lc: Lifecycle, medicalIdSystem: string): OperationHandler {
  return defineOperation<{ patientId: string }>({
    url: operationUrl('Patient-change-medical-id'),
    selfCommitting: true,
    input: (call) => ({ patientId: call.id as string }),
    async handle(_ctx, { patientId }, call) {
      assertAuthorityStaff(call.req.principal?.org, '$change-medical-id');
      const r = await lc.changeMedicalId(patientId);
      const body: Parameters = {
        resourceType: 'Parameters',
        parameter: [
          { name: 'medicalId', valueIdentifier: { use: 'official', system: medicalIdSystem, value: r.new } },
          { name: 'previous', valueIdentifier: { use: 'old', system: medicalIdSystem, value: r.old } },
          { name: 'patient', resource: r.patient },
        ],
      };
      return { status: 200, body, disclosed: disclosePatients(patientId) };
    },
  });
}
