/**
 * The マイナ保険証 path over HTTP: the authority registers a My Number card's certificate
 * (Patient/$register-card: linked, unchanged, updated, revoked; refusals naming the parameter and
 * rule), and $submit with the certificate answers the holder's coverages that day — several at
 * once, each with its validity and card class, insured first — or the one that ended, or "not
 * found" for a certificate unregistered, expired or revoked (the holder audited, never
 * disclosed); a valid confirmation is a service use; insurers may not use the path; a resource
 * may not carry a certificate; and neither the My Number nor the serial reaches a table, a log
 * line or a response.
 */
import { Writable } from 'node:stream';
import type {
  Coverage,
  CoverageEligibilityRequest,
  CoverageEligibilityResponse,
  OperationOutcome,
  Parameters as FhirParameters,
  Patient,
} from '@medplum/fhirtypes';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENSIONS, ID_SYSTEMS, SYSTEMS } from '../../src/core/systems.ts';
import { parsePublicPayerNumber } from '../../src/identifiers/public-payer-number.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { insurerNumber, myNumber, registerBody, registrationPatient, results } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const KENPO = insurerNumber('0614002');
const HOSPITAL = '1311111111';
const NANBYO = ((body: string) => {
  for (let d = 0; d <= 9; d++) if (parsePublicPayerNumber(`${body}${d}`).ok) return `${body}${d}`;
  throw new Error('no check digit');
})('5413002');
const JPC = EXTENSIONS.jpCoverageInsuredPerson;
const TARO_MN = myNumber('51230000111');
const HANA_MN = myNumber('51230000222');
const NOBODY_MN = myNumber('51230000333');
/** Serials as a reader prints them, and their canonical hex. */
const TARO_CERT = '00:8A:3F:11:22:33:44:55:66';
const TARO_CERT_HEX = '8A3F112233445566';
const HANA_CERT = '7c0ffee0d15ea5e';
const OLD_CERT = '5EED0001';

const validity = (x: { extension?: { url: string; valueCoding?: { code?: string } }[] } | undefined) =>
  x?.extension?.find((e) => e.url === EXTENSIONS.eligibilityValidity)?.valueCoding?.code;
const classOf = (x: { extension?: { url: string; valueCoding?: { code?: string } }[] } | undefined) =>
  x?.extension?.find((e) => e.url === EXTENSIONS.cardClass)?.valueCoding?.code;

