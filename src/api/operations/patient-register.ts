/**
 * Patient/$register: an insurer's registrations, online (R1). Input: `registration` parameters
 * (parts `record` — the insurer's own key — and `patient`), or a Bundle of Patients posted as
 * the body. Each record is decided and written in its own transaction; the response lists one
 * `result` per record (status, Patient, medical ID, held-review Task, issues) and a summary.
 * A record that fails is reported and nothing is written for it; the others still load.
 */
import type { Bundle, OperationOutcome, Parameters, ParametersParameter, Patient } from '@medplum/fhirtypes';
import type { IdentifierRules } from '../../identifiers/kind.ts';
import { recordFromPatient } from '../../registry/patient.ts';
import type { RecordResult, RegistrationResult, RegistrationStatus } from '../../registry/record.ts';
import type { Registrar } from '../../registry/registrar.ts';
import { errors, issue } from '../../core/outcome.ts';
import { japanDay } from '../../jp/date.ts';
import { operationUrl, SYSTEMS } from '../../core/systems.ts';
import { assertMayRegister } from '../../privacy/access-rules.ts';
import { defineOperation } from './operation.ts';
import type { OperationHandler } from './operation.ts';

/** At most this many records per call: larger files go through `medid import` in batches. */
export const MAX_REGISTRATIONS = 1000;

type Shape = 'string' | 'number' | 'object' | 'strings' | 'objects';

/** The JSON shape of every element a registration reads (registry/patient.ts recordFromPatient). */
const PATIENT_SHAPE: Record<string, Shape> = {
  birthDate: 'string',
  multipleBirthInteger: 'number',
  gender: 'string',
  identifier: 'objects',
  name: 'objects',
  telecom: 'objects',
  address: 'objects',
};
const PART_SHAPE: Record<string, Record<string, Shape>> = {
  identifier: { system: 'string', value: 'string', period: 'object' },
  name: { family: 'string', given: 'strings', use: 'string', extension: 'objects', period: 'object' },
  telecom: { system: 'string', value: 'string' },
  address: { postalCode: 'string', text: 'string', line: 'strings', city: 'string', state: 'string', district: 'string' },
};

const SHAPE_WORDS: Record<Shape, string> = {
  string: 'a string',
  number: 'a number',
  object: 'an object',
  strings: 'an array of strings',
  objects: 'an array of objects',
};

function fits(v: unknown, shape: Shape): boolean {
  const isObj = (x: unknown): boolean => typeof x === 'object' && x !== null && !Array.isArray(x);
  switch (shape) {
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number';
    case 'object':
      return isObj(v);
    case 'strings':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'objects':
      return Array.isArray(v) && v.every(isObj);
  }
}

/**
 * A record whose Patient has the wrong JSON type where a registration reads it (a null
 * birthDate, a number for a gender or an identifier value) fails alone, naming the element. A
 * shape check, not full validation: medid builds the Patient it stores from the checked record.
 */
function shapeIssues(p: Patient): { expression: string; text: string }[] {
  const out: { expression: string; text: string }[] = [];
  const o = p as unknown as Record<string, unknown>;
  for (const [k, shape] of Object.entries(PATIENT_SHAPE)) {
    if (o[k] === undefined) continue;
    if (!fits(o[k], shape)) {
      out.push({ expression: k, text: `Patient.${k} must be ${SHAPE_WORDS[shape]}` });
      continue;
    }
    const parts = PART_SHAPE[k];
    if (!parts) continue;
    (o[k] as Record<string, unknown>[]).forEach((x, i) => {
      for (const [pk, ps] of Object.entries(parts)) {
        if (x[pk] !== undefined && !fits(x[pk], ps))
          out.push({ expression: `${k}[${i}].${pk}`, text: `Patient.${k}.${pk} has the wrong JSON type` });
      }
    });
  }
  return out;
}

function checked(patient: Patient, key: string | undefined, where: string, rules: IdentifierRules, today: string): RecordResult {
  const bad = shapeIssues(patient);
  if (bad.length === 0) return recordFromPatient(patient, key, rules, today);
  return {
    ok: false,
    record: key,
    issues: bad.map((i) => ({ expression: `${where}.${i.expression}`, rule: 'register.patient-shape', text: i.text })),
  };
}

