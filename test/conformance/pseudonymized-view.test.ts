/**
 * What a utilizing database sees (issue 16 items 3–4), over HTTP on both databases: persons by
 * its own pseudonyms only, rebuilt from allow-lists; every other path refused or empty; a Bulk
 * export after the small-cell guard, whose manifest reports what it generalized and suppressed.
 *
 * The population (written down here, independent of the code):
 *   G1–G6  born 1981-01, male, postal 100-…, insured by a 組合 (06…): one cell of 6 → released
 *   G7     the same cell, but opted out of the system (a deny Consent naming nobody) → never seen
 *   H1–H3  born 1990-05, female, postal 150-…, same insurer; H4–H6 born 1990-07, same otherwise:
 *          two cells of 3 → each generalized to (1990, female, 15, kumiai), a cell of 6 → released
 *   L1     born 1950-02, male, postal 900-…, 協会けんぽ (01…): alone even generalized → suppressed
 */
import type { Bundle, Coverage, EpisodeOfCare, OperationOutcome, Parameters, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Organization } from '../../src/core/principal.ts';
import { EXTENSIONS, ID_SYSTEMS, SYSTEMS } from '../../src/core/systems.ts';
import { DIRECTORY_TYPES } from '../../src/privacy/access-policy.ts';
import { consent, writeConsent } from '../helpers/access.ts';
import { testDrivers } from '../helpers/db.ts';
import { eligibilityCard } from '../helpers/eligibility.ts';
import { fhirFetch } from '../helpers/fhir.ts';
import { insurerNumber, registerBody, registrationPatient, results } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const KUMIAI = insurerNumber('0613809');
const KYOKAI = insurerNumber('0113001');
const HOSPITAL = '1311111111';
const TODAY = '2026-04-10';
const NDB: Organization = { kind: 'database', code: 'ndb' };
const KAIGO: Organization = { kind: 'database', code: 'kaigo' };

interface Spec {
  record: string;
  insurer: string;
  number: string;
  birthDate: string;
  gender: 'male' | 'female';
  postal: string;
  given: string;
}

const spec = (
  record: string,
  insurer: string,
  number: string,
  birthDate: string,
  gender: 'male' | 'female',
  postal: string,
  given: string,
): Spec => ({
  record,
  insurer,
  number,
  birthDate,
  gender,
  postal,
  given,
});

const POPULATION: Spec[] = [
  ...[1, 2, 3, 4, 5, 6, 7].map((i) =>
    spec(`G${i}`, KUMIAI, `20${i}`, `1981-01-0${i}`, 'male', `100-000${i}`, `ジー${'アイウエオカキ'[i - 1]}`),
  ),
  ...[1, 2, 3].map((i) => spec(`H${i}`, KUMIAI, `30${i}`, `1990-05-1${i}`, 'female', `150-001${i}`, `エイチ${'アイウ'[i - 1]}`)),
  ...[4, 5, 6].map((i) => spec(`H${i}`, KUMIAI, `30${i}`, `1990-07-1${i}`, 'female', `150-002${i}`, `エイチ${'エオカ'[i - 4]}`)),
  spec('L1', KYOKAI, '401', '1950-02-03', 'male', '900-0001', 'エル'),
];

