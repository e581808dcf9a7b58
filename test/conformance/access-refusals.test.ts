/**
 * Each refusal issue 13 found (2026-11-30), reproduced over HTTP and refused; purpose of use
 * at the token endpoint; break-the-glass end to end; $match for a hospital.
 */
import type { Bundle, Communication, OperationOutcome, Parameters, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrgKind } from '../../src/core/principal.ts';
import { ID_SYSTEMS } from '../../src/core/systems.ts';
import { grantsOn } from '../../src/privacy/break-the-glass.ts';
import { carryMedicalIds } from '../../src/store/access.ts';
import { consent, writeConsent } from '../helpers/access.ts';
import { newClientKeys, registerClient, tokenRequest } from '../helpers/clients.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch } from '../helpers/fhir.ts';
import { insurerNumber, myNumber, registerBody, registrationPatient, results } from '../helpers/registry.ts';
import type { PersonSpec } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const INSURER_A = insurerNumber('0613809');
const INSURER_B = insurerNumber('0627001');
const HOSPITAL = '1311111111';
const TODAY = '2026-04-10';
/** Person a: registered in beforeAll, registered again by her insurer in a test. */
const HANAKO: PersonSpec = {
  insurer: INSURER_A,
  number: '201',
  kana: ['タナカ', 'ハナコ'],
  kanji: ['田中', '花子'],
  gender: 'female',
  birthDate: '1990-02-02',
  phone: '0311112222',
};

