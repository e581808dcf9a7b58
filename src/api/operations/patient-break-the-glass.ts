/** Patient/[id]/$break-the-glass (R24): emergency access to one person, with a reason; the person is told. */
import type { Parameters } from '@medplum/fhirtypes';
import { operationUrl } from '../../core/systems.ts';
import type { BreakTheGlass } from '../../privacy/break-the-glass.ts';
import { disclosePatients } from './patient-parameters.ts';
import { defineOperation } from './operation.ts';
import type { OperationHandler } from './operation.ts';

export function patientBreakTheGlass(btg: BreakTheGlass): OperationHandler {
  return defineOperation<{ patientId: string; reason: string }>({
    url: operationUrl('Patient-break-the-glass'),
    input: (call) => ({ patientId: call.id as string, reason: call.input.string('reason') ?? '' }),
    async handle(ctx, { patientId, reason }, call) {
      const g = await btg.grant(ctx.uow, call.req.principal as NonNullable<typeof call.req.principal>, patientId, reason, ctx.clock.now());
      const body: Parameters = {
        resourceType: 'Parameters',
        parameter: [
          { name: 'expires', valueInstant: g.expiresAt },
          { name: 'communication', valueReference: { reference: `Communication/${g.communicationId}` } },
        ],
      };
      return { status: 200, body, disclosed: disclosePatients(patientId), query: 'break-the-glass' };
    },
  });
}