describe.each(testDrivers())('the pseudonymized view on %s', (driver) => {
  let s: TestServer;
  const pid: Record<string, string> = {};
  const mid: Record<string, string> = {};
  const ps: Record<string, string> = {};
  let ndb = '';
  let kaigo = '';
  let hospital = '';
  const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  /** Every value a database must never see: medical IDs, insured numbers, names, phone, Patient ids. */
  const secrets = (): string[] => [
    ...Object.values(pid),
    ...Object.values(mid),
    ...POPULATION.flatMap((p) => [`${p.insurer}:1:${p.number}:00`, p.insurer, p.given, p.birthDate, p.postal]),
    'ピーブイ',
    '0312345678',
  ];
  const expectClean = (text: string, label: string): void => {
    for (const v of secrets()) expect(text, `${label} holds ${v}`).not.toContain(v);
  };

  beforeAll(async () => {
    s = await startTestServer(driver, { deps: { clock: { now: () => new Date(`${TODAY}T03:00:00Z`) } } });
    const reg = await fhirFetch<Parameters>(`${s.base}/Patient/$register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}` },
      json: registerBody(
        POPULATION.map((p) => ({
          record: p.record,
          patient: {
            ...registrationPatient({
              insurer: p.insurer,
              number: p.number,
              kana: ['ピーブイ', p.given],
              kanji: ['仮名', p.given],
              birthDate: p.birthDate,
              gender: p.gender,
              phone: '0312345678',
              period: { start: '2020-04-01' },
            }),
            address: [{ postalCode: p.postal, text: '東京都千代田区千代田1-1' }],
          },
        })),
      ),
    });
    for (const r of results(reg.body)) {
      expect(r.status, `${r.record ?? ''}: ${JSON.stringify(r.issues ?? {})}`).toBe('created');
      pid[r.record as string] = r.patient as string;
      mid[r.record as string] = r.medicalId as string;
    }
    await writeConsent(s, consent(pid['G7'] ?? '', 'deny'));
    for (const p of POPULATION) {
      const { rows } = await s.testDb.db.query<{ kid: Buffer }>('SELECT kid FROM registry.person WHERE patient_id = $1', [pid[p.record]]);
      ps[p.record] = await s.app.pseudonyms.pseudonymOf(rows[0]?.kid, 'ndb');
    }
    ndb = await s.tokenFor('system/*.rs', 'client-ndb', NDB, 'HRESCH');
    kaigo = await s.tokenFor('system/*.rs', 'client-kaigo', KAIGO, 'HRESCH');
    hospital = await s.tokenFor('system/*.cruds', 'client-hospital', { kind: 'medical-institution', code: HOSPITAL });
    // G1's card, as its insurer keeps it, then confirmed at the hospital today (a service use).
    const jpc = EXTENSIONS.jpCoverageInsuredPerson;
    const card = await fhirFetch(`${s.base}/Coverage`, {
      method: 'POST',
      json: {
        resourceType: 'Coverage',
        status: 'active',
        identifier: [{ system: ID_SYSTEMS.insuredMemberId, value: `${KUMIAI}:1:201:00` }],
        extension: [
          { url: `${jpc}Symbol`, valueString: '1' },
          { url: `${jpc}Number`, valueString: '201' },
          { url: `${jpc}SubNumber`, valueString: '00' },
        ],
        beneficiary: { reference: `Patient/${pid['G1'] ?? ''}` },
        payor: [{ identifier: { system: ID_SYSTEMS.insurerNumber, value: KUMIAI } }],
        period: { start: '2020-04-01' },
      },
      ...as(s.token),
    });
    expect(card.status).toBe(201);
    const confirmed = await fhirFetch(`${s.base}/CoverageEligibilityRequest/$submit`, {
      method: 'POST',
      json: eligibilityCard(KUMIAI, '201', TODAY, '1981-01-01'),
      ...as(hospital),
    });
    expect(JSON.stringify(confirmed.body)).toMatch(/"code":"1"/);
  });
  afterAll(async () => {
    await s.close();
  });

  it('reads a person by its own pseudonym, rebuilt from the allow-list', async () => {
    const res = await fhirFetch<Patient>(`${s.base}/Patient/${ps['G1'] ?? ''}`, as(ndb));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      resourceType: 'Patient',
      id: ps['G1'],
      meta: { security: [{ system: SYSTEMS.observationValue, code: 'PSEUDED', display: 'pseudonymized' }] },
      identifier: [{ system: `${ID_SYSTEMS.pseudonymPrefix}ndb`, value: ps['G1'] }],
      gender: 'male',
      birthDate: '1981-01',
      address: [{ postalCode: '100', country: 'JP' }],
    });
    expectClean(res.text, 'read');
  });

  it('searches by its own pseudonyms (identifier or _id), and refuses every other criterion', async () => {
    const sys = `${ID_SYSTEMS.pseudonymPrefix}ndb`;
    const byId = await fhirFetch<Bundle<Patient>>(
      `${s.base}/Patient?identifier=${sys}|${ps['G1'] ?? ''},${sys}|${ps['H1'] ?? ''}`,
      as(ndb),
    );
    expect(byId.status).toBe(200);
    expect(byId.body.entry?.map((e) => e.resource?.id).sort()).toEqual([ps['G1'], ps['H1']].sort());
    expect((await fhirFetch<Bundle>(`${s.base}/Patient?_id=${ps['L1'] ?? ''}`, as(ndb))).body.total).toBe(1);
    expectClean(byId.text, 'search');

    const other = await fhirFetch<OperationOutcome>(
      `${s.base}/Patient?identifier=${ID_SYSTEMS.insuredMemberId}|${KUMIAI}:1:201:00`,
      as(ndb),
    );
    expect(other.status).toBe(403);
    expect(other.text).toMatch(/rule database\.identifier/);
    expectClean(other.text, 'refusal');
    const kaigoSystem = await fhirFetch(`${s.base}/Patient?identifier=${ID_SYSTEMS.pseudonymPrefix}kaigo|${ps['G1'] ?? ''}`, as(ndb));
    expect(kaigoSystem.status).toBe(403);
    for (const q of ['family=ピーブイ', 'birthdate=1981-01-01', '_has:Coverage:beneficiary:status=active', '']) {
      const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient?${q}`, as(ndb));
      expect(res.status, q).toBe(400);
      expect(res.text, q).toMatch(/pseudonym/);
    }
  });

  it('an unknown pseudonym, a real Patient id, an opted-out person and another domain’s pseudonym are the same 404', async () => {
    const bodies: string[] = [];
    for (const id of [pid['G1'] ?? '', ps['G7'] ?? '', 'v1.00000000000000000000000000']) {
      const res = await fhirFetch(`${s.base}/Patient/${id}`, as(ndb));
      expect(res.status, id).toBe(404);
      bodies.push(JSON.stringify((res.body as OperationOutcome).issue?.[0]?.details?.text));
    }
    expect(new Set(bodies).size).toBe(1);
    // The same person in another domain has another pseudonym, and ndb's names nobody there.
    const kaigoRead = await fhirFetch(`${s.base}/Patient/${ps['G1'] ?? ''}`, as(kaigo));
    expect(kaigoRead.status).toBe(404);
  });

  it('Coverage is the insurer kind in force; EpisodeOfCare the kind and prefecture of the facility, by month', async () => {
    const cov = await fhirFetch<Bundle<Coverage>>(`${s.base}/Coverage?beneficiary=Patient/${ps['G1'] ?? ''}`, as(ndb));
    expect(cov.status).toBe(200);
    const c = cov.body.entry?.[0]?.resource;
    expect(c?.type?.coding?.[0]).toMatchObject({ system: SYSTEMS.insurerKind, code: 'kumiai' });
    expect(c?.beneficiary?.reference).toBe(`Patient/${ps['G1'] ?? ''}`);
    expect(c?.period).toBeUndefined();
    expectClean(cov.text, 'Coverage');
    const eoc = await fhirFetch<Bundle<EpisodeOfCare>>(`${s.base}/EpisodeOfCare?patient=Patient/${ps['G1'] ?? ''}`, as(ndb));
    expect(eoc.status).toBe(200);
    const e = eoc.body.entry?.[0]?.resource;
    expect(e?.type?.[0]?.coding?.[0]).toMatchObject({ system: SYSTEMS.facilityKind, code: 'medical' });
    expect(e?.extension?.[0]).toMatchObject({ url: EXTENSIONS.facilityPrefecture, valueCoding: { code: 'JP-13' } });
    expect(e?.period).toEqual({ start: '2026-04', end: '2026-04' });
    expect(eoc.text).not.toContain(HOSPITAL);
    expectClean(eoc.text, 'EpisodeOfCare');
  });

  it('every other path is refused or finds nothing, and never carries an identifier', async () => {
    const paths = [
      `Patient/${pid['G1'] ?? ''}/_history`,
      `Patient/${ps['G1'] ?? ''}/_history`,
      `Patient/_history`,
      `_history`,
      `Observation?patient=${pid['G1'] ?? ''}`,
      `Coverage/${pid['G1'] ?? ''}`,
      `Organization?_revinclude=Patient:organization`,
      `AuditEvent`,
      `Patient/$match`,
      `Patient/$ihe-pix?sourceIdentifier=${ID_SYSTEMS.insuredMemberId}|${KUMIAI}:1:201:00`,
      `Consent`,
      `Task`,
    ];
    for (const p of paths) {
      const res = await fhirFetch<Bundle>(`${s.base}/${p}`, as(ndb));
      expect([200, 400, 403, 404, 405], p).toContain(res.status);
      // Only the directory (and the published conformance resources) is read whole.
      if (res.status === 200)
        expect(res.body.entry?.filter((e) => !DIRECTORY_TYPES.includes(e.resource?.resourceType ?? '')) ?? [], p).toEqual([]);
      expectClean(res.text, p);
    }
    const match = await fhirFetch(`${s.base}/Patient/$match`, {
      method: 'POST',
      json: {
        resourceType: 'Parameters',
        parameter: [{ name: 'resource', resource: { resourceType: 'Patient', birthDate: '1981-01-01' } }],
      },
      ...as(ndb),
    });
    expect(match.status).toBe(403);
  });

  it('each disclosure is audited under the person’s Patient id, which the database never sees', async () => {
    await fhirFetch(`${s.base}/Patient/${ps['H2'] ?? ''}`, as(ndb));
    const audit = await fhirFetch<Bundle>(`${s.base}/AuditEvent?patient=Patient/${pid['H2'] ?? ''}&_count=100`, as(s.token));
    const byNdb = (audit.body.entry ?? []).filter((e) => JSON.stringify(e.resource).includes('client-ndb'));
    expect(byNdb.length).toBeGreaterThan(0);
  });

  it('exports every person within reach after the small-cell guard, and the manifest says what it did', async () => {
    const kick = await fhirFetch(`${s.base}/Patient/$export`, { headers: { ...as(ndb).headers, prefer: 'respond-async' } });
    expect(kick.status, kick.text).toBe(202);
    const status = new URL(kick.headers.get('content-location') ?? '').pathname.replace(/^\/fhir/, '');
    let manifest: { output: { type: string; url: string; count: number }[]; extension?: Record<string, unknown> } | undefined;
    for (let i = 0; i < 100 && !manifest; i++) {
      const res = await fhirFetch(`${s.base}${status}`, as(ndb));
      if (res.status === 200) manifest = JSON.parse(res.text) as typeof manifest;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(manifest?.extension?.[EXTENSIONS.smallCellGuard]).toEqual({
      k: 5,
      persons: 13,
      released: 12,
      generalized: 6,
      suppressed: 1,
      releasedByLevel: [6, 6, 0, 0, 0],
      quasiIdentifiers: expect.any(Array) as unknown,
    });
    const lines: Record<string, Record<string, unknown>[]> = { Patient: [], Coverage: [] };
    for (const o of manifest?.output ?? []) {
      const file = await fhirFetch(o.url.replace(/^.*\/fhir/, s.base), as(ndb));
      expect(file.status).toBe(200);
      expectClean(file.text, `file ${o.type}`);
      lines[o.type]?.push(
        ...file.text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      );
    }
    const patients = lines['Patient'] as unknown as Patient[];
    expect(patients.map((p) => p.id).sort()).toEqual(
      ['G1', 'G2', 'G3', 'G4', 'G5', 'G6', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6'].map((r) => ps[r]).sort(),
    );
    const h = patients.find((p) => p.id === ps['H4']);
    expect(h).toMatchObject({ birthDate: '1990', address: [{ postalCode: '15' }] });
    const g = patients.find((p) => p.id === ps['G4']);
    expect(g).toMatchObject({ birthDate: '1981-01', address: [{ postalCode: '100' }] });
    // k-anonymity over exactly what is released: every tuple is shared by at least k persons.
    const kinds = new Map((lines['Coverage'] as unknown as Coverage[]).map((c) => [c.beneficiary?.reference, c.type?.coding?.[0]?.code]));
    const tuples = new Map<string, number>();
    for (const p of patients) {
      const t = JSON.stringify([p.gender, p.birthDate, p.address?.[0]?.postalCode, kinds.get(`Patient/${p.id ?? ''}`)]);
      tuples.set(t, (tuples.get(t) ?? 0) + 1);
    }
    for (const [t, n] of tuples) expect(n, t).toBeGreaterThanOrEqual(5);
    // Each file was audited as it left: one event per person in it, under the person's Patient id.
    const audit = await fhirFetch<Bundle>(`${s.base}/AuditEvent?patient=Patient/${pid['H4'] ?? ''}&_count=100`, as(s.token));
    expect((audit.body.entry ?? []).some((e) => JSON.stringify(e.resource).includes('client-ndb'))).toBe(true);
    // Another client's job is unknown to it.
    expect((await fhirFetch(`${s.base}${status}`, as(kaigo))).status).toBe(404);
  });
});
