/**
 * Task/[id]/$resolve (R1): the decision on a registration held for review — the held record is
 * this registered person (`person`, with `apply` saying whether the record's facts or only its
 * numbers are taken) or a new one (`new-person`). By the authority's staff or the insurer whose
 * record it is; once. The answer names the person and its medical ID; the Task is completed with
 * the person as its output; the person's Patient write and this call are both audited in the
 * person's history (the audit keeps the decision's kind, never a number).
 */
import type { Parameters } from '@medplum/fhirtypes';
import { errors } from '../../core/outcome.ts';
import { operationUrl } from '../../core/systems.ts';
import { assertMayRegister } from '../../privacy/access-rules.ts';
import type { Registrar } from '../../registry/registrar.ts';
import { REVIEW_APPLY } from '../../registry/review.ts';
import type { ReviewChoice } from '../../registry/review.ts';
import { disclosePatients, patientIdOf } from './patient-parameters.ts';
import { defineOperation } from './operation.ts';
import type { OperationHandler } from './operation.ts';

interface ResolveInput {
  taskId: string;
  choice: ReviewChoice;
}

function choiceOf(person: unknown, newPerson: boolean | undefined, apply: string | undefined): ReviewChoice {
  if (newPerson === false)
    throw errors.badRequest('Parameter new-person is true, or absent (rule review.choice)', 'invalid-parameter', 'new-person');
  if ((person === undefined) === (newPerson === undefined))
    throw errors.badRequest(
      'Give exactly one of person (the registered Patient the held record is) and new-person = true (rule review.choice)',
      'invalid-parameter',
      person === undefined ? 'person' : 'new-person',
      'required',
    );
  if (newPerson) {
    if (apply !== undefined)
      throw errors.badRequest('Parameter apply goes with person only: a new person takes the whole record', 'invalid-parameter', 'apply');
    return { kind: 'new-person' };
  }
  const a = apply ?? 'record';
  if (!(REVIEW_APPLY as readonly string[]).includes(a))
    throw errors.badRequest(`Parameter apply must be one of ${REVIEW_APPLY.join(', ')}`, 'invalid-parameter', 'apply');
  return { kind: 'person', patientId: patientIdOf(person, 'person'), apply: a as 'record' | 'identifiers' };
}

export function taskResolve(registrar: Registrar, medicalIdSystem: string): OperationHandler {
  return defineOperation<ResolveInput>({
    url: operationUrl('Task-resolve'),
    selfCommitting: true,
    input: (call) => ({
      taskId: call.id ?? '',
      choice: choiceOf(call.input.all('person')[0], call.input.boolean('new-person'), call.input.string('apply')),
    }),
    async handle(_ctx, { taskId, choice }, call) {
      const org = call.req.principal?.org;
      assertMayRegister(org);
      const r = await registrar.resolve(taskId, choice, org);
      const body: Parameters = {
        resourceType: 'Parameters',
        parameter: [
          { name: 'task', valueReference: { reference: `Task/${taskId}` } },
          { name: 'status', valueCode: r.status },
          { name: 'patient', valueReference: { reference: `Patient/${r.patientId}` } },
          ...(r.medicalId
            ? [{ name: 'medicalId', valueIdentifier: { use: 'official' as const, system: medicalIdSystem, value: r.medicalId } }]
            : []),
        ],
      };
      const decided = choice.kind === 'new-person' ? 'resolution=new-person' : `resolution=person&apply=${choice.apply}`;
      return { status: 200, body, disclosed: disclosePatients(r.patientId), query: `task=${taskId}&${decided}` };
    },
  });
}
