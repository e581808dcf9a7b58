/**
 * Regional networks' local ids over HTTP (issue 16 item 7, R12): Patient/$feed-network-id feeds,
 * moves and removes a network's own id for a person enrolled in it (a permit Consent naming the
 * network), and Patient/$ihe-pix cross-references it both ways — for that network and the
 * authority only. Idempotent re-feed, 409 for an id fed for someone else, another network's or
 * a facility's system refused, a person without consent refused, withdrawal of the Consent,
 * registry merges followed, every change audited, no refusal repeating an identifier's value.
 */
import type { Consent, Identifier, OperationOutcome, Parameters, ParametersParameter, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ID_SYSTEMS } from '../../src/core/systems.ts';
import { facilitySystem } from '../../src/identifiers/facility-patient-id.ts';
import { newMedicalId } from '../../src/identifiers/medical-id.ts';
import { consent, writeConsent } from '../helpers/access.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch } from '../helpers/fhir.ts';
import { insurerNumber, registerBody, registrationPatient, results } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const INSURER = insurerNumber('0613712');
const HOSPITAL = '1312340001';
const NETWORK = 'chiba-net';
const OTHER_NETWORK = 'tokyo-net';
const NET = `${ID_SYSTEMS.networkPatientIdPrefix}${NETWORK}`;
const OTHER_NET = `${ID_SYSTEMS.networkPatientIdPrefix}${OTHER_NETWORK}`;
const FEED = '$feed-network-id';

