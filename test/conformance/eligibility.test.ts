/**
 * Online eligibility confirmation (CoverageEligibilityRequest/$submit), service-use history,
 * record location with Consent, and the directory, over HTTP: every validity outcome, the
 * daily boundaries, two concurrent cards, a short-term card, a bad check digit, a mismatch
 * producing a Task and a Communication (closed by a corrected registration), a deny Consent,
 * and a directory search by institution code returning the endpoint.
 */
import type {
  Bundle,
  Communication,
  Consent,
  Coverage,
  CoverageEligibilityRequest,
  CoverageEligibilityResponse,
  Endpoint,
  OperationOutcome,
  Organization,
  Parameters,
  Task,
} from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.ts';
import { serviceUsesToRecord, serviceUseWrite } from '../../src/eligibility/service-use.ts';
import { ID_SYSTEMS } from '../../src/core/systems.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { insurerNumber, registerBody, registrationPatient, results } from '../helpers/registry.ts';
import type { PersonSpec } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const KENPO = insurerNumber('0614001');
const KOKUHO = insurerNumber('0113001');
const HOSPITAL = '1311111111';
const OTHER_HOSPITAL = '1322222222';
const JPC = 'http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPerson';
const VALIDITY = 'http://medid.example.org/fhir/StructureDefinition/eligibility-validity';

