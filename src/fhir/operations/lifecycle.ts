/**
 * The medical ID's lifecycle as operations, for the authority's own staff (org kind
 * `authority`): Patient/[id]/$change-medical-id (R6), Patient/[id]/$record-death (R7),
 * Patient/$merge in the FHIR R5 shape and Patient/$unmerge (its undo within the window).
 */
import type { OperationOutcome, Parameters, Patient, Reference } from '@medplum/fhirtypes';
import type { Principal } from '../../auth/principal.ts';
import type { Lifecycle, MergeResult } from '../../registry/lifecycle.ts';
import { normalizeDate } from '../../registry/record.ts';
import { MEDID_CANONICAL } from '../canonical.ts';
import { errors, informational } from '../outcome.ts';
import type { Disclosure } from '../request.ts';
import type { OperationHandler } from './registry.ts';

const op = (code: string): string => `${MEDID_CANONICAL}/OperationDefinition/Patient-${code}`;

function assertAuthority(p: Principal | undefined, what: string): void {
  if (p?.org && p.org.kind !== 'authority') throw errors.forbidden(`${what} is reserved to the authority's staff`);
}

const disclose = (...ids: string[]): Disclosure[] => ids.map((id) => ({ resourceType: 'Patient', id, patients: [id] }));

/** `Patient/123` (or a relative/absolute reference ending so) → 123. */
function patientIdOf(ref: unknown, param: string): string {
  const r = (ref as Reference | undefined)?.reference ?? '';
  const m = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(r);
  if (!m) throw errors.badRequest(`Parameter ${param} must reference a Patient (Patient/[id])`, 'invalid-parameter', param);
  return m[1];
}

export function changeMedicalIdOperation(lc: Lifecycle, medicalIdSystem: string): OperationHandler {
  return {
    url: op('change-medical-id'),
    async handle(_ctx, call) {
      assertAuthority(call.req.principal, '$change-medical-id');
      const id = call.id as string;
      const r = await lc.changeMedicalId(id);
      const body: Parameters = {
        resourceType: 'Parameters',
        parameter: [
          { name: 'medicalId', valueIdentifier: { use: 'official', system: medicalIdSystem, value: r.new } },
          { name: 'previous', valueIdentifier: { use: 'old', system: medicalIdSystem, value: r.old } },
          { name: 'patient', resource: r.patient },
        ],
      };
      return { status: 200, body, disclosed: disclose(id) };
    },
  };
}

export function recordDeathOperation(lc: Lifecycle): OperationHandler {
  return {
    url: op('record-death'),
    async handle(_ctx, call) {
      assertAuthority(call.req.principal, '$record-death');
      const raw = call.input.string('date') ?? '';
      const date = normalizeDate(raw);
      if (!date) throw errors.badRequest(`Parameter date: "${raw}" is not a date (YYYY-MM-DD)`, 'invalid-parameter', 'date');
      const patient = await lc.recordDeath(call.id as string, date);
      return { status: 200, body: patient, disclosed: disclose(call.id as string) };
    },
  };
}

function mergeOutput(input: Parameters, r: MergeResult, text: string): Parameters {
  const outcome: OperationOutcome = informational(text);
  return { resourceType: 'Parameters', parameter: [{ name: 'input', resource: input }, { name: 'outcome', resource: outcome }, { name: 'result', resource: r.target }] };
}

export function mergeOperation(lc: Lifecycle): OperationHandler {
  return {
    url: op('merge'),
    async handle(_ctx, call) {
      assertAuthority(call.req.principal, '$merge');
      const source = patientIdOf(call.input.all('source-patient')[0], 'source-patient');
      const target = patientIdOf(call.input.all('target-patient')[0], 'target-patient');
      const preview = call.input.boolean('preview') ?? false;
      const result = call.input.resource('result-patient') as Patient | undefined;
      const r = await lc.merge(source, target, { preview, result });
      const input = call.req.body as Parameters;
      const text = preview ? `Preview: Patient/${source} would be merged into Patient/${target}; nothing was changed`
        : `Patient/${source} was merged into Patient/${target} (merge ${r.mergeId ?? ''}); it can be undone with $unmerge within the configured window`;
      return { status: 200, body: mergeOutput(input, r, text), disclosed: disclose(source, target) };
    },
  };
}

export function unmergeOperation(lc: Lifecycle): OperationHandler {
  return {
    url: op('unmerge'),
    async handle(_ctx, call) {
      assertAuthority(call.req.principal, '$unmerge');
      const source = patientIdOf(call.input.all('source-patient')[0], 'source-patient');
      const r = await lc.unmerge(source);
      const body: Parameters = {
        resourceType: 'Parameters',
        parameter: [
          { name: 'outcome', resource: informational(`The merge of Patient/${source} into Patient/${r.target.id ?? ''} was undone`) },
          { name: 'source', resource: r.source }, { name: 'target', resource: r.target },
        ],
      };
      return { status: 200, body, disclosed: disclose(source, r.target.id as string) };
    },
  };
}
