/**
 * GET Patient/$match: FHIR allows GET for an operation whose inputs are primitive, so the Patient
 * $match takes is spelled out as search-like query parameters (family, given, birthdate, gender,
 * identifier=system|value, telecom, address-postalcode…, plus count and onlyCertainMatches). It
 * answers as POST with the same Patient does, and the audit record keeps which kinds of data were
 * given, never the values the URL carried. Runs on every database driver.
 */
import type { Bundle, OperationOutcome, Parameters, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ID_SYSTEMS, NAME_REPRESENTATION } from '../../src/core/systems.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { insurerNumber, registerBody, registrationPatient, results } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const INSURER = insurerNumber('0613911');
const GRADE = 'http://hl7.org/fhir/StructureDefinition/match-grade';

type Answer = Bundle<Patient> & { issue?: OperationOutcome['issue'] };

describe.each(testDrivers())('GET Patient/$match on %s', (driver) => {
  let s: TestServer;
  const pid: Record<string, string> = {};
  const mid: Record<string, string> = {};

  beforeAll(async () => {
    s = await startTestServer(driver);
    useToken(s.token);
    const reg = await fhirFetch<Parameters>(`${s.base}/Patient/$register`, {
      method: 'POST',
      json: registerBody([
        {
          record: 'hanako',
          patient: registrationPatient({
            insurer: INSURER,
            number: '301',
            kanji: ['髙橋', '花子'],
            kana: ['タカハシ', 'ハナコ'],
            gender: 'female',
            birthDate: '1980-04-03',
            phone: '090-1111-2222',
          }),
        },
        {
          record: 'jiro',
          patient: registrationPatient({
            insurer: INSURER,
            number: '302',
            kanji: ['髙橋', '次郎'],
            kana: ['タカハシ', 'ジロウ'],
            gender: 'male',
            birthDate: '1982-09-09',
          }),
        },
      ]),
    });
    for (const r of results(reg.body)) {
      pid[r.record as string] = r.patient as string;
      mid[r.record as string] = r.medicalId as string;
    }
  });
  afterAll(async () => {
    await s.close();
  });

  const get = (q: string, headers: Record<string, string> = {}) => fhirFetch<Answer>(`${s.base}/Patient/$match?${q}`, { headers });
  const post = (p: Patient, extra: Parameters['parameter'] = []) =>
    fhirFetch<Answer>(`${s.base}/Patient/$match`, {
      method: 'POST',
      json: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: p }, ...(extra ?? [])] },
    });
  const summary = (b: Bundle) =>
    (b.entry ?? []).map((e) => ({
      id: e.resource?.id,
      score: e.search?.score,
      grade: e.search?.extension?.find((x) => x.url === GRADE)?.valueCode,
    }));
  const lastAudit = async (): Promise<{ query: string | null; outcome: number }> =>
    (
      await s.testDb.db.query<{ query: string | null; outcome: number }>(
        `SELECT query, outcome FROM audit.event WHERE subtype = '$match' ORDER BY seq DESC LIMIT 1`,
      )
    ).rows[0];

  it('GET Patient/$match with name and birth date answers as POST with the same Patient', async () => {
    const res = await get(`family=${encodeURIComponent('タカハシ')}&given=${encodeURIComponent('ハナコ')}&birthdate=1980-04-03`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.resourceType).toBe('Bundle');
    expect(res.body.entry?.[0]?.resource?.id).toBe(pid['hanako']);
    const viaPost = await post({
      resourceType: 'Patient',
      name: [{ extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], family: 'タカハシ', given: ['ハナコ'] }],
      birthDate: '1980-04-03',
    });
    expect(summary(res.body)).toEqual(summary(viaPost.body));
  });

  it('GET pairs a kana and a kanji name by script, and reads a Japanese era birth date', async () => {
    const q = new URLSearchParams([
      ['family', '髙橋'],
      ['family', 'タカハシ'],
      ['given', 'ハナコ'],
      ['given', '花子'],
      ['birthdate', '昭和55年4月3日'],
      ['gender', 'female'],
      ['telecom', '090-1111-2222'],
    ]);
    const res = await get(q.toString());
    expect(res.status, res.text).toBe(200);
    expect(summary(res.body)[0]?.id).toBe(pid['hanako']);
    const viaPost = await post({
      resourceType: 'Patient',
      name: [
        { family: '髙橋', given: ['花子'] },
        { family: 'タカハシ', given: ['ハナコ'] },
      ],
      birthDate: '1980-04-03',
      gender: 'female',
      telecom: [{ system: 'phone', value: '090-1111-2222' }],
    });
    expect(summary(res.body)).toEqual(summary(viaPost.body));
  });

  it('GET with identifier=system|value finds the person; count and onlyCertainMatches apply', async () => {
    const id = encodeURIComponent(`${ID_SYSTEMS.medicalId}|${mid['hanako'] ?? ''}`);
    const res = await get(`identifier=${id}&onlyCertainMatches=true`);
    expect(res.status, res.text).toBe(200);
    expect(summary(res.body)).toEqual([expect.objectContaining({ id: pid['hanako'], grade: 'certain' })]);
    const both = await get(`family=${encodeURIComponent('タカハシ')}&birthdate=1980-04-03&count=1`);
    expect(both.status, both.text).toBe(200);
    expect((both.body.entry ?? []).filter((e) => e.resource?.resourceType === 'Patient').length).toBeLessThanOrEqual(1);
  });

  it('GET answers 400 for what POST refuses, for an unknown parameter, and for an identifier without a system', async () => {
    const tooLittle = await get(`family=${encodeURIComponent('タカハシ')}`);
    expect(tooLittle.status).toBe(400);
    const unknown = await get(`family=${encodeURIComponent('タカハシ')}&birthdate=1980-04-03&shoeSize=27`);
    expect(unknown.status).toBe(400);
    expect(unknown.body.issue?.[0]?.expression).toEqual(['Patient/$match?shoeSize']);
    const bare = await get('identifier=12345');
    expect(bare.status).toBe(400);
    expect(bare.body.issue?.[0]?.details?.text).toMatch(/system\|value/);
    const badCount = await get(`identifier=${encodeURIComponent(`${ID_SYSTEMS.medicalId}|${mid['jiro'] ?? ''}`)}&count=lots`);
    expect(badCount.status).toBe(400);
  });

  it('the audit record of a GET $match keeps the kinds of data asked, never the values in the URL', async () => {
    const value = mid['jiro'] ?? '';
    const ok = await get(`identifier=${encodeURIComponent(`${ID_SYSTEMS.medicalId}|${value}`)}&family=${encodeURIComponent('タカハシ')}`);
    expect(ok.status, ok.text).toBe(200);
    const success = await lastAudit();
    expect(success.outcome).toBe(0);
    expect(decodeURIComponent(success.query ?? '')).toContain(`identifier(${ID_SYSTEMS.medicalId})`);
    expect(success.query ?? '').not.toContain(value);
    expect(decodeURIComponent(success.query ?? '')).not.toContain('タカハシ');
    // A failed GET (an invalid gender) is audited too, still without the values.
    const failed = await get(
      `identifier=${encodeURIComponent(`urn:example:mrn|SECRET-778899`)}&gender=sometimes&family=${encodeURIComponent('髙橋')}`,
    );
    expect(failed.status).toBe(400);
    const refusal = await lastAudit();
    expect(refusal.outcome).toBe(4);
    expect(decodeURIComponent(refusal.query ?? '')).toContain('identifier(urn:example:mrn)');
    expect(refusal.query ?? '').not.toContain('SECRET');
    expect(decodeURIComponent(refusal.query ?? '')).not.toContain('髙橋');
    // A query that cannot be read at all leaves only its parameter names.
    await get(`identifier=SECRET-445566&birthdate=1980-04-03`);
    const unreadable = await lastAudit();
    expect(unreadable.query ?? '').not.toContain('SECRET');
    expect(unreadable.query ?? '').not.toContain('1980');
    expect(decodeURIComponent(unreadable.query ?? '')).toContain('birthdate,identifier');
  });
});