describe.each(testDrivers())('eligibility, service use and record location on %s', (driver) => {
  let s: TestServer;
  let hospital: string;
  const pid: Record<string, string> = {};
  const people: Record<string, PersonSpec> = {
    ichiro: { insurer: KENPO, symbol: '10', number: '500', branch: '00', kana: ['スズキ', 'イチロウ'], birthDate: '1970-05-05' },
    twin1: {
      insurer: KENPO,
      symbol: '20',
      number: '600',
      branch: '01',
      kana: ['ヤマダ', 'ソラ'],
      birthDate: '2015-01-01',
      myNumber: '123456789018',
    },
    twin2: {
      insurer: KENPO,
      symbol: '20',
      number: '600',
      branch: '02',
      kana: ['ヤマダ', 'ウミ'],
      gender: 'female',
      birthDate: '2015-01-01',
      myNumber: '983205673214',
    },
    mover: {
      insurer: KENPO,
      symbol: '30',
      number: '700',
      branch: '00',
      kana: ['タナカ', 'ミキ'],
      gender: 'female',
      birthDate: '1988-08-08',
    },
  };
  const coverage = (o: {
    insurer: string;
    symbol: string;
    number: string;
    branch: string;
    patient: string;
    start: string;
    end?: string;
    loss?: string;
  }): Coverage => ({
    resourceType: 'Coverage',
    status: 'active',
    identifier: [{ system: ID_SYSTEMS.insuredMemberId, value: `${o.insurer}:${o.symbol}:${o.number}:${o.branch}` }],
    extension: [
      { url: `${JPC}Symbol`, valueString: o.symbol },
      { url: `${JPC}Number`, valueString: o.number },
      { url: `${JPC}SubNumber`, valueString: o.branch },
      ...(o.loss
        ? [
            {
              url: 'http://medid.example.org/fhir/StructureDefinition/coverage-loss-reason',
              valueCoding: { system: 'http://medid.example.org/fhir/CodeSystem/coverage-loss-reason', code: o.loss },
            },
          ]
        : []),
    ],
    beneficiary: { reference: `Patient/${o.patient}` },
    payor: [{ identifier: { system: ID_SYSTEMS.insurerNumber, value: o.insurer } }],
    period: { start: o.start, ...(o.end ? { end: o.end } : {}) },
  });
  const put = async (c: Coverage) => {
    const res = await fhirFetch(
      `${s.base}/Coverage?identifier=${encodeURIComponent(`${ID_SYSTEMS.insuredMemberId}|${c.identifier?.[0]?.value ?? ''}`)}`,
      { method: 'PUT', json: c },
    );
    expect(res.status, res.text).toBeLessThan(300);
  };
  const request = (card: {
    insurer: string;
    symbol?: string;
    number: string;
    branch?: string;
    birthDate: string;
    day: string;
    medicalId?: string;
    kana?: [string, string];
  }): CoverageEligibilityRequest => ({
    resourceType: 'CoverageEligibilityRequest',
    status: 'active',
    purpose: ['validation'],
    created: '2026-04-01T09:00:00+09:00',
    contained: [
      {
        resourceType: 'Patient',
        id: 'p',
        birthDate: card.birthDate,
        ...(card.medicalId ? { identifier: [{ system: ID_SYSTEMS.medicalId, value: card.medicalId }] } : {}),
        ...(card.kana
          ? {
              name: [
                {
                  extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation', valueCode: 'SYL' }],
                  family: card.kana[0],
                  given: [card.kana[1]],
                },
              ],
            }
          : {}),
      },
      {
        resourceType: 'Coverage',
        id: 'c',
        status: 'active',
        beneficiary: { reference: '#p' },
        payor: [{ identifier: { system: ID_SYSTEMS.insurerNumber, value: card.insurer } }],
        extension: [
          ...(card.symbol ? [{ url: `${JPC}Symbol`, valueString: card.symbol }] : []),
          { url: `${JPC}Number`, valueString: card.number },
          ...(card.branch ? [{ url: `${JPC}SubNumber`, valueString: card.branch }] : []),
        ],
      },
    ],
    patient: { reference: '#p' },
    servicedDate: card.day,
    insurer: { identifier: { system: ID_SYSTEMS.insurerNumber, value: card.insurer } },
    insurance: [{ coverage: { reference: '#c' } }],
  });
  const submit = async (req: CoverageEligibilityRequest, token = hospital) =>
    fhirFetch<CoverageEligibilityResponse>(`${s.base}/CoverageEligibilityRequest/$submit`, {
      method: 'POST',
      json: req,
      headers: { authorization: `Bearer ${token}` },
    });
  const validity = (r: CoverageEligibilityResponse) => r.extension?.find((e) => e.url === VALIDITY)?.valueCoding?.code;

  beforeAll(async () => {
    s = await startTestServer(driver, { deps: { clock: { now: () => new Date('2026-04-10T03:00:00Z') } } });
    useToken(s.token);
    hospital = await s.tokenFor(
      'system/CoverageEligibilityRequest.c system/Patient.r system/Organization.r system/Endpoint.r',
      'hospital',
      {
        kind: 'medical-institution',
        code: HOSPITAL,
      },
    );
    const res = await fhirFetch<Parameters>(`${s.base}/Patient/$register`, {
      method: 'POST',
      json: registerBody(Object.entries(people).map(([record, p]) => ({ record, patient: registrationPatient(p) }))),
    });
    for (const r of results(res.body)) pid[r.record as string] = r.patient as string;
    expect(Object.keys(pid)).toHaveLength(4);
    await put(
      coverage({
        insurer: KENPO,
        symbol: '10',
        number: '500',
        branch: '00',
        patient: pid['ichiro'],
        start: '2020-04-01',
        end: '2026-04-15',
        loss: '03',
      }),
    );
    await put(coverage({ insurer: KOKUHO, symbol: '7', number: '9100', branch: '00', patient: pid['ichiro'], start: '2026-03-01' }));
    await put(coverage({ insurer: KENPO, symbol: '20', number: '600', branch: '01', patient: pid['twin1'], start: '2015-01-10' }));
    await put(coverage({ insurer: KENPO, symbol: '20', number: '600', branch: '02', patient: pid['twin2'], start: '2015-01-10' }));
    await put(
      coverage({
        insurer: KENPO,
        symbol: '30',
        number: '700',
        branch: '00',
        patient: pid['mover'],
        start: '2010-04-01',
        end: '2026-03-31',
        loss: '03',
      }),
    );
    await put(
      coverage({
        insurer: KOKUHO,
        symbol: '8',
        number: '9200',
        branch: '00',
        patient: pid['mover'],
        start: '2026-04-01',
        end: '2026-04-30',
      }),
    );
  });
  afterAll(async () => {
    await s.close();
  });

  it('answers valid with the coverage period and, for a medical institution, the person', async () => {
    const res = await submit(
      request({ insurer: KENPO, symbol: '10', number: '500', branch: '00', birthDate: '1970-05-05', day: '2026-04-10' }),
    );
    expect(res.status, res.text).toBe(200);
    expect(validity(res.body)).toBe('1');
    expect(res.body.patient.reference).toBe(`Patient/${pid['ichiro'] ?? ''}`);
    expect(res.body.insurance?.[0]).toMatchObject({ inforce: true, benefitPeriod: { start: '2020-04-01', end: '2026-04-15' } });
  });

  it('is valid on the last day of a coverage and not the next day, with the loss reason (a newer coverage exists)', async () => {
    const last = await submit(
      request({ insurer: KENPO, symbol: '10', number: '500', branch: '00', birthDate: '1970-05-05', day: '2026-04-15' }),
    );
    expect(validity(last.body)).toBe('1');
    const after = await submit(
      request({ insurer: KENPO, symbol: '10', number: '500', branch: '00', birthDate: '1970-05-05', day: '2026-04-16' }),
    );
    expect(validity(after.body)).toBe('3');
    expect(after.body.insurance?.[0]?.inforce).toBe(false);
    expect(after.body.extension?.find((e) => e.url.endsWith('/coverage-loss-reason'))?.valueCoding?.code).toBe('03');
  });

  it('says a newer coverage exists for an old card, and the new short-term card is valid only within its month', async () => {
    expect(
      validity(
        (await submit(request({ insurer: KENPO, symbol: '30', number: '700', branch: '00', birthDate: '1988-08-08', day: '2026-04-10' })))
          .body,
      ),
    ).toBe('3');
    expect(
      validity(
        (await submit(request({ insurer: KOKUHO, symbol: '8', number: '9200', branch: '00', birthDate: '1988-08-08', day: '2026-04-30' })))
          .body,
      ),
    ).toBe('1');
    expect(
      validity(
        (await submit(request({ insurer: KOKUHO, symbol: '8', number: '9200', branch: '00', birthDate: '1988-08-08', day: '2026-05-01' })))
          .body,
      ),
    ).toBe('2');
  });

  it('accepts two concurrent cards of one person', async () => {
    for (const card of [
      { insurer: KENPO, symbol: '10', number: '500', branch: '00' },
      { insurer: KOKUHO, symbol: '7', number: '9100', branch: '00' },
    ]) {
      const res = await submit(request({ ...card, birthDate: '1970-05-05', day: '2026-04-12' }));
      expect(validity(res.body)).toBe('1');
      expect(res.body.patient.reference).toBe(`Patient/${pid['ichiro'] ?? ''}`);
    }
  });

  it('answers not found for unknown numbers or another birth date, and several found without 枝番 for twins', async () => {
    expect(
      validity(
        (await submit(request({ insurer: KENPO, symbol: '10', number: '999', branch: '00', birthDate: '1970-05-05', day: '2026-04-10' })))
          .body,
      ),
    ).toBe('4');
    const wrongBirth = await submit(
      request({ insurer: KENPO, symbol: '10', number: '500', branch: '00', birthDate: '1970-05-06', day: '2026-04-10' }),
    );
    expect(validity(wrongBirth.body)).toBe('4');
    expect(wrongBirth.body.patient.reference).toBeUndefined();
    const twins = await submit(request({ insurer: KENPO, symbol: '20', number: '600', birthDate: '2015-01-01', day: '2026-04-10' }));
    expect(validity(twins.body)).toBe('5');
    expect(twins.body.outcome).toBe('error');
    expect(
      validity(
        (await submit(request({ insurer: KENPO, symbol: '20', number: '600', branch: '02', birthDate: '2015-01-01', day: '2026-04-10' })))
          .body,
      ),
    ).toBe('1');
  });

  it('refuses a bad insurer check digit with 400 naming the element, not "not found"', async () => {
    const bad = `${KENPO.slice(0, 7)}${(Number(KENPO[7]) + 1) % 10}`;
    const res = await submit(
      request({ insurer: bad, symbol: '10', number: '500', branch: '00', birthDate: '1970-05-05', day: '2026-04-10' }),
    );
    expect(res.status).toBe(400);
    const oo = res.body as unknown as OperationOutcome;
    expect(oo.issue[0]?.expression).toEqual(['CoverageEligibilityRequest.insurer.identifier.value']);
    expect(oo.issue[0]?.details?.text).toMatch(/check digit/);
  });

  it('refuses a day that is not on the calendar with 400 naming the element, and records no visit', async () => {
    const uses = async () => (await s.testDb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM registry.service_use')).rows[0]?.n;
    const before = await uses();
    for (const [card, element] of [
      [
        { insurer: KENPO, symbol: '10', number: '500', branch: '00', birthDate: '1970-05-05', day: '2026-02-30' },
        'CoverageEligibilityRequest.servicedDate',
      ],
      [
        { insurer: KENPO, symbol: '10', number: '500', branch: '00', birthDate: '1970-02-30', day: '2026-04-10' },
        'CoverageEligibilityRequest.contained.birthDate',
      ],
    ] as const) {
      const res = await submit(request(card));
      expect(res.status, res.text).toBe(400);
      expect((res.body as unknown as OperationOutcome).issue[0]?.expression).toEqual([element]);
    }
    expect(await uses()).toBe(before);
  });

  it('withholds the person from a caller that is not a medical institution', async () => {
    const insurer = await s.tokenFor('system/CoverageEligibilityRequest.c', 'insurer', { kind: 'insurer', code: KENPO });
    const res = await submit(
      request({ insurer: KENPO, symbol: '10', number: '500', branch: '00', birthDate: '1970-05-05', day: '2026-04-10' }),
      insurer,
    );
    expect(validity(res.body)).toBe('1');
    expect(res.body.patient.reference).toBeUndefined();
  });

  it('records a mismatch once as a Task for the insurer and a Communication to the person; a corrected registration closes the Task', async () => {
    const req = request({
      insurer: KENPO,
      symbol: '10',
      number: '500',
      branch: '00',
      birthDate: '1970-05-05',
      day: '2026-04-10',
      kana: ['スズキ', 'ジロウ'],
    });
    const res = await submit(req);
    expect(res.body.disposition).toMatch(/kana name given differs from the registry/);
    await submit(req);
    const tasks =
      (await fhirFetch<Bundle<Task>>(`${s.base}/Task?subject=Patient/${pid['ichiro'] ?? ''}`)).body.entry?.map((e) => e.resource as Task) ??
      [];
    const mismatch = tasks.filter((t) => t.code?.coding?.[0]?.code === 'registry-mismatch');
    expect(mismatch).toHaveLength(1);
    expect(mismatch[0]).toMatchObject({
      status: 'requested',
      owner: { identifier: { value: KENPO } },
      requester: { identifier: { value: HOSPITAL } },
    });
    const comms =
      (await fhirFetch<Bundle<Communication>>(`${s.base}/Communication?subject=Patient/${pid['ichiro'] ?? ''}`)).body.entry ?? [];
    expect(comms).toHaveLength(1);
    expect(comms[0]?.resource?.about?.[0]?.reference).toBe(`Task/${mismatch[0]?.id ?? ''}`);
    const fix = await fhirFetch<Parameters>(`${s.base}/Patient/$register`, {
      method: 'POST',
      json: registerBody([{ record: 'fix', patient: registrationPatient({ ...people['ichiro'], phone: '03-5555-6666' }) }]),
    });
    expect(results(fix.body)[0]?.status).toBe('updated');
    const after = (await fhirFetch<Task>(`${s.base}/Task/${mismatch[0]?.id ?? ''}`)).body;
    expect(after.status).toBe('completed');
  });

  it('keeps service use per organization and returns record locations with endpoints, honouring a deny Consent', async () => {
    const org = async (code: string, name: string): Promise<string> => {
      const o: Organization = {
        resourceType: 'Organization',
        identifier: [{ system: ID_SYSTEMS.medicalInstitutionCode, value: code }],
        active: true,
        name,
        type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov' }] }],
        address: [{ state: '東京都' }],
      };
      const r = await fhirFetch<Organization>(`${s.base}/Organization`, { method: 'POST', json: o });
      const ep: Endpoint = {
        resourceType: 'Endpoint',
        status: 'active',
        connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'hl7-fhir-rest' },
        name: `${name} FHIR`,
        managingOrganization: { reference: `Organization/${r.body.id ?? ''}` },
        payloadType: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type', code: 'any' }] }],
        address: `https://${code}.example/fhir`,
      };
      expect((await fhirFetch(`${s.base}/Endpoint`, { method: 'POST', json: ep })).status).toBe(201);
      return r.body.id as string;
    };
    const hospitalOrg = await org(HOSPITAL, '東都病院');
    await org(OTHER_HOSPITAL, '西町クリニック');
    const other = await s.tokenFor('system/CoverageEligibilityRequest.c system/Patient.r', 'clinic', {
      kind: 'medical-institution',
      code: OTHER_HOSPITAL,
    });
    await submit(request({ insurer: KOKUHO, symbol: '8', number: '9200', branch: '00', birthDate: '1988-08-08', day: '2026-04-02' }));
    await submit(request({ insurer: KOKUHO, symbol: '8', number: '9200', branch: '00', birthDate: '1988-08-08', day: '2026-04-20' }));
    await submit(
      request({ insurer: KOKUHO, symbol: '8', number: '9200', branch: '00', birthDate: '1988-08-08', day: '2026-04-05' }),
      other,
    );
    const locate = async () =>
      (
        await fhirFetch<Bundle>(`${s.base}/Patient/${pid['mover'] ?? ''}/$record-locations`, {
          headers: { authorization: `Bearer ${hospital}` },
        })
      ).body;
    const b = await locate();
    const episodes = b.entry?.filter((e) => e.resource?.resourceType === 'EpisodeOfCare').map((e) => e.resource) ?? [];
    expect(episodes).toHaveLength(2);
    expect(
      episodes.find(
        (e) => (e as { managingOrganization?: { identifier?: { value?: string } } }).managingOrganization?.identifier?.value === HOSPITAL,
      ),
    ).toMatchObject({ period: { start: '2026-04-02', end: '2026-04-30' } }); // 04-30: an earlier test's confirmation
    expect(
      b.entry
        ?.filter((e) => e.resource?.resourceType === 'Endpoint')
        .map((e) => (e.resource as Endpoint).address)
        .sort(),
    ).toEqual([`https://${HOSPITAL}.example/fhir`, `https://${OTHER_HOSPITAL}.example/fhir`]);
    // A token that may not read the directory gets the episodes only.
    const patientOnly = await s.tokenFor('system/Patient.r', 'hospital-patient-only', { kind: 'medical-institution', code: HOSPITAL });
    const bare = (
      await fhirFetch<Bundle>(`${s.base}/Patient/${pid['mover'] ?? ''}/$record-locations`, {
        headers: { authorization: `Bearer ${patientOnly}` },
      })
    ).body;
    expect(bare.entry?.map((e) => e.resource?.resourceType)).toEqual(['EpisodeOfCare', 'EpisodeOfCare']);
    const consent: Consent = {
      resourceType: 'Consent',
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: `Patient/${pid['mover'] ?? ''}` },
      dateTime: '2026-04-21T10:00:00+09:00',
      policy: [{ uri: 'http://medid.example.org/fhir/policy/record-location' }],
      provision: {
        type: 'deny',
        actor: [
          {
            role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
            reference: { reference: `Organization/${hospitalOrg}` },
          },
        ],
      },
    };
    const c = await fhirFetch<Consent>(`${s.base}/Consent`, { method: 'POST', json: consent });
    expect(c.status, c.text).toBe(201);
    const hidden = await locate();
    expect(hidden.entry?.filter((e) => e.resource?.resourceType === 'Organization').map((e) => (e.resource as Organization).name)).toEqual([
      '西町クリニック',
    ]);
    expect(hidden.entry?.some((e) => (e.resource as Endpoint | undefined)?.address === `https://${HOSPITAL}.example/fhir`)).toBe(false);
    await fhirFetch(`${s.base}/Consent/${c.body.id ?? ''}`, { method: 'PUT', json: { ...c.body, provision: { type: 'deny' } } });
    expect((await locate()).entry ?? []).toEqual([]);
    const audits = (
      await s.testDb.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM audit.event WHERE subtype = '$record-locations' AND patient_id = $1`,
        [pid['mover']],
      )
    ).rows[0]?.n;
    expect(audits).toBe(4);
  });

  it('counts every visit of concurrent confirmations, each committed with its audit record', async () => {
    const use = async () =>
      (
        await s.testDb.db.query<{ visits: number; first: string; last: string }>(
          `SELECT visits, first_day::text AS first, last_day::text AS last FROM registry.service_use WHERE patient_id = $1 AND org_code = $2`,
          [pid['mover'], HOSPITAL],
        )
      ).rows[0];
    const audited = async () =>
      (
        await s.testDb.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM audit.event WHERE subtype = '$submit' AND patient_id = $1 AND query = 'validity=1' AND org_code = $2`,
          [pid['mover'], HOSPITAL],
        )
      ).rows[0]?.n ?? 0;
    const before = await use();
    const auditedBefore = await audited();
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        submit(request({ insurer: KOKUHO, symbol: '8', number: '9200', branch: '00', birthDate: '1988-08-08', day: '2026-04-25' })),
      ),
    );
    expect(answers.map((a) => validity(a.body))).toEqual(Array(8).fill('1'));
    expect(await use()).toEqual({ visits: (before?.visits ?? 0) + 8, first: before?.first, last: before?.last });
    expect(await audited()).toBe(auditedBefore + 8);
    // Uses recorded in one turn of the event loop share one audit batch, so one statement meets
    // the same person and institution several times: folded, every visit counted, the period
    // stretched both ways.
    const log = new AuditLog(s.testDb.db, { enabled: true });
    log.auditedWrites.register(serviceUseWrite);
    const days = ['2026-04-24', '2026-03-01', '2026-05-09', '2026-04-24'];
    await Promise.all(
      days.map((day) => log.record([], undefined, [serviceUsesToRecord([{ patientId: pid['mover'] ?? '', orgCode: HOSPITAL, day }])])),
    );
    expect(log.stats.batches).toBe(1);
    expect(await use()).toEqual({ visits: (before?.visits ?? 0) + 12, first: '2026-03-01', last: '2026-05-09' });
    // One bad row fails only its own request: the batch is retried entry by entry.
    const mixed = await Promise.allSettled(
      ['2026-04-23', 'not-a-day', '2026-04-22'].map((day) =>
        log.record([], undefined, [serviceUsesToRecord([{ patientId: pid['mover'] ?? '', orgCode: HOSPITAL, day }])]),
      ),
    );
    expect(mixed.map((m) => m.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await use())?.visits).toBe((before?.visits ?? 0) + 14);
  });

  it('finds a partner in the directory by institution code, with its endpoint', async () => {
    const res = await fhirFetch<Bundle>(
      `${s.base}/Organization?identifier=${encodeURIComponent(`${ID_SYSTEMS.medicalInstitutionCode}|${OTHER_HOSPITAL}`)}&_revinclude=Endpoint:organization`,
    );
    expect(res.status, res.text).toBe(200);
    expect(res.body.entry?.map((e) => e.resource?.resourceType).sort()).toEqual(['Endpoint', 'Organization']);
    expect((res.body.entry?.find((e) => e.resource?.resourceType === 'Endpoint')?.resource as Endpoint).address).toBe(
      `https://${OTHER_HOSPITAL}.example/fhir`,
    );
    const byState = await fhirFetch<Bundle>(`${s.base}/Organization?address-state=東京都&name=西町`);
    expect(byState.body.entry?.map((e) => (e.resource as Organization).name)).toEqual(['西町クリニック']);
  });
});