describe.each(testDrivers())('regional networks’ local ids on %s', (driver) => {
  let s: TestServer;
  const pid: Record<string, string> = {};
  const mid: Record<string, string> = {};
  const consents: Record<string, string> = {};
  let net = '';
  let otherNet = '';
  let hospital = '';

  const call = <T = OperationOutcome>(path: string, t: string, init: RequestInit & { json?: unknown } = {}) =>
    fhirFetch<T>(`${s.base}${path}`, { ...init, headers: { authorization: `Bearer ${t}`, ...(init.headers as object) } });
  const medicalId = (who: string): Identifier => ({ system: ID_SYSTEMS.medicalId, value: mid[who] ?? '' });
  const feed = (t: string, local: Identifier, person?: Identifier, extra: ParametersParameter[] = []) =>
    call<Parameters>(`/Patient/${FEED}`, t, {
      method: 'POST',
      json: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'localIdentifier', valueIdentifier: local },
          ...(person ? [{ name: 'patientIdentifier', valueIdentifier: person }] : []),
          ...extra,
        ],
      },
    });
  const remove = (t: string, local: Identifier) => feed(t, local, undefined, [{ name: 'remove', valueBoolean: true }]);
  const pix = (t: string, source: Identifier, targets: string[] = []) =>
    call<Parameters>(
      `/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${source.system ?? ''}|${source.value ?? ''}`)}${targets
        .map((x) => `&targetSystem=${encodeURIComponent(x)}`)
        .join('')}`,
      t,
    );
  const param = (p: Parameters, name: string) => p.parameter?.find((x) => x.name === name);
  const targets = (p: Parameters) =>
    (p.parameter ?? [])
      .filter((x) => x.name === 'targetIdentifier')
      .map((x) => `${x.valueIdentifier?.system ?? ''}|${x.valueIdentifier?.value ?? ''}`);
  const local = (value: string, system = NET): Identifier => ({ system, value });

  beforeAll(async () => {
    s = await startTestServer(driver);
    const people = ['a', 'b', 'c', 'dupe', 'survivor'];
    const reg = await call<Parameters>('/Patient/$register', s.token, {
      method: 'POST',
      json: registerBody(
        people.map((record, i) => ({
          record,
          patient: registrationPatient({
            insurer: INSURER,
            number: String(7100 + i),
            kana: ['ネットワーク', ['イチ', 'ニ', 'サン', 'ヨン', 'ゴ'][i] ?? ''],
            birthDate: `1970-01-0${i + 1}`,
          }),
        })),
      ),
    });
    expect(reg.status, reg.text).toBe(200);
    for (const r of results(reg.body)) {
      pid[r.record as string] = r.patient as string;
      mid[r.record as string] = r.medicalId as string;
    }
    // Enrolled in the network: a, b, the duplicate and the survivor; c is not. a is also in the
    // other network and in the hospital's care.
    for (const who of ['a', 'b', 'dupe', 'survivor'])
      consents[who] = await writeConsent(s, consent(pid[who] ?? '', 'permit', { kind: 'regional-network', code: NETWORK }));
    await writeConsent(s, consent(pid['a'] ?? '', 'permit', { kind: 'regional-network', code: OTHER_NETWORK }));
    await writeConsent(s, consent(pid['a'] ?? '', 'permit', { kind: 'medical-institution', code: HOSPITAL }));
    net = await s.tokenFor('system/Patient.ru', 'chiba-net-client', { kind: 'regional-network', code: NETWORK });
    otherNet = await s.tokenFor('system/Patient.ru', 'tokyo-net-client', { kind: 'regional-network', code: OTHER_NETWORK });
    hospital = await s.tokenFor('system/Patient.rus', 'hospital-client', { kind: 'medical-institution', code: HOSPITAL });
  });
  afterAll(async () => {
    await s.close();
  });

  it('feeds a local id for an enrolled person, and cross-references it both ways for the network', async () => {
    const res = await feed(net, local('CN-0001'), medicalId('a'));
    expect(res.status, res.text).toBe(200);
    expect(param(res.body, 'outcome')?.valueCode).toBe('added');
    expect(param(res.body, 'targetId')?.valueReference?.reference).toBe(`Patient/${pid['a'] ?? ''}`);
    // Local id → the medical ID (the source is never echoed).
    const fromLocal = await pix(net, local('CN-0001'));
    expect(fromLocal.status, fromLocal.text).toBe(200);
    expect(targets(fromLocal.body)).toContain(`${ID_SYSTEMS.medicalId}|${mid['a'] ?? ''}`);
    expect(fromLocal.text).not.toContain('CN-0001');
    expect(param(fromLocal.body, 'targetId')?.valueReference?.reference).toBe(`Patient/${pid['a'] ?? ''}`);
    // The medical ID → the network's own local id.
    const fromMid = await pix(net, medicalId('a'), [NET]);
    expect(fromMid.status, fromMid.text).toBe(200);
    expect(targets(fromMid.body)).toEqual([`${NET}|CN-0001`]);
  });

  it('gives the local id to the authority, never to a hospital or another network', async () => {
    const authority = await pix(s.token, medicalId('a'));
    expect(targets(authority.body)).toContain(`${NET}|CN-0001`);
    expect(targets((await pix(s.token, local('CN-0001'))).body)).toContain(`${ID_SYSTEMS.medicalId}|${mid['a'] ?? ''}`);
    // A hospital caring for a: the medical ID answers without the network's id; asking for it is 403.
    const seen = await pix(hospital, medicalId('a'));
    expect(seen.status, seen.text).toBe(200);
    expect(seen.text).not.toContain('CN-0001');
    expect((await pix(hospital, medicalId('a'), [NET])).status).toBe(403);
    expect((await pix(hospital, local('CN-0001'))).status).toBe(403);
    // Another network a is enrolled in: the same.
    const other = await pix(otherNet, medicalId('a'));
    expect(other.status, other.text).toBe(200);
    expect(other.text).not.toContain('CN-0001');
    expect((await pix(otherNet, local('CN-0001'))).status).toBe(403);
    // A plain read of the Patient (the authority's) carries no network id: it is kept apart.
    expect((await call<Patient>(`/Patient/${pid['a'] ?? ''}`, s.token)).text).not.toContain(NET);
  });

  it('is idempotent: the same pair again changes nothing and is not audited as a change', async () => {
    const again = await feed(net, local('CN-0001'), medicalId('a'));
    expect(again.status, again.text).toBe(200);
    expect(param(again.body, 'outcome')?.valueCode).toBe('unchanged');
    const { rows } = await s.testDb.db.query<{ action: string; patient_id: string; org_kind: string; org_code: string; purpose: string }>(
      `SELECT action, patient_id, org_kind, org_code, purpose FROM audit.event WHERE subtype = $1 AND action <> 'E' ORDER BY seq`,
      [FEED],
    );
    expect(rows).toEqual([{ action: 'C', patient_id: pid['a'], org_kind: 'regional-network', org_code: NETWORK, purpose: 'TREAT' }]);
  });

  it('refuses a local id already fed for another person (409), without repeating a value', async () => {
    const res = await feed(net, local('CN-0001'), medicalId('b'));
    expect(res.status).toBe(409);
    expect(res.text).not.toContain('CN-0001');
    expect(res.text).not.toContain(mid['b']);
    expect(targets((await pix(net, local('CN-0001'))).body)).toContain(`${ID_SYSTEMS.medicalId}|${mid['a'] ?? ''}`);
  });

  it("refuses another network's system, a facility's, and anything but a network domain", async () => {
    const other = await feed(net, local('T-1', OTHER_NET), medicalId('a'));
    expect(other.status).toBe(403);
    expect(other.text).not.toContain('T-1');
    expect((await feed(net, local('H-1', facilitySystem(HOSPITAL)), medicalId('a'))).status).toBe(400);
    expect((await feed(net, local(mid['a'] ?? '', ID_SYSTEMS.medicalId), medicalId('a'))).status).toBe(400);
    expect((await feed(net, local('bad value'), medicalId('a'))).status).toBe(400);
    expect((await feed(net, local('x|y'), medicalId('a'))).status).toBe(400);
    // The person is named by a registry identifier, never by a local id.
    expect((await feed(net, local('CN-0009'), local('CN-0001'))).status).toBe(400);
    // Only networks (and the authority) feed; a read-only token lacks the scope.
    expect((await feed(hospital, local('CN-0009'), medicalId('a'))).status).toBe(403);
    const readOnly = await s.tokenFor('system/Patient.r', 'chiba-net-reader', { kind: 'regional-network', code: NETWORK });
    expect((await feed(readOnly, local('CN-0009'), medicalId('a'))).status).toBe(403);
    // A plain write cannot put a network's id on a Patient either.
    const p = (await call<Patient>(`/Patient/${pid['a'] ?? ''}`, s.token)).body;
    const put = await call(`/Patient/${pid['a'] ?? ''}`, s.token, {
      method: 'PUT',
      json: { ...p, identifier: [...(p.identifier ?? []), local('CN-0001')] },
    });
    expect(put.status).toBe(422);
  });

  it('answers odd input with a 4xx that never repeats it', async () => {
    const odd: Identifier[] = [
      { system: ID_SYSTEMS.medicalId, value: 'SECRET\u0000x' },
      { system: ID_SYSTEMS.medicalId, value: 'SECRET'.repeat(2000) },
      { system: ID_SYSTEMS.insuredMemberId, value: `${INSURER}:1:SECRET:00` }, // not a domain a network may query
      { system: ID_SYSTEMS.myNumber, value: 'SECRET' },
      { system: 'urn:example:SECRET', value: 'SECRET' },
    ];
    for (const person of odd) {
      const r = await feed(net, local('CN-0100'), person);
      expect(r.status, `${person.system ?? ''} ${r.text}`).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.text).not.toContain('SECRET');
    }
    for (const bad of [
      [{ name: 'localIdentifier', valueString: 'SECRET' }],
      [{ name: 'localIdentifier', valueIdentifier: { system: NET } }],
      [{ name: 'localIdentifier', valueIdentifier: { system: NET, value: 'SECRET\u0000' } }],
      [{ name: 'localIdentifier', valueIdentifier: { system: NET, value: 'SECRET' } }], // no patientIdentifier
    ]) {
      const r = await call(`/Patient/${FEED}`, net, { method: 'POST', json: { resourceType: 'Parameters', parameter: bad } });
      expect(r.status, r.text).toBe(400);
      expect(r.text).not.toContain('SECRET');
    }
    expect((await call(`/Patient/${FEED}?localIdentifier=x`, net)).status).toBe(405);
  });

  it('refuses a person not enrolled in the network (404), as it refuses an unknown one', async () => {
    const res = await feed(net, local('CN-0003'), medicalId('c'));
    expect(res.status).toBe(404);
    expect(res.text).not.toContain('CN-0003');
    expect(res.text).not.toContain(mid['c']);
    // A well-formed medical ID nobody holds gets the same answer: the caller learns nothing more.
    const unknown = await feed(net, local('CN-0003'), { system: ID_SYSTEMS.medicalId, value: newMedicalId() });
    expect(unknown.status).toBe(404);
    const text = (r: { body: unknown }) => (r.body as OperationOutcome).issue[0]?.details?.text;
    expect(text(unknown)).toBe(text(res));
    // The authority feeding for the network is held to the network's reach too.
    expect((await feed(s.token, local('CN-0003'), medicalId('c'))).status).toBe(404);
    expect((await pix(s.token, local('CN-0003'))).status).toBe(404);
  });

  it('moves a person to a new local id, and removes one (ITI-104 remove)', async () => {
    const moved = await feed(net, local('CN-0002'), medicalId('a'));
    expect(moved.status, moved.text).toBe(200);
    expect(param(moved.body, 'outcome')?.valueCode).toBe('moved');
    expect(param(moved.body, 'previous')?.valueIdentifier).toEqual(local('CN-0001'));
    expect((await pix(net, local('CN-0001'))).status).toBe(404);
    expect(targets((await pix(net, medicalId('a'), [NET])).body)).toEqual([`${NET}|CN-0002`]);
    // The freed id may now name someone else.
    expect(param((await feed(net, local('CN-0001'), medicalId('b'))).body, 'outcome')?.valueCode).toBe('added');
    expect((await remove(net, local('CN-0001'))).body.parameter).toEqual([{ name: 'outcome', valueCode: 'removed' }]);
    expect((await pix(net, local('CN-0001'))).status).toBe(404);
    expect(param((await remove(net, local('CN-0001'))).body, 'outcome')?.valueCode).toBe('absent');
    expect((await feed(net, local('CN-0002'), medicalId('a'), [{ name: 'remove', valueBoolean: true }])).status).toBe(400);
    const audited = await s.testDb.db.query<{ action: string; patient_id: string }>(
      `SELECT action, patient_id FROM audit.event WHERE subtype = $1 AND action <> 'E' ORDER BY seq`,
      [FEED],
    );
    expect(audited.rows.slice(1)).toEqual([
      { action: 'U', patient_id: pid['a'] },
      { action: 'C', patient_id: pid['b'] },
      { action: 'D', patient_id: pid['b'] },
    ]);
  });

  it('puts a person who withdraws the Consent out of the network’s reach; the network can still remove its id', async () => {
    expect(param((await feed(net, local('CN-0005'), medicalId('b'))).body, 'outcome')?.valueCode).toBe('added');
    expect((await pix(net, local('CN-0005'))).status).toBe(200);
    const c = (await call<Consent>(`/Consent/${consents['b'] ?? ''}`, s.token)).body;
    expect((await call(`/Consent/${consents['b'] ?? ''}`, s.token, { method: 'PUT', json: { ...c, status: 'inactive' } })).status).toBe(
      200,
    );
    expect((await pix(net, local('CN-0005'))).status).toBe(404);
    expect((await pix(net, medicalId('b'))).status).toBe(404);
    expect((await feed(net, local('CN-0006'), medicalId('b'))).status).toBe(404);
    expect(param((await remove(net, local('CN-0005'))).body, 'outcome')?.valueCode).toBe('removed');
    expect((await pix(s.token, medicalId('b'))).text).not.toContain('CN-0005');
  });

  it('follows a registry merge: the duplicate’s local id names the survivor, and the survivor lists it', async () => {
    expect(param((await feed(net, local('CN-0010'), medicalId('dupe'))).body, 'outcome')?.valueCode).toBe('added');
    const merge = await call(`/Patient/$merge`, s.token, {
      method: 'POST',
      json: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'source-patient', valueReference: { reference: `Patient/${pid['dupe'] ?? ''}` } },
          { name: 'target-patient', valueReference: { reference: `Patient/${pid['survivor'] ?? ''}` } },
        ],
      },
    });
    expect(merge.status, merge.text).toBe(200);
    const found = await pix(net, local('CN-0010'));
    expect(found.status, found.text).toBe(200);
    expect(param(found.body, 'targetId')?.valueReference?.reference).toBe(`Patient/${pid['survivor'] ?? ''}`);
    expect(targets((await pix(s.token, medicalId('survivor'), [NET])).body)).toEqual([`${NET}|CN-0010`]);
    // Feeding the same id for the survivor changes nothing.
    expect(param((await feed(net, local('CN-0010'), medicalId('survivor'))).body, 'outcome')?.valueCode).toBe('unchanged');
  });

  it('lets the authority feed for a network, and never logs an identifier value', async () => {
    const res = await feed(s.token, local('CN-0020'), medicalId('a'));
    expect(param(res.body, 'outcome')?.valueCode).toBe('moved');
    expect(targets((await pix(net, medicalId('a'), [NET])).body)).toEqual([`${NET}|CN-0020`]);
    const { rows } = await s.testDb.db.query<{ text: string }>(
      `SELECT concat_ws(' ', outcome_desc, query, entity_ref) AS text FROM audit.event WHERE subtype = $1`,
      [FEED],
    );
    expect(rows.length).toBeGreaterThan(10);
    for (const r of rows) expect(r.text).not.toMatch(/CN-00|T-1|H-1|bad value/);
    for (const m of Object.values(mid)) for (const r of rows) expect(r.text).not.toContain(m);
  });
});