describe.each(testDrivers())('the My Number card path of eligibility on %s', (driver) => {
  let s: TestServer;
  let hospital: string;
  const pid: Record<string, string> = {};
  const logLines: string[] = [];
  const responses: string[] = [];
  const call = async <T>(url: string, init: Parameters<typeof fhirFetch>[1] = {}) => {
    const r = await fhirFetch<T>(url, init);
    responses.push(r.text);
    return r;
  };

  const registerCard = (parameter: FhirParameters['parameter'], token?: string) =>
    call<FhirParameters>(`${s.base}/Patient/$register-card`, {
      method: 'POST',
      json: { resourceType: 'Parameters', parameter },
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    });
  const cardParams = (serial: string, mn?: string, notAfter?: string): FhirParameters['parameter'] => [
    { name: 'certificate', valueIdentifier: { system: ID_SYSTEMS.jpkiUserCertificate, value: serial } },
    ...(mn ? [{ name: 'myNumber', valueString: mn }] : []),
    ...(notAfter ? [{ name: 'notAfter', valueDate: notAfter }] : []),
  ];
  const outcomeOf = (p: FhirParameters) => p.parameter?.find((x) => x.name === 'outcome')?.valueCode;

  /** What the reader sends: the certificate on the contained Patient, nothing else about the card. */
  const cardRequest = (serial: string, day: string, more: Partial<Patient> = {}): CoverageEligibilityRequest => ({
    resourceType: 'CoverageEligibilityRequest',
    status: 'active',
    purpose: ['validation'],
    created: `${day}T09:00:00+09:00`,
    contained: [
      {
        resourceType: 'Patient',
        id: 'p',
        ...more,
        identifier: [{ system: ID_SYSTEMS.jpkiUserCertificate, value: serial }, ...(more.identifier ?? [])],
      },
    ],
    patient: { reference: '#p' },
    servicedDate: day,
    insurer: { display: 'マイナ保険証: the card names the insurer' },
  });
  const submit = (req: CoverageEligibilityRequest, token = hospital) =>
    call<CoverageEligibilityResponse>(`${s.base}/CoverageEligibilityRequest/$submit`, {
      method: 'POST',
      json: req,
      headers: { authorization: `Bearer ${token}` },
    });
  const put = async (c: Coverage) => {
    const id = c.identifier?.[0];
    const res = await call(`${s.base}/Coverage?identifier=${encodeURIComponent(`${id?.system ?? ''}|${id?.value ?? ''}`)}`, {
      method: 'PUT',
      json: c,
    });
    expect(res.status, res.text).toBeLessThan(300);
  };
  const visits = async (patient: string) =>
    (
      await s.testDb.db.query<{ visits: number }>(`SELECT visits FROM registry.service_use WHERE patient_id = $1 AND org_code = $2`, [
        patient,
        HOSPITAL,
      ])
    ).rows[0]?.visits ?? 0;
  const submitAudits = async (patient: string) =>
    (
      await s.testDb.db.query<{ query: string }>(
        `SELECT query FROM audit.event WHERE subtype = '$submit' AND patient_id = $1 ORDER BY seq`,
        [patient],
      )
    ).rows.map((r) => r.query);

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    s = await startTestServer(driver, {
      logger: pino({ level: 'trace' }, sink),
      deps: { clock: { now: () => new Date('2026-04-10T03:00:00Z') } },
    });
    useToken(s.token);
    hospital = await s.tokenFor('system/CoverageEligibilityRequest.c system/Patient.r system/Coverage.r', 'hospital', {
      kind: 'medical-institution',
      code: HOSPITAL,
    });
    const reg = await call<FhirParameters>(`${s.base}/Patient/$register`, {
      method: 'POST',
      json: registerBody([
        {
          record: 'taro',
          patient: registrationPatient({
            insurer: KENPO,
            number: '100',
            myNumber: TARO_MN,
            kana: ['ヤマダ', 'タロウ'],
            birthDate: '1980-04-01',
          }),
        },
        {
          record: 'hana',
          patient: registrationPatient({
            insurer: KENPO,
            number: '200',
            myNumber: HANA_MN,
            kana: ['ヤマダ', 'ハナ'],
            birthDate: '1982-06-15',
            gender: 'female',
          }),
        },
      ]),
    });
    for (const r of results(reg.body)) pid[r.record as string] = r.patient as string;
    expect(Object.keys(pid).sort()).toEqual(['hana', 'taro']);
    const insured = (number: string, patient: string, period: Coverage['period'], loss?: string): Coverage => ({
      resourceType: 'Coverage',
      status: 'active',
      identifier: [{ system: ID_SYSTEMS.insuredMemberId, value: `${KENPO}:1:${number}:00` }],
      extension: [
        { url: `${JPC}Symbol`, valueString: '1' },
        { url: `${JPC}Number`, valueString: number },
        { url: `${JPC}SubNumber`, valueString: '00' },
        ...(loss ? [{ url: EXTENSIONS.coverageLossReason, valueCoding: { system: SYSTEMS.coverageLossReason, code: loss } }] : []),
      ],
      beneficiary: { reference: `Patient/${patient}` },
      payor: [{ identifier: { system: ID_SYSTEMS.insurerNumber, value: KENPO } }],
      period,
    });
    // 太郎: insured, and a 指定難病 recipient besides. 花子: her insurance ended on 2026-03-31.
    await put(insured('100', pid['taro'] ?? '', { start: '2010-04-01' }));
    await put({
      resourceType: 'Coverage',
      status: 'active',
      identifier: [{ system: ID_SYSTEMS.publicPayerMemberId, value: `${NANBYO}::0054321:` }],
      subscriberId: '0054321',
      beneficiary: { reference: `Patient/${pid['taro'] ?? ''}` },
      payor: [{ identifier: { system: ID_SYSTEMS.publicPayerNumber, value: NANBYO } }],
      period: { start: '2026-01-01', end: '2026-12-31' },
    });
    await put(insured('200', pid['hana'] ?? '', { start: '2012-04-01', end: '2026-03-31' }, '99'));
  });
  afterAll(async () => {
    await s.close();
  });

  it('registers a certificate for the person its My Number names, idempotently; a new last day updates it', async () => {
    const first = await registerCard(cardParams(TARO_CERT, TARO_MN, '2030-04-01'));
    expect(first.status, first.text).toBe(200);
    expect(outcomeOf(first.body)).toBe('linked');
    expect(first.body.parameter?.find((x) => x.name === 'patient')?.valueReference?.reference).toBe(`Patient/${pid['taro'] ?? ''}`);
    // The same serial printed another way is the same certificate.
    expect(outcomeOf((await registerCard(cardParams(TARO_CERT_HEX.toLowerCase(), TARO_MN, '2030-04-01'))).body)).toBe('unchanged');
    expect(outcomeOf((await registerCard(cardParams(TARO_CERT, TARO_MN, '2031-04-01'))).body)).toBe('updated');
    expect(outcomeOf((await registerCard(cardParams(HANA_CERT, HANA_MN, '2030-06-15'))).body)).toBe('linked');
    // A certificate renewed before: registered too, then it expired.
    expect(outcomeOf((await registerCard(cardParams(OLD_CERT, TARO_MN, '2026-04-09'))).body)).toBe('linked');
    const audits = await s.testDb.db.query<{ action: string }>(
      `SELECT action FROM audit.event WHERE subtype = '$register-card' AND patient_id = $1 AND action IN ('C', 'U') ORDER BY seq`,
      [pid['taro']],
    );
    expect(audits.rows.map((r) => r.action)).toEqual(['C', 'U', 'C']);
  });

  it('refuses, naming the parameter and the rule and never a number: an unknown My Number, another person’s certificate, a bad serial, a caller not the authority', async () => {
    const rule = (r: { body: unknown }) => (r.body as OperationOutcome).issue[0]?.details?.coding?.map((c) => c.code);
    const unknown = await registerCard(cardParams('ABCDEF01', NOBODY_MN, '2030-01-01'));
    expect(unknown.status).toBe(422);
    expect((unknown.body as unknown as OperationOutcome).issue[0]?.expression).toEqual(['myNumber']);
    expect(rule(unknown)).toContain('register-card.unknown-person');
    const other = await registerCard(cardParams(TARO_CERT, HANA_MN, '2030-04-01'));
    expect(other.status).toBe(409);
    expect(rule(other)).toContain('register-card.other-person');
    const badSerial = await registerCard(cardParams('not-hex', TARO_MN, '2030-04-01'));
    expect(badSerial.status).toBe(400);
    expect((badSerial.body as unknown as OperationOutcome).issue[0]?.expression).toEqual(['certificate']);
    const badNumber = await registerCard(cardParams('ABCDEF02', '983205673210', '2030-04-01'));
    expect(badNumber.status).toBe(400);
    expect(badNumber.text).not.toContain('983205673210');
    const missing = await registerCard(cardParams('ABCDEF03', TARO_MN));
    expect(missing.status).toBe(400);
    const asHospital = await s.tokenFor('system/Patient.u', 'hospital-writer', { kind: 'medical-institution', code: HOSPITAL });
    expect((await registerCard(cardParams('ABCDEF04', TARO_MN, '2030-04-01'), asHospital)).status).toBe(403);
    for (const r of [unknown, other, badSerial, badNumber]) {
      expect(r.text).not.toContain(NOBODY_MN);
      expect(r.text).not.toContain(HANA_MN);
      expect(r.text).not.toContain(TARO_MN);
    }
  });

  it('answers every coverage in force that day, each valid with its class, insured first, with the numbers to bill under', async () => {
    const before = await visits(pid['taro'] ?? '');
    const res = await submit(cardRequest(TARO_CERT, '2026-04-10'));
    expect(res.status, res.text).toBe(200);
    expect(validity(res.body)).toBe('1');
    expect(res.body.outcome).toBe('complete');
    expect(res.body.patient.reference).toBe(`Patient/${pid['taro'] ?? ''}`);
    expect(res.body.insurer).toEqual({ identifier: { system: ID_SYSTEMS.insurerNumber, value: KENPO } });
    const ins = res.body.insurance ?? [];
    expect(ins.map((i) => [validity(i), classOf(i), i.inforce, i.coverage.identifier?.value])).toEqual([
      ['1', '01', true, `${KENPO}:1:100:00`],
      ['1', 'public-recipient', true, `${NANBYO}::0054321:`],
    ]);
    expect(ins[1]?.benefitPeriod).toEqual({ start: '2026-01-01', end: '2026-12-31' });
    // The hospital may now read the coverages it was answered with (a care relationship).
    const cov = await call<Coverage>(`${s.base}/${ins[0]?.coverage.reference ?? ''}`, { headers: { authorization: `Bearer ${hospital}` } });
    expect(cov.status, cov.text).toBe(200);
    expect(await visits(pid['taro'] ?? '')).toBe(before + 1);
    expect((await submitAudits(pid['taro'] ?? '')).at(-1)).toBe('validity=1&card=my-number');
  });

  it('answers the coverage that ended (invalid, with its loss reason) when none is in force', async () => {
    const res = await submit(cardRequest(HANA_CERT, '2026-04-10'));
    expect(validity(res.body)).toBe('2');
    expect(res.body.patient.reference).toBe(`Patient/${pid['hana'] ?? ''}`);
    expect(res.body.insurance?.map((i) => [validity(i), i.inforce])).toEqual([['2', false]]);
    expect(res.body.extension?.find((e) => e.url === EXTENSIONS.coverageLossReason)?.valueCoding?.code).toBe('99');
    expect(await visits(pid['hana'] ?? '')).toBe(0);
  });

  it('answers not found for a certificate unregistered, expired or revoked: the holder audited, never disclosed, no visit', async () => {
    const unregistered = await submit(cardRequest('FEEDFACE', '2026-04-10'));
    expect(validity(unregistered.body)).toBe('4');
    expect(unregistered.body.disposition).toMatch(/not registered/);
    const before = await visits(pid['taro'] ?? '');
    const expired = await submit(cardRequest(OLD_CERT, '2026-04-10'));
    expect(validity(expired.body)).toBe('4');
    expect(expired.body.outcome).toBe('error');
    expect(expired.body.disposition).toMatch(/expired/);
    expect(expired.body.patient.reference).toBeUndefined();
    expect(expired.body.insurance).toBeUndefined();
    expect((await submitAudits(pid['taro'] ?? '')).at(-1)).toBe('validity=4&card=my-number&refusal=expired');
    // The certificate's last day still counts.
    expect(validity((await submit(cardRequest(OLD_CERT, '2026-04-09'))).body)).toBe('1');
    const revoke = await registerCard([
      { name: 'certificate', valueIdentifier: { system: ID_SYSTEMS.jpkiUserCertificate, value: HANA_CERT } },
      { name: 'revoke', valueBoolean: true },
    ]);
    expect(outcomeOf(revoke.body)).toBe('revoked');
    const revoked = await submit(cardRequest(HANA_CERT, '2026-04-10'));
    expect(validity(revoked.body)).toBe('4');
    expect(revoked.body.disposition).toMatch(/revoked/);
    expect((await submitAudits(pid['hana'] ?? '')).at(-1)).toBe('validity=4&card=my-number&refusal=revoked');
    const again = await registerCard(cardParams(HANA_CERT, HANA_MN, '2030-06-15'));
    expect(again.status).toBe(409);
    expect(await visits(pid['taro'] ?? '')).toBe(before + 1); // the one on 2026-04-09
  });

  it('is for medical institutions and the authority; a request with both a certificate and card numbers, or a bad serial, is 400', async () => {
    const insurer = await s.tokenFor('system/CoverageEligibilityRequest.c', 'insurer', { kind: 'insurer', code: KENPO });
    const forbidden = await submit(cardRequest(TARO_CERT, '2026-04-10'), insurer);
    expect(forbidden.status).toBe(403);
    expect(forbidden.text).toMatch(/eligibility\.my-number-card/);
    const both = cardRequest(TARO_CERT, '2026-04-10');
    both.contained?.push({
      resourceType: 'Coverage',
      id: 'c',
      status: 'active',
      beneficiary: { reference: '#p' },
      payor: [{ display: 'card' }],
      extension: [{ url: `${JPC}Number`, valueString: '100' }],
    });
    both.insurance = [{ coverage: { reference: '#c' } }];
    const res = await submit(both);
    expect(res.status).toBe(400);
    expect((res.body as unknown as OperationOutcome).issue[0]?.expression).toEqual(['CoverageEligibilityRequest.insurance[0].coverage']);
    const bad = await submit(cardRequest('zz-not-a-serial', '2026-04-10'));
    expect(bad.status).toBe(400);
    expect((bad.body as unknown as OperationOutcome).issue[0]?.expression).toEqual([
      'CoverageEligibilityRequest.contained.identifier.value',
    ]);
    expect(bad.text).not.toContain('zz-not-a-serial');
  });

  it('notes a kana name that disagrees with the registry, as for a card’s numbers', async () => {
    const res = await submit(
      cardRequest(TARO_CERT, '2026-04-10', {
        name: [{ extension: [{ url: EXTENSIONS.nameRepresentation, valueCode: 'SYL' }], family: 'ヤマダ', given: ['ジロウ'] }],
      }),
    );
    expect(validity(res.body)).toBe('1');
    expect(res.body.disposition).toMatch(/kana name given differs from the registry: the insurer has been asked to check/);
  });

  it('refuses a resource that would keep a certificate serial', async () => {
    const res = await call<OperationOutcome>(`${s.base}/Patient`, {
      method: 'POST',
      json: { resourceType: 'Patient', identifier: [{ system: ID_SYSTEMS.jpkiUserCertificate, value: TARO_CERT }] },
    });
    expect(res.status).toBe(422);
    expect(res.body.issue[0]?.details?.coding?.map((c) => c.code)).toContain('jpki-user-certificate.input-only');
  });

  it('keeps neither the My Number nor the serial in any table, log line or response', async () => {
    const secrets = [TARO_MN, HANA_MN, NOBODY_MN, TARO_CERT_HEX, HANA_CERT.toUpperCase(), HANA_CERT, TARO_CERT];
    const cols = await s.testDb.db.query<{ table_schema: string; table_name: string; column_name: string }>(
      `SELECT table_schema, table_name, column_name FROM information_schema.columns
       WHERE table_schema IN ('fhir', 'audit', 'auth', 'registry', 'privacy', 'public')`,
    );
    expect(cols.rows.length).toBeGreaterThan(20);
    for (const c of cols.rows) {
      const { rows } = await s.testDb.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${c.table_schema}"."${c.table_name}" WHERE ${secrets.map((_x, i) => `"${c.column_name}"::text ILIKE $${i + 1}`).join(' OR ')}`,
        secrets.map((x) => `%${x}%`),
      );
      expect(rows[0]?.n, `${c.table_schema}.${c.table_name}.${c.column_name}`).toBe(0);
    }
    const log = logLines.join('');
    expect(log.length).toBeGreaterThan(100);
    for (const x of secrets) expect(log.toUpperCase()).not.toContain(x.toUpperCase());
    for (const r of responses) for (const x of [TARO_MN, HANA_MN, NOBODY_MN, TARO_CERT_HEX]) expect(r.toUpperCase()).not.toContain(x);
  });
});
