/** Registration records for tests: valid insurer numbers, Patients and $register bodies. */
import type { Parameters, ParametersParameter, Patient } from '@medplum/fhirtypes';
import { parseInsurerNumber } from '../../src/identifiers/insurer-number.ts';
import { parseMyNumber } from '../../src/identifiers/my-number.ts';
import { ID_SYSTEMS } from '../../src/core/systems.ts';
import { NAME_REPRESENTATION } from '../../src/core/systems.ts';

/** The 8-digit insurer number with a correct check digit for a 7-digit body. */
export function insurerNumber(body7: string): string {
  for (let d = 0; d <= 9; d++) if (parseInsurerNumber(`${body7}${d}`).ok) return `${body7}${d}`;
  throw new Error(`no check digit for ${body7}`);
}

/** A 12-digit My Number with a correct check digit for an 11-digit body. */
export function myNumber(body11: string): string {
  for (let d = 0; d <= 9; d++) if (parseMyNumber(`${body11}${d}`).ok) return `${body11}${d}`;
  throw new Error(`no check digit for ${body11}`);
}

export interface PersonSpec {
  insurer?: string;
  symbol?: string;
  number?: string;
  branch?: string;
  myNumber?: string;
  kanji?: [string, string];
  kana?: [string, string];
  birthDate?: string;
  gender?: Patient['gender'];
  period?: { start?: string; end?: string };
  phone?: string;
}

export function registrationPatient(p: PersonSpec): Patient {
  const ids: NonNullable<Patient['identifier']> = [];
  if (p.insurer)
    ids.push({
      system: ID_SYSTEMS.insuredMemberId,
      value: `${p.insurer}:${p.symbol ?? '1'}:${p.number ?? '1'}:${p.branch ?? '00'}`,
      ...(p.period ? { period: p.period } : {}),
    });
  if (p.myNumber) ids.push({ system: ID_SYSTEMS.myNumber, value: p.myNumber });
  const [fk, gk] = p.kanji ?? ['山田', '太郎'];
  const [fa, ga] = p.kana ?? ['ヤマダ', 'タロウ'];
  return {
    resourceType: 'Patient',
    identifier: ids,
    name: [
      { extension: [{ url: NAME_REPRESENTATION, valueCode: 'IDE' }], family: fk, given: [gk] },
      { extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], family: fa, given: [ga] },
    ],
    birthDate: p.birthDate ?? '1980-04-01',
    gender: p.gender ?? 'male',
    ...(p.phone ? { telecom: [{ system: 'phone', value: p.phone }] } : {}),
  };
}

export function registerBody(records: { record?: string; patient: Patient }[]): Parameters {
  return {
    resourceType: 'Parameters',
    parameter: records.map((r) => ({
      name: 'registration',
      part: [...(r.record ? [{ name: 'record', valueString: r.record }] : []), { name: 'patient', resource: r.patient }],
    })),
  };
}

export interface ParsedResult {
  record?: string;
  status: string;
  patient?: string;
  medicalId?: string;
  task?: string;
  issues?: { issue: { expression?: string[]; details?: { text?: string; coding?: { code?: string }[] } }[] };
}

/** The `result` parameters of a $register response, flattened. */
export function results(p: Parameters): ParsedResult[] {
  return (p.parameter ?? [])
    .filter((x) => x.name === 'result')
    .map((x) => {
      const get = (n: string): ParametersParameter | undefined => x.part?.find((y) => y.name === n);
      return {
        record: get('record')?.valueString,
        status: get('status')?.valueCode as string,
        patient: get('patient')?.valueReference?.reference?.replace('Patient/', ''),
        medicalId: get('medicalId')?.valueIdentifier?.value,
        task: get('task')?.valueReference?.reference?.replace('Task/', ''),
        issues: get('issues')?.resource as ParsedResult['issues'],
      };
    });
}
