/** Patient/$unmerge: undoes a merge within its window; both Patients return to their pre-merge content. */
import type { Parameters } from '@medplum/fhirtypes';
import { informational } from '../../core/outcome.ts';
import { operationUrl } from '../../core/systems.ts';
import type { Lifecycle } from '../../registry/lifecycle.ts';
import { disclosePatients, patientIdOf } from './patient-parameters.ts';
import { defineOperation } from './operation.ts';
import { assertAuthorityStaff } from '../../privacy/access-rules.ts';
import type { OperationHandler } from './operation.ts';

export function patientUnmerge(lc: Lifecycle): OperationHandler {
  return defineOperation<{ source: unknown }>({
    url: operationUrl('Patient-unmerge'),
    selfCommitting: true,
    input: (call) => ({ source: call.input.all('source-patient')[0] }),
    async handle(_ctx, input, call) {
      assertAuthorityStaff(call.req.principal?.org, '$unmerge');
      const source = patientIdOf(input.source, 'source-patient');
      const r = await lc.unmerge(source);
      const body: Parameters = {
        resourceType: 'Parameters',
        parameter: [
          { name: 'outcome', resource: informational(`The merge of Patient/${source} into Patient/${r.target.id ?? ''} was undone`) },
          { name: 'source', resource: r.source },
          { name: 'target', resource: r.target },
        ],
      };
      return { status: 200, body, disclosed: disclosePatients(source, r.target.id as string) };
    },
  });
}