/** The records of a call; `today` (Japan's day) bounds birth dates. */
function recordsOf(
  registrations: readonly ParametersParameter[][],
  bundle: Bundle | undefined,
  rules: IdentifierRules,
  today: string,
): RecordResult[] {
  const out: RecordResult[] = [];
  registrations.forEach((list, i) => {
    const key = list.find((p) => p.name === 'record')?.valueString;
    const patient = list.find((p) => p.name === 'patient')?.resource;
    if (patient?.resourceType !== 'Patient') {
      out.push({
        ok: false,
        record: key,
        issues: [
          {
            expression: `Parameters.parameter.where(name='registration')[${i}].part.where(name='patient')`,
            rule: 'register.patient-required',
            text: 'each registration needs a patient part holding a Patient',
          },
        ],
      });
      return;
    }
    out.push(
      checked(patient, key, `Parameters.parameter.where(name='registration')[${i}].part.where(name='patient').resource`, rules, today),
    );
  });
  if (bundle) {
    if (bundle.resourceType !== 'Bundle')
      throw errors.badRequest('$register takes a Parameters or a Bundle of Patients', 'invalid-parameter', 'resource');
    (bundle.entry ?? []).forEach((e, i) => {
      const r = e.resource;
      if (r?.resourceType !== 'Patient') {
        out.push({
          ok: false,
          record: e.fullUrl,
          issues: [
            { expression: `Bundle.entry[${i}].resource`, rule: 'register.patient-required', text: 'each entry must hold a Patient' },
          ],
        });
        return;
      }
      out.push(checked(r, e.fullUrl ?? r.id, `Bundle.entry[${i}].resource`, rules, today));
    });
  }
  return out;
}

function resultParameter(r: RegistrationResult, medicalIdSystem: string): ParametersParameter {
  const part: ParametersParameter[] = [{ name: 'status', valueCode: r.status }];
  if (r.record !== undefined) part.unshift({ name: 'record', valueString: r.record });
  if (r.patientId) part.push({ name: 'patient', valueReference: { reference: `Patient/${r.patientId}` } });
  if (r.medicalId) part.push({ name: 'medicalId', valueIdentifier: { system: medicalIdSystem, value: r.medicalId } });
  if (r.taskId) part.push({ name: 'task', valueReference: { reference: `Task/${r.taskId}` } });
  if (r.issues.length > 0) {
    const oo: OperationOutcome = {
      resourceType: 'OperationOutcome',
      issue: r.issues
        .map((i) =>
          issue({
            severity: r.status === 'error' ? 'error' : 'warning',
            code: r.status === 'review' ? 'business-rule' : 'invalid',
            medid: r.status === 'review' ? 'business-rule' : 'invalid-identifier',
            text: i.text,
            expression: i.expression,
          }),
        )
        .map((x, n) => ({
          ...x,
          details: { ...x.details, coding: [...(x.details?.coding ?? []), { system: SYSTEMS.medidErrorRule, code: r.issues[n]?.rule }] },
        })),
    };
    part.push({ name: 'issues', resource: oo });
  }
  return { name: 'result', part };
}

interface RegisterInput {
  /** Each `registration` parameter's parts (record, patient). */
  registrations: readonly ParametersParameter[][];
  /** A Bundle of Patients posted as the body instead. */
  bundle: Bundle | undefined;
}

export function patientRegister(
  registrar: Registrar,
  o: {
    rules: IdentifierRules;
    medicalIdSystem: string;
    concurrency: number;
    /** Told each call's results by status (metrics: registration and `medid import --server` progress). */
    registered?: (counts: Readonly<Record<RegistrationStatus, number>>) => void;
  },
): OperationHandler {
  return defineOperation<RegisterInput>({
    url: operationUrl('Patient-register'),
    selfCommitting: true,
    input: (call) => ({
      registrations: call.input.all('registration').map((v, i) => {
        if (!Array.isArray(v)) {
          throw errors.badRequest(
            `registration[${i}] must have parts (record, patient), not a value`,
            'invalid-parameter',
            `Parameters.parameter.where(name='registration')[${i}]`,
          );
        }
        return v as ParametersParameter[];
      }),
      bundle: call.input.resource('resource') as Bundle | undefined,
    }),
    async handle(ctx, input, call) {
      const org = call.req.principal?.org;
      assertMayRegister(org);
      const records = recordsOf(input.registrations, input.bundle, o.rules, japanDay(ctx.clock.now()));
      if (records.length === 0)
        throw errors.badRequest(
          '$register needs at least one registration',
          'invalid-parameter',
          "Parameters.parameter.where(name='registration')",
          'required',
        );
      if (records.length > MAX_REGISTRATIONS)
        throw errors.payloadTooLarge(
          `$register takes at most ${MAX_REGISTRATIONS} registrations per call; send larger files in batches (medid import)`,
        );
      const results = await registrar.registerAll(records, org, o.concurrency);
      const counts: Record<RegistrationStatus, number> = { created: 0, updated: 0, unchanged: 0, review: 0, error: 0 };
      for (const r of results) counts[r.status]++;
      o.registered?.(counts);
      const body: Parameters = {
        resourceType: 'Parameters',
        parameter: [
          { name: 'summary', part: Object.entries(counts).map(([name, n]) => ({ name, valueInteger: n })) },
          ...results.map((r) => resultParameter(r, o.medicalIdSystem)),
        ],
      };
      const patients = [...new Set(results.flatMap((r) => (r.patientId ? [r.patientId] : [])))];
      return { status: 200, body, disclosed: patients.map((id) => ({ resourceType: 'Patient', id, patients: [id] })) };
    },
  });
}
