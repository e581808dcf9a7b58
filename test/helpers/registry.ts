/** Registration records for tests: valid insurer numbers, Patients and $register bodies. */
import type { Parameters, ParametersParameter, Patient } from '@medplum/fhirtypes';
import { parseInsurerNumber } from '../../src/identifiers/insurer-number.ts';
import { parseMyNumber } from '../../src/identifiers/my-number.ts';
import { EXTENSIONS, ID_SYSTEMS } from '../../src/core/systems.ts';
import { fhirFetch } from './fhir.ts';
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
  const [fa, ga] = p.kana ?? ['ヤマダ', 'タロウ'];
  // A person given only by kana is written in kana twice: a shared default kanji name would make
  // every such person alike to the match engine (same kanji name and birth date: issue 18 item 5).
  const [fk, gk] = p.kanji ?? (p.kana ? p.kana : ['山田', '太郎']);
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

/**
 * Registers a family's members (insurer, 記号 1, each member's number, 枝番 00, born 1981-01-01,
 * insured since 2020-04-01) and posts each one's Coverage, as an insurer's onboarding does;
 * returns record → Patient id. Uses the token set by useToken.
 */
export async function registerInsured(
  base: string,
  insurer: string,
  family: { kana: string; kanji: string },
  members: readonly { record: string; number: string; given: string }[],
): Promise<Record<string, string>> {
  const reg = await fhirFetch<Parameters>(`${base}/Patient/$register`, {
    method: 'POST',
    json: registerBody(
      members.map((m) => ({
        record: m.record,
        patient: registrationPatient({
          insurer,
          symbol: '1',
          number: m.number,
          kana: [family.kana, m.given],
          kanji: [family.kanji, m.given],
          birthDate: '1981-01-01',
          period: { start: '2020-04-01' },
        }),
      })),
    ),
  });
  const pid: Record<string, string> = {};
  for (const r of results(reg.body)) pid[r.record as string] = r.patient as string;
  for (const m of members) await postCoverage(base, insurer, m.number, pid[m.record] ?? '');
  return pid;
}

/** Posts the insurer's Coverage of a member (記号 1, 枝番 00, since 2020-04-01), as its onboarding does. Uses the token set by useToken unless `headers` are given. */
export async function postCoverage(
  base: string,
  insurer: string,
  number: string,
  patientId: string,
  headers?: Record<string, string>,
): Promise<void> {
  const jpc = EXTENSIONS.jpCoverageInsuredPerson;
  const res = await fhirFetch(`${base}/Coverage`, {
    method: 'POST',
    ...(headers ? { headers } : {}),
    json: {
      resourceType: 'Coverage',
      status: 'active',
      identifier: [{ system: ID_SYSTEMS.insuredMemberId, value: `${insurer}:1:${number}:00` }],
      extension: [
        { url: `${jpc}Symbol`, valueString: '1' },
        { url: `${jpc}Number`, valueString: number },
        { url: `${jpc}SubNumber`, valueString: '00' },
      ],
      beneficiary: { reference: `Patient/${patientId}` },
      payor: [{ identifier: { system: ID_SYSTEMS.insurerNumber, value: insurer } }],
      period: { start: '2020-04-01' },
    },
  });
  if (res.status !== 201) throw new Error(`Coverage not created: ${res.text}`);
}
