/**
 * Patient/$export for insurers (R3), after the FHIR Bulk Data Access pattern: the kick-off
 * (`Prefer: respond-async`) answers 202 with a status URL (patient-export-status.ts serves it and
 * the files). An insurer exports only persons holding one of its own numbers; the authority
 * names the insurer. The job itself is the registry's (registry/export-jobs.ts).
 */
import { errors } from '../../core/outcome.ts';
import { operationUrl } from '../../core/systems.ts';
import type { ExportJobs } from '../../registry/export-jobs.ts';
import { header, preferences } from '../request.ts';
import { exportPayerOf, isPayerNumber } from '../../privacy/access-rules.ts';
import { defineOperation } from './operation.ts';
import type { OperationHandler } from './operation.ts';

interface ExportInput {
  respondAsync: boolean;
  accept: string | undefined;
  outputFormat: string | undefined;
  type: string | undefined;
  /** The insurer or public payer number (the authority names it; an insurer may repeat its own). */
  insurer: string | undefined;
  since: string | undefined;
}

const NDJSON = ['application/fhir+ndjson', 'application/ndjson', 'ndjson'];

export function patientExport(jobs: ExportJobs, baseUrl: string): OperationHandler {
  return defineOperation<ExportInput>({
    url: operationUrl('Patient-export'),
    selfCommitting: true,
    input: (call) => ({
      respondAsync: preferences(call.req)['respond-async'] !== undefined,
      accept: header(call.req, 'accept'),
      outputFormat: call.input.string('_outputFormat'),
      type: call.input.string('_type'),
      insurer: call.input.string('insurer'),
      since: call.input.string('_since'),
    }),
    async handle(_ctx, input, call) {
      if (!input.respondAsync)
        throw errors.badRequest('$export is asynchronous: send Prefer: respond-async', 'invalid-parameter', 'Prefer');
      if (input.accept && !/application\/fhir\+json|application\/json|\*\/\*/.test(input.accept))
        throw errors.notAcceptable('$export answers with application/fhir+json (the files are NDJSON)');
      if (input.outputFormat && !NDJSON.includes(input.outputFormat)) {
        throw errors.badRequest(
          `_outputFormat ${input.outputFormat} is not supported (application/fhir+ndjson)`,
          'invalid-parameter',
          '_outputFormat',
        );
      }
      if (input.type && input.type !== 'Patient')
        throw errors.badRequest('_type: this export lists Patient resources only', 'invalid-parameter', '_type');
      const principal = call.req.principal;
      const payer = exportPayerOf(principal?.org, input.insurer);
      if (!payer || !isPayerNumber(payer))
        throw errors.badRequest(
          'Parameter insurer: the insurer or public payer number (6 or 8 digits) is required for the authority',
          'invalid-parameter',
          'insurer',
        );
      const since = input.since === undefined ? undefined : Date.parse(input.since);
      if (since !== undefined && Number.isNaN(since))
        throw errors.badRequest(`_since "${input.since ?? ''}" is not an instant`, 'invalid-parameter', '_since');
      const query = new URLSearchParams(call.req.query).toString();
      const id = await jobs.start({
        clientId: principal?.clientId ?? 'internal',
        payer,
        request: `${baseUrl}/Patient/$export${query ? `?${query}` : ''}`,
        since: since === undefined ? undefined : new Date(since),
      });
      return { status: 202, headers: { 'Content-Location': `${baseUrl}/_export/${id}` } };
    },
  });
}
