/**
 * Patient/$ihe-pix (IHE PIXm ITI-83): a regional network or hospital gives one identifier it
 * knows and gets the person's identifiers in the other domains it may see (R12). Status codes as
 * PIXm says: unknown identifier in a known domain 404, unknown source domain 400, a target
 * domain that is unknown (or not the caller's to see) 403. The cross-referencing and who may see
 * which domain are the privacy service's (privacy/cross-reference.ts); this is the FHIR shape.
 */
import { rowsFor } from '../request.ts';
import type { Parameters } from '@medplum/fhirtypes';
import { errors } from '../../core/outcome.ts';
import { operationUrl } from '../../core/systems.ts';
import { crossReference } from '../../privacy/cross-reference.ts';
import { defineOperation } from './operation.ts';
import type { OperationHandler } from './operation.ts';

interface PixInput {
  /** sourceIdentifier as system|value. */
  source: string;
  /** targetSystem values (each may list several, comma-separated). */
  targets: string[];
}

export function patientIhePix(o: { medicalIdSystem: string }): OperationHandler {
  return defineOperation<PixInput>({
    url: operationUrl('Patient-ihe-pix'),
    input: (call) => ({
      source: call.input.string('sourceIdentifier') ?? '',
      targets: call.input
        .all('targetSystem')
        .flatMap((t) => String(t).split(','))
        .filter((t) => t !== ''),
    }),
    async handle(ctx, input, call) {
      const bar = input.source.indexOf('|');
      if (bar <= 0 || bar === input.source.length - 1)
        throw errors.badRequest('sourceIdentifier must be a token system|value', 'invalid-parameter', 'sourceIdentifier', 'required');
      const found = await crossReference(
        ctx.uow,
        { system: input.source.slice(0, bar), value: input.source.slice(bar + 1), targets: input.targets },
        call.req.principal?.org,
        { medicalIdSystem: o.medicalIdSystem, normalizeIdentifier: ctx.normalizeIdentifier },
        rowsFor(call.req, 'identify'),
      );
      const body: Parameters = {
        resourceType: 'Parameters',
        parameter: [
          ...found.identifiers.map((id) => ({
            name: 'targetIdentifier',
            valueIdentifier: {
              system: id.system,
              value: id.value,
              ...(id.use ? { use: id.use } : {}),
              ...(id.period ? { period: id.period } : {}),
            },
          })),
          { name: 'targetId', valueReference: { reference: `Patient/${found.patientId}` } },
        ],
      };
      return {
        status: 200,
        body,
        disclosed: [{ resourceType: 'Patient', id: found.patientId, versionId: found.versionId, patients: [found.patientId] }],
      };
    },
  });
}
