/**
 * Patient/$feed-network-id (R12; IHE PIXm's Patient Identity Feed, ITI-104, as an operation): a
 * regional network feeds the local id it gives a person enrolled in it (`localIdentifier`, in
 * its own domain) for the person `patientIdentifier` names (the medical ID, say), or removes one
 * (`remove`); `$ihe-pix` then cross-references it. The rules, and why an operation rather than
 * ITI-104's conditional update, are the privacy service's (privacy/network-ids.ts); this is the
 * FHIR shape. Changes are audited in their own transaction; the call itself like any operation.
 */
import type { Identifier, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { errors } from '../../core/outcome.ts';
import { operationUrl } from '../../core/systems.ts';
import type { FeedResult, Identified, NetworkIds } from '../../privacy/network-ids.ts';
import { rowsFor } from '../request.ts';
import { disclosePatients } from './patient-parameters.ts';
import { defineOperation } from './operation.ts';
import type { OperationHandler } from './operation.ts';

interface FeedInput {
  local: Identified;
  person: Identified | undefined;
  remove: boolean;
}

/** An Identifier parameter with a system and a value (400 naming the parameter, never its value). */
function identified(v: unknown, param: string): Identified {
  const id = v as Identifier | undefined;
  if (typeof id !== 'object' || id === null || typeof id.system !== 'string' || typeof id.value !== 'string' || id.value === '')
    throw errors.badRequest(`Parameter ${param} must be an Identifier with a system and a value`, 'invalid-parameter', param);
  return { system: id.system, value: id.value };
}

function answer(r: FeedResult): Parameters {
  const parameter: ParametersParameter[] = [{ name: 'outcome', valueCode: r.outcome }];
  if (r.patientId !== undefined) parameter.push({ name: 'targetId', valueReference: { reference: `Patient/${r.patientId}` } });
  if (r.previous !== undefined) parameter.push({ name: 'previous', valueIdentifier: { ...r.previous } });
  return { resourceType: 'Parameters', parameter };
}

export function patientFeedNetworkId(ids: NetworkIds): OperationHandler {
  return defineOperation<FeedInput>({
    url: operationUrl('Patient-feed-network-id'),
    input: (call) => ({
      local: identified(call.input.all('localIdentifier')[0], 'localIdentifier'),
      person: call.input.has('patientIdentifier') ? identified(call.input.all('patientIdentifier')[0], 'patientIdentifier') : undefined,
      remove: call.input.boolean('remove') ?? false,
    }),
    async handle(ctx, input, call) {
      const p = call.req.principal;
      if (input.remove) {
        if (input.person)
          throw errors.badRequest(
            'Parameter patientIdentifier is not given with remove: a local id is removed whoever it names',
            'invalid-parameter',
            'patientIdentifier',
          );
        // The person is not disclosed: it may be beyond the caller's reach by now (a withdrawn Consent).
        return { status: 200, body: answer(await ids.remove(ctx.uow, p?.org, input.local)) };
      }
      if (!input.person)
        throw errors.badRequest(
          'Parameter patientIdentifier is required unless remove is true',
          'invalid-parameter',
          'patientIdentifier',
          'required',
        );
      const r = await ids.feed(ctx.uow, p, input.local, input.person, rowsFor(call.req, 'identify'));
      return { status: 200, body: answer(r), disclosed: r.patientId ? disclosePatients(r.patientId) : [] };
    },
  });
}
