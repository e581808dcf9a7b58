/** Patient/[id]/$record-death (R7): the person died on `date`; the medical ID serves research until the retention ends. */
import { errors } from '../../core/outcome.ts';
import { operationUrl } from '../../core/systems.ts';
import { parseJapaneseDate } from '../../jp/date.ts';
import type { Lifecycle } from '../../registry/lifecycle.ts';
import { disclosePatients } from './patient-parameters.ts';
import { defineOperation } from './operation.ts';
import { assertAuthorityStaff } from '../../privacy/access-rules.ts';
import type { OperationHandler } from './operation.ts';

interface RecordDeathInput {
  patientId: string;
  /** The day of death as given (read after the authority check: a refusal says nothing about the date). */
  date: string;
}

export function patientRecordDeath(lc: Lifecycle): OperationHandler {
  return defineOperation<RecordDeathInput>({
    url: operationUrl('Patient-record-death'),
    selfCommitting: true,
    input: (call) => ({ patientId: call.id as string, date: call.input.string('date') ?? '' }),
    async handle(_ctx, input, call) {
      assertAuthorityStaff(call.req.principal?.org, '$record-death');
      const date = parseJapaneseDate(input.date);
      if (!date)
        throw errors.badRequest(
          `Parameter date: not a date (YYYY-MM-DD, or a Japanese era date such as 令和8年4月1日)`,
          'invalid-parameter',
          'date',
        );
      const patient = await lc.recordDeath(input.patientId, date);
      return { status: 200, body: patient, disclosed: disclosePatients(input.patientId) };
    },
  });
}