describe.each(testDrivers())('access refusals on %s', (driver) => {
  let s: TestServer;
  const pid: Record<string, string> = {};
  const mid: Record<string, string> = {};
  const token = (kind: OrgKind, code: string, scope = 'system/*.cruds', purpose?: string) =>
    s.tokenFor(scope, `c-${kind}-${code}-${purpose ?? ''}`, { kind, code }, purpose);
  /** Client assertions dated by the server's (fixed) clock. */
  const at = { exp: Date.parse(`${TODAY}T03:00:00Z`) / 1000 + 120 };
  const call = <T = OperationOutcome>(path: string, t: string, init: RequestInit & { json?: unknown } = {}) =>
    fhirFetch<T>(`${s.base}${path}`, { ...init, headers: { authorization: `Bearer ${t}`, ...(init.headers as object) } });

  beforeAll(async () => {
    s = await startTestServer(driver, { deps: { clock: { now: () => new Date(`${TODAY}T03:00:00Z`) } } });
    const reg = await call<Parameters>('/Patient/$register', s.token, {
      method: 'POST',
      json: registerBody([
        {
          record: 'a',
          patient: registrationPatient(HANAKO),
        },
        {
          record: 'b',
          patient: registrationPatient({ insurer: INSURER_B, number: '202', kana: ['サトウ', 'ジロウ'], birthDate: '1985-05-05' }),
        },
        {
          record: 'dead',
          patient: registrationPatient({ insurer: INSURER_B, number: '203', kana: ['キムラ', 'ゴロウ'], birthDate: '1930-03-03' }),
        },
      ]),
    });
    for (const r of results(reg.body)) {
      pid[r.record as string] = r.patient as string;
      mid[r.record as string] = r.medicalId as string;
    }
    // A replaced medical ID: b's card was lost, so b has a new ID and the old one is `replaced`.
    const changed = await call<Parameters>(`/Patient/${pid['b'] ?? ''}/$change-medical-id`, s.token, {
      method: 'POST',
      json: { resourceType: 'Parameters' },
    });
    expect(changed.status).toBe(200);
    mid['b-old'] = mid['b'] ?? '';
  });
  afterAll(async () => {
    await s.close();
  });

  it("an insurer cannot read, search, match, update or delete another insurer's member", async () => {
    const a = await token('insurer', INSURER_A);
    const b = pid['b'] ?? '';
    expect((await call(`/Patient/${b}`, a)).status).toBe(404);
    expect((await call(`/Patient/${b}/_history/1`, a)).status).toBe(404);
    expect((await call(`/Patient/${b}/_history`, a)).status).toBe(404);
    expect((await call<Bundle>(`/Patient?_count=1000&_total=accurate`, a)).body.total).toBe(1);
    expect(
      (await call<Bundle>(`/Patient?identifier=${encodeURIComponent(`${ID_SYSTEMS.medicalId}|${mid['b'] ?? ''}`)}`, a)).body.total ?? 0,
    ).toBe(0);
    const current = (await call<Patient>(`/Patient/${b}`, s.token)).body;
    expect(
      (await call(`/Patient/${b}`, a, { method: 'PUT', json: { ...current, telecom: [{ system: 'phone', value: '0000' }] } })).status,
    ).toBe(403);
    expect((await call(`/Patient/${b}`, a, { method: 'DELETE' })).status).toBe(403);
    const match = await call<Bundle>('/Patient/$match', a, {
      method: 'POST',
      json: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'resource', resource: { resourceType: 'Patient', identifier: [{ system: ID_SYSTEMS.medicalId, value: mid['b'] }] } },
        ],
      },
    });
    expect(match.body.entry?.filter((e) => e.search?.mode === 'match') ?? []).toEqual([]);
    const cov = await call('/Coverage', a, {
      method: 'POST',
      json: {
        resourceType: 'Coverage',
        status: 'active',
        beneficiary: { reference: `Patient/${b}` },
        payor: [{ identifier: { system: ID_SYSTEMS.insurerNumber, value: INSURER_A } }],
      },
    });
    expect(cov.status).toBe(403);
    // The person is still whole: one registry Patient, found by its medical ID.
    expect((await call(`/Patient/${b}`, s.token)).status).toBe(200);
  });

  it('plain POST and PUT cannot copy, reuse or strip a medical ID, nor add a My Number; nothing is written', async () => {
    const before = (await s.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM fhir.resource WHERE resource_type = 'Patient'`))
      .rows[0]?.n;
    const withId = (value: string): Patient => ({
      resourceType: 'Patient',
      name: [{ family: 'Copy' }],
      identifier: [{ system: ID_SYSTEMS.medicalId, value }],
    });
    for (const value of [mid['a'] ?? '', mid['b-old'] ?? '']) {
      const res = await call('/Patient', s.token, { method: 'POST', json: withId(value) });
      expect(res.status).toBe(422);
      expect(res.text).toMatch(/Registry integrity/);
      expect(res.text).not.toContain(value);
    }
    const a = (await call<Patient>(`/Patient/${pid['a'] ?? ''}`, s.token)).body;
    const stripped = await call(`/Patient/${a.id ?? ''}`, s.token, {
      method: 'PUT',
      json: { ...a, identifier: a.identifier?.filter((i) => i.system !== ID_SYSTEMS.medicalId) },
    });
    expect(stripped.status).toBe(422);
    const renamed = await call(`/Patient/${a.id ?? ''}`, s.token, { method: 'PUT', json: { ...a, birthDate: '1991-01-01' } });
    expect(renamed.status).toBe(422);
    const mn = myNumber('12345678901');
    const added = await call(`/Patient/${a.id ?? ''}`, s.token, {
      method: 'PUT',
      json: { ...a, identifier: [...(a.identifier ?? []), { system: ID_SYSTEMS.myNumber, value: mn }] },
    });
    expect(added.status).toBe(422);
    expect(added.text).not.toContain(mn);
    const byInsurer = await call(`/Patient/${a.id ?? ''}`, await token('insurer', INSURER_B), {
      method: 'PUT',
      json: { ...a, identifier: [...(a.identifier ?? []), { system: ID_SYSTEMS.myNumber, value: mn }] },
    });
    expect(byInsurer.status).toBe(403);
    // Another resource naming the medical-ID system; and the same through a transaction.
    const obs = await call('/Observation', s.token, {
      method: 'POST',
      json: {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        identifier: [{ system: ID_SYSTEMS.medicalId, value: mid['a'] }],
      },
    });
    expect(obs.status).toBe(422);
    const tx = await call('/', s.token, {
      method: 'POST',
      json: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { resourceType: 'Patient', name: [{ family: 'Fine' }] }, request: { method: 'POST', url: 'Patient' } },
          { resource: withId(mid['a'] ?? ''), request: { method: 'POST', url: 'Patient' } },
        ],
      },
    });
    expect(tx.status).toBe(422);
    const after = (await s.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM fhir.resource WHERE resource_type = 'Patient'`))
      .rows[0]?.n;
    expect(after).toBe(before);
    // A plain, non-registry Patient is still an ordinary resource for the authority.
    const local = await call<Patient>('/Patient', s.token, {
      method: 'POST',
      json: { resourceType: 'Patient', name: [{ family: 'Local' }] },
    });
    expect(local.status).toBe(201);
    // Beneath the API, the database refuses it too: no ID but one's own person's, and no second carrier.
    expect(await carryMedicalIds(s.testDb.db, [], [{ mid: mid['a'] ?? '', patientId: local.body.id ?? '' }])).toEqual([mid['a']]);
    expect(await carryMedicalIds(s.testDb.db, [], [{ mid: mid['a'] ?? '', patientId: pid['a'] ?? '' }])).toEqual([]); // its own, already carried
    // The owner's registration of the same record still works.
    const again = await call<Parameters>('/Patient/$register', await token('insurer', INSURER_A, 'system/Patient.cu'), {
      method: 'POST',
      json: registerBody([
        {
          patient: registrationPatient(HANAKO),
        },
      ]),
    });
    expect(results(again.body)[0]?.status).toBe('unchanged');
  });

  it('a research database receives no identified data: identified reads are 404 or 403, other identifiers and criteria refused, $ihe-pix 403', async () => {
    const db = await token('database', 'ndb');
    const mn = encodeURIComponent(`${ID_SYSTEMS.myNumber}|${myNumber('12345678901')}`);
    // Its own routes take pseudonyms only: a Patient id names nobody, another system is refused.
    const byId = await call(`/Patient/${pid['a'] ?? ''}`, db);
    expect(byId.status).toBe(404);
    expect(byId.text).not.toContain(pid['a'] ?? 'none');
    const byMyNumber = await call(`/Patient?identifier=${mn}`, db);
    expect(byMyNumber.status).toBe(403);
    expect(byMyNumber.text).toMatch(/rule database\.identifier/);
    expect((await call('/Coverage', db)).status).toBe(400);
    for (const path of ['/Observation?_count=10', '/Patient/_history', `/Patient/${pid['a'] ?? ''}/_history`]) {
      const res = await call(path, db);
      expect(res.status, path).toBe(403);
      expect(res.text, path).toMatch(/Access policy: database clients/);
    }
    const pix = await call(`/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${ID_SYSTEMS.medicalId}|${mid['a'] ?? ''}`)}`, db);
    expect(pix.status).toBe(403);
    // $export is its pseudonymized export (test/conformance/pseudonymized-view.test.ts).
    expect((await call('/Patient/$export', db, { headers: { prefer: 'respond-async' } })).status).toBe(202);
    // The directory stays readable.
    expect((await call('/Organization', db)).status).toBe(200);
  });

  it('a refusal names the element and the rule, never the value, in the response and in the audit log', async () => {
    const bad = '98320567321';
    const res = await call('/Patient', s.token, {
      method: 'POST',
      json: { resourceType: 'Patient', identifier: [{ system: ID_SYSTEMS.insuredMemberId, value: `${INSURER_A}:1:${bad}:00x` }] },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.text).not.toContain(bad);
    const death = await call(`/Patient/${pid['a'] ?? ''}/$record-death`, s.token, {
      method: 'POST',
      json: { resourceType: 'Parameters', parameter: [{ name: 'date', valueString: `${bad}-01` }] },
    });
    expect(death.status).toBe(400);
    expect(death.text).not.toContain(bad);
    const logged = await s.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit.event WHERE outcome_desc LIKE $1`, [
      `%${bad}%`,
    ]);
    expect(logged.rows[0]?.n).toBe(0);
  });

  it('a Consent may be limited by data class, purpose and period', async () => {
    const b = pid['b'] ?? '';
    const hospital = { kind: 'medical-institution' as const, code: '1322222222' };
    const treat = await token('medical-institution', hospital.code);
    const paying = await token('medical-institution', hospital.code, 'system/*.cruds', 'HPAYMT');
    const obs = await call<Patient>('/Observation', s.token, {
      method: 'POST',
      json: { resourceType: 'Observation', status: 'final', code: { text: 'HbA1c' }, subject: { reference: `Patient/${b}` } },
    });
    await writeConsent(s, consent(b, 'permit', hospital));
    expect((await call(`/Observation/${obs.body.id ?? ''}`, treat)).status).toBe(200);
    // A deny of one data class: the Patient stays visible, its Observations do not.
    await writeConsent(s, consent(b, 'deny', hospital, { classes: ['Observation'] }));
    expect((await call(`/Patient/${b}`, treat)).status).toBe(200);
    expect((await call(`/Observation/${obs.body.id ?? ''}`, treat)).status).toBe(404);
    // A deny for one purpose: the same hospital paying a claim no longer sees the person.
    await writeConsent(s, consent(b, 'deny', hospital, { purposes: ['HPAYMT'] }));
    expect((await call(`/Patient/${b}`, treat)).status).toBe(200);
    expect((await call(`/Patient/${b}`, paying)).status).toBe(404);
    // A deny whose period is over changes nothing.
    const old = consent(b, 'deny', hospital);
    await writeConsent(s, { ...old, provision: { ...old.provision, period: { start: '2020-01-01', end: '2021-01-01' } } });
    expect((await call(`/Patient/${b}`, treat)).status).toBe(200);
  });

  it('a regional network cross-references its own local ids, for its enrolled persons only', async () => {
    const a = pid['a'] ?? '';
    const net = await token('regional-network', 'chiba-net');
    const system = `${ID_SYSTEMS.networkPatientIdPrefix}chiba-net`;
    // The network feeds its id for her (Patient/$feed-network-id); only once she is enrolled.
    const feed = () =>
      call(`/Patient/$feed-network-id`, net, {
        method: 'POST',
        json: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'localIdentifier', valueIdentifier: { system, value: 'CN-0001' } },
            { name: 'patientIdentifier', valueIdentifier: { system: ID_SYSTEMS.medicalId, value: mid['a'] } },
          ],
        },
      });
    expect((await feed()).status).toBe(404); // not enrolled yet
    const ask = (t: string) => call<Parameters>(`/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${system}|CN-0001`)}`, t);
    expect((await ask(net)).status).toBe(404);
    await writeConsent(s, consent(a, 'permit', { kind: 'regional-network', code: 'chiba-net' }));
    expect((await feed()).status).toBe(200);
    const found = await ask(net);
    expect(found.status).toBe(200);
    expect(found.body.parameter?.find((p) => p.valueIdentifier?.system === ID_SYSTEMS.medicalId)?.valueIdentifier?.value).toBe(mid['a']);
    expect((await ask(await token('medical-institution', HOSPITAL))).status).toBe(403); // another's local domain
    expect((await call(`/Patient/${a}`, net)).status).toBe(403); // networks read nothing directly
  });

  describe('purpose of use at the token endpoint', () => {
    it('is one the registration lists, defaults to its first, and travels in the token; BTG only when registered', async () => {
      const c = await newClientKeys('purpose-hospital');
      await registerClient(s, c, 'system/Patient.rs', { purposes: ['TREAT', 'HPAYMT'] });
      const plain = await tokenRequest(s, c, 'system/Patient.rs', at);
      expect(plain.status).toBe(200);
      expect(plain.body['purpose_of_use']).toBe('TREAT');
      const pay = await tokenRequest(s, c, 'system/Patient.rs', at, { purpose_of_use: 'hpaymt' });
      expect(pay.body['purpose_of_use']).toBe('HPAYMT');
      const btg = await tokenRequest(s, c, 'system/Patient.rs', at, { purpose_of_use: 'BTG' });
      expect(btg.status).toBe(400);
      expect(btg.body['error']).toBe('invalid_request');
      const research = await tokenRequest(s, c, 'system/Patient.rs', at, { purpose_of_use: 'HRESCH' });
      expect(research.status).toBe(400);
    });

    it('a registration may not list a purpose its kind may not use', async () => {
      const c = await newClientKeys('greedy-db');
      await expect(
        registerClient(s, c, 'system/Organization.rs', { organization: { kind: 'database', code: 'ndb' }, purposes: ['TREAT'] }),
      ).rejects.toThrow(/purposes/);
    });
  });

  describe('break-the-glass', () => {
    it('opens one person to a registered hospital for a day, flags every access, tells the person, and is reported', async () => {
      const c = await newClientKeys('er-hospital');
      await registerClient(s, c, 'system/Patient.rs', {
        organization: { kind: 'medical-institution', code: HOSPITAL },
        purposes: ['TREAT', 'BTG'],
      });
      const treat = (await tokenRequest(s, c, 'system/Patient.rs', at)).body['access_token'] as string;
      const glass = (await tokenRequest(s, c, 'system/Patient.rs', at, { purpose_of_use: 'BTG' })).body['access_token'] as string;
      const a = pid['a'] ?? '';
      await writeConsent(s, consent(a, 'deny')); // the person opted out
      expect((await call(`/Patient/${a}`, treat)).status).toBe(404);
      expect(
        (
          await call(`/Patient/${a}/$break-the-glass`, treat, {
            method: 'POST',
            json: { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: 'x' }] },
          })
        ).status,
      ).toBe(403);
      const noReason = await call(`/Patient/${a}/$break-the-glass`, glass, {
        method: 'POST',
        json: { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: '  ' }] },
      });
      expect(noReason.status).toBe(400);
      expect((await call(`/Patient/${a}`, glass)).status).toBe(404); // no grant yet
      const granted = await call<Parameters>(`/Patient/${a}/$break-the-glass`, glass, {
        method: 'POST',
        json: { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: '意識障害で救急搬送、既往歴の確認' }] },
      });
      expect(granted.status).toBe(200);
      expect(granted.body.parameter?.find((p) => p.name === 'expires')?.valueInstant).toBe('2026-04-11T03:00:00.000Z');
      expect((await call(`/Patient/${a}`, glass)).status).toBe(200);
      expect((await call(`/Patient/${a}`, treat)).status).toBe(404); // only under purpose BTG
      const events = await call<Bundle>(`/AuditEvent?patient=${a}&altid=er-hospital`, s.token);
      const purposes = (events.body.entry ?? []).map(
        (e) => (e.resource as { purposeOfEvent?: { coding?: { code?: string }[] }[] }).purposeOfEvent?.[0]?.coding?.[0]?.code,
      );
      expect(purposes).toContain('BTG');
      const commRef = granted.body.parameter?.find((p) => p.name === 'communication')?.valueReference?.reference ?? '';
      const comm = (await call<Communication>(`/${commRef}`, s.token)).body;
      expect(comm.recipient?.[0]?.reference).toBe(`Patient/${a}`);
      expect(comm.payload?.[0]?.contentString).toContain(HOSPITAL);
      expect(comm.payload?.[0]?.contentString).toContain('救急搬送');
      const report = await grantsOn(s.testDb.db, TODAY);
      expect(report.map((g) => [g.patientId, g.actor, g.clientId])).toEqual([[a, `medical-institution:${HOSPITAL}`, 'er-hospital']]);
    });

    it('is refused to kinds that may not break the glass', async () => {
      for (const kind of ['insurer', 'regional-network', 'database'] as const) {
        const t = await token(kind, kind === 'insurer' ? INSURER_A : 'net');
        const res = await call(`/Patient/${pid['b'] ?? ''}/$break-the-glass`, t, {
          method: 'POST',
          json: { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: 'x' }] },
        });
        expect(res.status, kind).toBe(403);
      }
    });
  });

  describe('$match for a hospital', () => {
    const query = (count?: number) => ({
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'resource',
          resource: {
            resourceType: 'Patient',
            name: [
              {
                extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation', valueCode: 'SYL' }],
                family: 'サトウ',
                given: ['ジロウ'],
              },
            ],
            birthDate: '1985-05-05',
            gender: 'male',
          },
        },
        ...(count ? [{ name: 'count', valueInteger: count }] : []),
      ],
    });

    it('is for treatment only, returns at most five matches graded probable or better, and withholds address and telecom outside its reach', async () => {
      const hospital = await token('medical-institution', HOSPITAL);
      const paying = await token('medical-institution', HOSPITAL, 'system/*.cruds', 'HPAYMT');
      expect((await call('/Patient/$match', paying, { method: 'POST', json: query() })).status).toBe(403);
      const res = await call<Bundle<Patient>>('/Patient/$match', hospital, { method: 'POST', json: query(50) });
      expect(res.status).toBe(200);
      const matches = (res.body.entry ?? []).filter((e) => e.search?.mode === 'match');
      expect(matches.length).toBeGreaterThan(0);
      expect(matches.length).toBeLessThanOrEqual(5);
      for (const m of matches) {
        const grade = m.search?.extension?.[0]?.valueCode;
        expect(['certain', 'probable']).toContain(grade);
        expect(m.resource?.address).toBeUndefined();
        expect(m.resource?.telecom).toBeUndefined();
        expect(m.resource?.identifier?.every((i) => i.system === ID_SYSTEMS.medicalId)).toBe(true);
      }
    });
  });
});
