/**
 * Patient/$merge in the FHIR R5 shape: the duplicate (source) is merged into the surviving
 * person (target); with `preview` nothing is written. Undone by $unmerge within the window.
 */
import type { OperationOutcome, Parameters, Patient } from '@medplum/fhirtypes';
import { informational } from '../../core/outcome.ts';
import { operationUrl } from '../../core/systems.ts';
import type { Lifecycle, MergeResult } from '../../registry/lifecycle.ts';
import { disclosePatients, patientIdOf } from './patient-parameters.ts';
import { defineOperation } from './operation.ts';
import { assertAuthorityStaff } from '../../privacy/access-rules.ts';
import type { OperationHandler } from './operation.ts';

interface MergeInput {
  /** The source-patient and target-patient references as given (read after the authority check). */
  source: unknown;
  target: unknown;
  preview: boolean;
  resultPatient: Patient | undefined;
}

function mergeOutput(input: Parameters, r: MergeResult, text: string): Parameters {
  const outcome: OperationOutcome = informational(text);
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'input', resource: input },
      { name: 'outcome', resource: outcome },
      { name: 'result', resource: r.target },
    ],
  };
}

export function patientMerge(lc: Lifecycle): OperationHandler {
  return defineOperation<MergeInput>({
    url: operationUrl('Patient-merge'),
    selfCommitting: true,
    input: (call) => ({
      source: call.input.all('source-patient')[0],
      target: call.input.all('target-patient')[0],
      preview: call.input.boolean('preview') ?? false,
      resultPatient: call.input.resource('result-patient') as Patient | undefined,
    }),
    async handle(_ctx, input, call) {
      assertAuthorityStaff(call.req.principal?.org, '$merge');
      const source = patientIdOf(input.source, 'source-patient');
      const target = patientIdOf(input.target, 'target-patient');
      const r = await lc.merge(source, target, { preview: input.preview, result: input.resultPatient });
      const text = input.preview
        ? `Preview: Patient/${source} would be merged into Patient/${target}; nothing was changed`
        : `Patient/${source} was merged into Patient/${target} (merge ${r.mergeId ?? ''}); it can be undone with $unmerge within the configured window`;
      return { status: 200, body: mergeOutput(call.req.body as Parameters, r, text), disclosed: disclosePatients(source, target) };
    },
  });
}
