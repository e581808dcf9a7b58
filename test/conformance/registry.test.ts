/**
 * The registry over HTTP: Patient/$register deciding who each record is, the medical ID's
 * issuance and uniqueness, insurance history, review Tasks, change, death and retirement,
 * merge and unmerge, the insurer's export — and My Number never in clear anywhere.
 */
import { Writable } from 'node:stream';
import type { Bundle, OperationOutcome, Parameters as FhirParameters, Patient, Task } from '@medplum/fhirtypes';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ID_SYSTEMS } from '../../src/core/systems.ts';
import { parseMedicalId } from '../../src/identifiers/medical-id.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { insurerNumber, myNumber, registerBody, registrationPatient, results } from '../helpers/registry.ts';
import type { PersonSpec } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const INSURER = insurerNumber('0613809');
const OTHER_INSURER = insurerNumber('0127001');
const MY_NUMBER = '983205673214';
const OTHER_MY_NUMBER = '123456789018';
const START = new Date('2026-04-01T09:00:00Z');
let clock = START;

describe.each(testDrivers())('registry on %s', (driver) => {
  let s: TestServer;
  const logLines: string[] = [];
  const responses: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    s = await startTestServer(driver, {
      logger: pino({ level: 'trace' }, sink),
      config: { deathRetentionDays: 30, mergeUndoDays: 7 },
      deps: { clock: { now: () => clock } },
    });
    useToken(s.token);
  });
  afterAll(async () => {
    await s.close();
  });
  afterEach(() => {
    clock = START;
  });
  const call = async <T>(url: string, init: Parameters<typeof fhirFetch>[1] = {}) => {
    const r = await fhirFetch<T>(url, init);
    const headers: string[] = [];
    r.headers.forEach((v, k) => headers.push(`${k}: ${v}`));
    responses.push(r.text, headers.join('\n'));
    return r;
  };
  const register = async (people: (PersonSpec & { record?: string })[], token?: string) => {
    const res = await call<FhirParameters>(`${s.base}/Patient/$register`, {
      method: 'POST',
      json: registerBody(people.map((p) => ({ record: p.record, patient: registrationPatient(p) }))),
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    });
    expect(res.status, res.text).toBe(200);
    return results(res.body);
  };
  const patient = async (id: string) => (await call<Patient>(`${s.base}/Patient/${id}`)).body;
  const byIdentifier = async (system: string, value: string) =>
    (await call<Bundle<Patient>>(`${s.base}/Patient?identifier=${encodeURIComponent(`${system}|${value}`)}`)).body.entry?.map(
      (e) => e.resource?.id,
    ) ?? [];
  const count = async (sql: string, params: unknown[] = []) => (await s.testDb.db.query<{ n: number }>(sql, params)).rows[0]?.n;

  it('registers a new person with a valid, random medical ID and returns it', async () => {
    const [r] = await register([
      {
        record: 'r1',
        insurer: INSURER,
        symbol: '12',
        number: '3456',
        branch: '01',
        myNumber: MY_NUMBER,
        kana: ['サトウ', 'ハナコ'],
        kanji: ['佐藤', '花子'],
        gender: 'female',
        birthDate: '1975-02-03',
      },
    ]);
    expect(r).toMatchObject({ record: 'r1', status: 'created' });
    expect(parseMedicalId(r?.medicalId ?? '').ok).toBe(true);
    const p = await patient(r?.patient as string);
    expect(p.identifier).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ system: ID_SYSTEMS.medicalId, value: r?.medicalId, use: 'official' }),
        expect.objectContaining({ system: ID_SYSTEMS.insuredMemberId, value: `${INSURER}:12:3456:01` }),
      ]),
    );
    expect(p.identifier?.some((i) => i.system === ID_SYSTEMS.myNumber)).toBe(false);
    expect(await byIdentifier(ID_SYSTEMS.medicalId, r?.medicalId as string)).toEqual([r?.patient]);
    expect(await byIdentifier(ID_SYSTEMS.myNumber, MY_NUMBER)).toEqual([r?.patient]);
  });

  it('is idempotent: the same records again change nothing', async () => {
    const people = [
      { record: 'a', insurer: INSURER, number: '9001', kana: ['タナカ', 'イチロウ'] as [string, string], birthDate: '1960-01-01' },
      { record: 'b', insurer: INSURER, number: '9002', kana: ['タナカ', 'ジロウ'] as [string, string], birthDate: '1962-01-01' },
    ];
    const first = await register(people);
    expect(first.map((r) => r.status)).toEqual(['created', 'created']);
    const before = await count(`SELECT count(*)::int AS n FROM fhir.resource_version`);
    const again = await register(people);
    expect(again.map((r) => r.status)).toEqual(['unchanged', 'unchanged']);
    expect(again.map((r) => r.medicalId)).toEqual(first.map((r) => r.medicalId));
    expect(await count(`SELECT count(*)::int AS n FROM fhir.resource_version`)).toBe(before);
  });

  it('refuses a record with a wrong insurer check digit, naming the element and rule, and loads the rest', async () => {
    const bad = `${INSURER.slice(0, 7)}${(Number(INSURER[7]) + 1) % 10}`;
    const persons = await count(`SELECT count(*)::int AS n FROM registry.person`);
    const out = await register([
      { record: 'bad', insurer: bad, number: '77', kana: ['スズキ', 'イチ'] },
      { record: 'good', insurer: INSURER, number: '78', kana: ['スズキ', 'ニ'] },
    ]);
    expect(out[0]?.status).toBe('error');
    const i = out[0]?.issues?.issue[0];
    expect(i?.expression).toEqual(['Patient.identifier[0].value']);
    expect(i?.details?.text).toContain('check digit is wrong');
    expect(i?.details?.text).not.toContain(INSURER.slice(0, 7));
    expect(i?.details?.coding?.map((c) => c.code)).toContain('insurer-number.check-digit');
    expect(out[1]?.status).toBe('created');
    expect(await count(`SELECT count(*)::int AS n FROM registry.person`)).toBe(persons + 1);
    expect(await byIdentifier(ID_SYSTEMS.insuredMemberId, `${bad}:1:77:00`)).toEqual([]);
  });

  it('ends 50 concurrent registrations of one person in one person with one medical ID', async () => {
    const person = {
      insurer: INSURER,
      number: '5050',
      myNumber: OTHER_MY_NUMBER,
      kana: ['イトウ', 'ケン'] as [string, string],
      birthDate: '1990-09-09',
    };
    const all = await Promise.all(Array.from({ length: 50 }, () => register([person])));
    const flat = all.flat();
    expect(flat.filter((r) => r.status === 'created')).toHaveLength(1);
    expect(new Set(flat.map((r) => r.patient)).size).toBe(1);
    expect(new Set(flat.map((r) => r.medicalId)).size).toBe(1);
    expect(
      await count(`SELECT count(*)::int AS n FROM registry.medical_id m JOIN registry.person p ON p.kid = m.kid WHERE p.patient_id = $1`, [
        flat[0]?.patient,
      ]),
    ).toBe(1);
  });

  it('registers a batch set-based, with the same decisions as record by record', async () => {
    const existing = {
      insurer: INSURER,
      number: '6600',
      kana: ['ナカムラ', 'ケイコ'] as [string, string],
      gender: 'female' as const,
      birthDate: '1955-05-15',
    };
    const [old] = await register([existing]);
    const fresh = Array.from({ length: 30 }, (_v, n) => ({
      record: `new${n}`,
      insurer: INSURER,
      number: String(6700 + n),
      kana: ['バッチ', `イチ${'ア'.repeat(n + 1)}`] as [string, string],
      // Distinct persons to the match engine too: no birth date (nor month and day) in common.
      birthDate: `${1960 + n}-${String(1 + (n % 12)).padStart(2, '0')}-${String(1 + n).padStart(2, '0')}`,
      ...(n % 2 === 0 ? { myNumber: myNumber(`8${String(1_000_000_000 + n)}`) } : {}),
    }));
    const batch = [
      ...fresh.slice(0, 10),
      { ...existing, record: 'existing', phone: '03-1111-2222' },
      { ...fresh[3], record: 'same-as-new3' },
      { record: 'namesake-of-new5', insurer: OTHER_INSURER, number: '6799', kana: fresh[5]?.kana, birthDate: fresh[5]?.birthDate },
      ...fresh.slice(10),
    ];
    const warnings = logLines.length;
    const out = await register(batch);
    expect(logLines.slice(warnings).join('')).not.toMatch(/fell back/);
    const by = new Map(out.map((r) => [r.record, r]));
    expect(fresh.every((f) => by.get(f.record)?.status === 'created')).toBe(true);
    expect(by.get('existing')).toMatchObject({ status: 'updated', patient: old?.patient, medicalId: old?.medicalId });
    expect(by.get('same-as-new3')).toMatchObject({ status: 'unchanged', patient: by.get('new3')?.patient });
    expect(by.get('namesake-of-new5')?.status).toBe('review');
    expect(new Set(fresh.map((f) => by.get(f.record)?.medicalId)).size).toBe(30);
    // Everything a per-record creation writes: the Patient and its index, history, audit, MAC.
    const p = by.get('new4');
    expect(await byIdentifier(ID_SYSTEMS.insuredMemberId, `${INSURER}:1:6704:00`)).toEqual([p?.patient]);
    expect(await byIdentifier(ID_SYSTEMS.medicalId, p?.medicalId as string)).toEqual([p?.patient]);
    expect(await byIdentifier(ID_SYSTEMS.myNumber, fresh[4]?.myNumber as string)).toEqual([p?.patient]);
    const named = (await call<Bundle<Patient>>(`${s.base}/Patient?family=バッチ&_count=100`)).body;
    expect(named.entry?.length).toBe(30);
    const hist = (await call<Bundle>(`${s.base}/Patient/${p?.patient ?? ''}/_history`)).body;
    expect(hist.entry?.map((e) => e.resource?.meta?.versionId)).toEqual(['1']);
    expect(await count(`SELECT count(*)::int AS n FROM audit.event WHERE patient_id = $1 AND action = 'C'`, [p?.patient])).toBe(1);
  });

  it('keeps every insured number with its period; a past one still finds the person', async () => {
    const [first] = await register([
      {
        insurer: INSURER,
        number: '700',
        kana: ['コバヤシ', 'ユイ'],
        gender: 'female',
        birthDate: '1985-05-05',
        period: { start: '2020-04-01', end: '2026-03-31' },
        myNumber: '111111111118',
      },
    ]);
    const [second] = await register([
      {
        insurer: OTHER_INSURER,
        number: '800',
        kana: ['コバヤシ', 'ユイ'],
        gender: 'female',
        birthDate: '1985-05-05',
        period: { start: '2026-04-01' },
        myNumber: '111111111118',
      },
    ]);
    expect(second).toMatchObject({ status: 'updated', patient: first?.patient, medicalId: first?.medicalId });
    const p = await patient(first?.patient as string);
    expect(p.identifier?.filter((i) => i.system === ID_SYSTEMS.insuredMemberId)).toEqual([
      { system: ID_SYSTEMS.insuredMemberId, value: `${INSURER}:1:700:00`, period: { start: '2020-04-01', end: '2026-03-31' } },
      { system: ID_SYSTEMS.insuredMemberId, value: `${OTHER_INSURER}:1:800:00`, period: { start: '2026-04-01' } },
    ]);
    expect(await byIdentifier(ID_SYSTEMS.insuredMemberId, `${INSURER}:1:700:00`)).toEqual([first?.patient]);
  });

  it('holds a namesake with no identifier in common for review, once', async () => {
    const base = { kana: ['ワタナベ', 'マコト'] as [string, string], birthDate: '1970-07-07' };
    const [a] = await register([{ ...base, insurer: INSURER, number: '901' }]);
    const [held] = await register([{ ...base, insurer: OTHER_INSURER, number: '902', record: 'x' }]);
    expect(held?.status).toBe('review');
    expect(held?.issues?.issue[0]?.details?.text).toMatch(/Same kana name, birth date and sex/);
    const task = (await call<Task>(`${s.base}/Task/${held?.task ?? ''}`)).body;
    expect(task).toMatchObject({ status: 'requested', for: { reference: `Patient/${a?.patient ?? ''}` } });
    expect(task.contained?.[0]).toMatchObject({ resourceType: 'Patient', birthDate: '1970-07-07' });
    const [again] = await register([{ ...base, insurer: OTHER_INSURER, number: '902', record: 'x' }]);
    expect(again).toMatchObject({ status: 'review', task: held?.task });
    expect(await byIdentifier(ID_SYSTEMS.insuredMemberId, `${OTHER_INSURER}:1:902:00`)).toEqual([]);
  });

  it('lets an insurer register only its own members', async () => {
    const token = await s.tokenFor('system/Patient.cru', 'insurer-a', { kind: 'insurer', code: INSURER });
    const out = await register(
      [
        { insurer: OTHER_INSURER, number: '1', kana: ['アベ', 'ミキ'] },
        { insurer: INSURER, number: '2', kana: ['アベ', 'ユキ'] },
      ],
      token,
    );
    expect(out.map((r) => r.status)).toEqual(['error', 'created']);
    expect(out[0]?.issues?.issue[0]?.details?.text).toMatch(/only its own members/);
  });

  it('refuses a registration given as a value instead of parts, naming it (400, not 500)', async () => {
    const res = await call<OperationOutcome>(`${s.base}/Patient/$register`, {
      method: 'POST',
      json: { resourceType: 'Parameters', parameter: [{ name: 'registration', valueString: 'x' }] },
    });
    expect(res.status, res.text).toBe(400);
    expect(res.body.issue?.[0]?.expression).toEqual([`Parameters.parameter.where(name='registration')[0]`]);
  });

  it('changes the medical ID on request; the old one still finds the person and is never reissued', async () => {
    const [r] = await register([{ insurer: INSURER, number: '6000', kana: ['キムラ', 'タク'] }]);
    const res = await call<FhirParameters>(`${s.base}/Patient/${r?.patient ?? ''}/$change-medical-id`, {
      method: 'POST',
      json: { resourceType: 'Parameters' },
    });
    expect(res.status, res.text).toBe(200);
    const next = res.body.parameter?.find((p) => p.name === 'medicalId')?.valueIdentifier?.value as string;
    expect(next).not.toBe(r?.medicalId);
    expect(parseMedicalId(next).ok).toBe(true);
    const p = await patient(r?.patient as string);
    expect(p.identifier?.find((i) => i.value === r?.medicalId)).toMatchObject({ use: 'old', period: { end: '2026-04-01' } });
    expect(await byIdentifier(ID_SYSTEMS.medicalId, r?.medicalId as string)).toEqual([r?.patient]);
    expect(await byIdentifier(ID_SYSTEMS.medicalId, next)).toEqual([r?.patient]);
    expect((await s.testDb.db.query(`SELECT status FROM registry.medical_id WHERE mid = $1`, [r?.medicalId])).rows).toEqual([
      { status: 'replaced' },
    ]);
  });

  it('refuses, in the database, to issue a medical ID again, whatever its status', async () => {
    const [r] = await register([{ insurer: INSURER, number: '6100', kana: ['ハヤシ', 'ケイ'] }]);
    const kid = (await s.testDb.db.query<{ kid: Buffer }>(`SELECT kid FROM registry.person WHERE patient_id = $1`, [r?.patient])).rows[0]
      ?.kid;
    await s.testDb.db.query(`UPDATE registry.medical_id SET status = 'retired' WHERE mid = $1`, [r?.medicalId]);
    await expect(s.testDb.db.query(`INSERT INTO registry.medical_id (mid, kid) VALUES ($1, $2)`, [r?.medicalId, kid])).rejects.toThrow(
      /duplicate key|unique/,
    );
    await expect(s.testDb.db.query(`DELETE FROM registry.medical_id WHERE mid = $1`, [r?.medicalId])).rejects.toThrow(/append-only/);
    await expect(s.testDb.db.query(`UPDATE registry.medical_id SET status = 'active' WHERE mid = $1`, [r?.medicalId])).rejects.toThrow(
      /cannot become/,
    );
    // A draw that hits the retired ID is refused by the table and drawn again.
    const drawn = [r?.medicalId as string, '10000000000013'];
    expect(parseMedicalId(drawn[1]).ok).toBe(true);
    const { Registrar } = await import('../../src/registry/registrar.ts');
    const { MyNumberMac } = await import('../../src/privacy/my-number/mac.ts');
    const { assertMaySubmitRecord } = await import('../../src/privacy/access-rules.ts');
    const { registrarMatching } = await import('../../src/app.ts');
    const { Matcher } = await import('../../src/mpi/match.ts');
    const { DEFAULT_WEIGHTS } = await import('../../src/mpi/weights.ts');
    const mac = new MyNumberMac(Buffer.alloc(32, 1));
    const reg = new Registrar({
      uow: s.app.context.uow,
      myNumberMacs: mac,
      clock: { now: () => clock },
      medicalIdSystem: ID_SYSTEMS.medicalId,
      drawMedicalId: () => drawn.shift() as string,
      assertMaySubmit: assertMaySubmitRecord,
      matching: registrarMatching(
        new Matcher({
          myNumberMac: (d) => mac.mac(d),
          weights: () => Promise.resolve(DEFAULT_WEIGHTS),
          thresholds: { certain: 70, probable: 21, possible: 8 },
          blockLimit: 2000,
          normalizeIdentifier: (_s, v) => v,
        }),
        21,
      ),
    });
    const { recordFromPatient } = await import('../../src/registry/patient.ts');
    const out = await reg.registerOne(
      recordFromPatient(registrationPatient({ insurer: INSURER, number: '6101', kana: ['ハヤシ', 'リン'] }), 'x', s.app.identifiers.rules),
      undefined,
    );
    expect(out.status, JSON.stringify(out.issues)).toBe('created');
    expect(out.medicalId).not.toBe(r?.medicalId);
  });

  it('records a death, keeps the ID for research for the retention period, then retires it', async () => {
    const [r] = await register([{ insurer: INSURER, number: '6200', kana: ['モリ', 'ショウ'] }]);
    const res = await call<Patient>(`${s.base}/Patient/${r?.patient ?? ''}/$record-death`, {
      method: 'POST',
      json: { resourceType: 'Parameters', parameter: [{ name: 'date', valueDate: '2026-04-01' }] },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.deceasedDateTime).toBe('2026-04-01');
    expect((await s.app.lifecycle.sweep()).retired).toBe(0);
    clock = new Date('2026-05-02T09:00:00Z');
    expect((await s.app.lifecycle.sweep()).retired).toBeGreaterThanOrEqual(1);
    clock = START; // the test's tokens were issued at START
    const p = await patient(r?.patient as string);
    expect(p.active).toBe(false);
    expect(p.identifier?.find((i) => i.system === ID_SYSTEMS.medicalId)).toMatchObject({ use: 'old', value: r?.medicalId });
    expect((await s.testDb.db.query(`SELECT status FROM registry.medical_id WHERE mid = $1`, [r?.medicalId])).rows).toEqual([
      { status: 'retired' },
    ]);
    const again = await register([{ insurer: INSURER, number: '6200', kana: ['モリ', 'ショウ'] }]);
    expect(again[0]).toMatchObject({ status: 'unchanged', patient: r?.patient });
  });

  it('merges a duplicate into the survivor and undoes it within the window', async () => {
    const [src] = await register([{ insurer: INSURER, number: '6300', kana: ['アオキ', 'ジュン'], birthDate: '1999-01-01' }]);
    const [tgt] = await register([
      { insurer: OTHER_INSURER, number: '6301', kana: ['アオキ', 'ジュン'], birthDate: '1999-07-15', myNumber: '222222222225' },
    ]);
    const merge = await call<FhirParameters>(`${s.base}/Patient/$merge`, {
      method: 'POST',
      json: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'source-patient', valueReference: { reference: `Patient/${src?.patient ?? ''}` } },
          { name: 'target-patient', valueReference: { reference: `Patient/${tgt?.patient ?? ''}` } },
        ],
      },
    });
    expect(merge.status, merge.text).toBe(200);
    const result = merge.body.parameter?.find((p) => p.name === 'result')?.resource as Patient;
    expect(result.link).toEqual([{ other: { reference: `Patient/${src?.patient ?? ''}` }, type: 'replaces' }]);
    expect(result.identifier).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ system: ID_SYSTEMS.medicalId, value: src?.medicalId, use: 'old' }),
        expect.objectContaining({ system: ID_SYSTEMS.insuredMemberId, value: `${INSURER}:1:6300:00` }),
      ]),
    );
    const source = await patient(src?.patient as string);
    expect(source).toMatchObject({ active: false, link: [{ other: { reference: `Patient/${tgt?.patient ?? ''}` }, type: 'replaced-by' }] });
    // The source's number now registers to the survivor.
    const [again] = await register([
      { insurer: INSURER, number: '6300', kana: ['アオキ', 'ジュン'], birthDate: '1999-07-15', phone: '03-1234-5678' },
    ]);
    expect(again).toMatchObject({ status: 'updated', patient: tgt?.patient });
    const undo = await call<FhirParameters>(`${s.base}/Patient/$unmerge`, {
      method: 'POST',
      json: {
        resourceType: 'Parameters',
        parameter: [{ name: 'source-patient', valueReference: { reference: `Patient/${src?.patient ?? ''}` } }],
      },
    });
    expect(undo.status).toBe(409); // the survivor changed after the merge (the re-registration above)
  });

  it('undoes a merge back to both persons, and refuses after the window', async () => {
    const [src] = await register([{ insurer: INSURER, number: '6400', kana: ['サカモト', 'リョウ'], birthDate: '1988-01-01' }]);
    const [tgt] = await register([{ insurer: OTHER_INSURER, number: '6401', kana: ['サカモト', 'リョウ'], birthDate: '1988-07-19' }]);
    const params = (name: string) => ({
      resourceType: 'Parameters',
      parameter: [
        { name: 'source-patient', valueReference: { reference: `Patient/${src?.patient ?? ''}` } },
        ...(name === 'merge' ? [{ name: 'target-patient', valueReference: { reference: `Patient/${tgt?.patient ?? ''}` } }] : []),
      ],
    });
    const before = await patient(tgt?.patient as string);
    expect((await call(`${s.base}/Patient/$merge`, { method: 'POST', json: params('merge') })).status).toBe(200);
    const undo = await call<FhirParameters>(`${s.base}/Patient/$unmerge`, { method: 'POST', json: params('unmerge') });
    expect(undo.status, undo.text).toBe(200);
    const after = await patient(tgt?.patient as string);
    expect(after.identifier).toEqual(before.identifier);
    expect((await patient(src?.patient as string)).active).toBe(true);
    expect(await byIdentifier(ID_SYSTEMS.insuredMemberId, `${INSURER}:1:6400:00`)).toEqual([src?.patient]);
    const history = (await call<Bundle>(`${s.base}/Patient/${tgt?.patient ?? ''}/_history`)).body;
    expect(history.total).toBe(3);
    // Merge again, let the window pass: undo is refused and the source's medical ID retires.
    expect((await call(`${s.base}/Patient/$merge`, { method: 'POST', json: params('merge') })).status).toBe(200);
    clock = new Date('2026-04-09T09:00:00Z');
    const late = await call<OperationOutcome>(`${s.base}/Patient/$unmerge`, {
      method: 'POST',
      json: params('unmerge'),
      headers: { authorization: `Bearer ${await s.tokenFor('system/*.cruds')}` },
    });
    expect(late.status).toBe(409);
    expect(late.body.issue[0]?.details?.text).toMatch(/can no longer be undone/);
    expect((await s.app.lifecycle.sweep()).finalized).toBeGreaterThanOrEqual(1);
    expect((await s.testDb.db.query(`SELECT status FROM registry.medical_id WHERE mid = $1`, [src?.medicalId])).rows).toEqual([
      { status: 'retired' },
    ]);
  });

  it('exports an insurer its own persons with their medical IDs (Bulk Data), audited per person', async () => {
    const token = await s.tokenFor('system/Patient.r', 'insurer-export', { kind: 'insurer', code: OTHER_INSURER });
    const auth = { authorization: `Bearer ${token}` };
    const kick = await call(`${s.base}/Patient/$export`, { headers: { ...auth, prefer: 'respond-async' } });
    expect(kick.status, kick.text).toBe(202);
    const status = kick.headers.get('content-location') as string;
    await Promise.all([...s.app.exportJobs.running]);
    const manifest = await call<{ output: { url: string; type: string }[]; requiresAccessToken: boolean }>(status, { headers: auth });
    expect(manifest.status).toBe(200);
    expect(manifest.body.requiresAccessToken).toBe(true);
    const file = await fetch(manifest.body.output[0]?.url, { headers: auth });
    expect(file.headers.get('content-type')).toContain('application/fhir+ndjson');
    const lines = (await file.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Patient);
    responses.push(JSON.stringify(lines));
    expect(lines.length).toBeGreaterThan(0);
    for (const p of lines) {
      expect(p.identifier?.some((i) => i.system === ID_SYSTEMS.medicalId)).toBe(true);
      for (const i of p.identifier ?? []) {
        if (i.system === ID_SYSTEMS.insuredMemberId) expect(i.value?.startsWith(`${OTHER_INSURER}:`)).toBe(true);
      }
      expect(p.name).toBeUndefined();
    }
    const audited = await count(
      `SELECT count(*)::int AS n FROM audit.event WHERE subtype = '$export-file' AND client_id = 'insurer-export'`,
    );
    expect(audited).toBe(lines.length);
    // Another client cannot see the job.
    expect((await call(status)).status).toBe(404);
    expect((await call(`${s.base}/Patient/$export`, { headers: { ...auth } })).status).toBe(400);
  });

  it('never holds My Number in clear in a table, log line or response', async () => {
    const digits = [MY_NUMBER, OTHER_MY_NUMBER, '111111111118', '222222222225'];
    const dump = await s.testDb.db.query<{ t: string }>(`
      SELECT string_agg(t, ' ') AS t FROM (
        SELECT content AS t FROM fhir.resource UNION ALL SELECT content FROM fhir.resource_version
        UNION ALL SELECT coalesce(code, '') FROM fhir.sp_token UNION ALL SELECT value FROM fhir.sp_string
        UNION ALL SELECT row_to_json(e)::text FROM audit.event e UNION ALL SELECT row_to_json(r)::text FROM registry.review r
        UNION ALL SELECT row_to_json(i)::text FROM registry.person_identifier i UNION ALL SELECT row_to_json(p)::text FROM registry.person p) x`);
    const all = `${dump.rows[0]?.t ?? ''}\n${logLines.join('\n')}\n${responses.join('\n')}`;
    for (const d of digits) expect(all.includes(d)).toBe(false);
    expect(logLines.length).toBeGreaterThan(10);
  });
});
