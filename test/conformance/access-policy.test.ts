/**
 * The access policy over HTTP, on both databases: a matrix generated from ACCESS_POLICY —
 * organization kind × resource type × path × the person's relationship and consent state —
 * and the refusals the issue lists, each reproduced.
 *
 * The scenario (who is within whose reach) is written down here independently of the code:
 *   p1  member of insurer A, confirmed at hospital H, enrolled in network N (a permit Consent)
 *   p2  member of insurer B; nobody else's
 *   p3  member of A, confirmed at H, opted out (a deny Consent naming nobody)
 *   p4  member of A, confirmed at H, a deny Consent naming H
 * and the person kind is p1 signed in (their own records only).
 */
import type { Bundle, OperationOutcome, Parameters, Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallerKind, OrgKind } from '../../src/core/principal.ts';
import { PERSON_PURPOSE, PORTAL_CLIENT_ID } from '../../src/auth/person-sign-in.ts';
import { EXTENSIONS, ID_SYSTEMS } from '../../src/core/systems.ts';
import { ACCESS_POLICY, AccessPolicy } from '../../src/privacy/access-policy.ts';
import type { Reach } from '../../src/privacy/access-policy.ts';
import { PatientCompartment } from '../../src/fhir/compartment.ts';
import { consent, writeConsent } from '../helpers/access.ts';
import { testDrivers } from '../helpers/db.ts';
import { eligibilityCard } from '../helpers/eligibility.ts';
import { fhirFetch } from '../helpers/fhir.ts';
import { insurerNumber, registerBody, registrationPatient, results } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const INSURER_A = insurerNumber('0613809');
const INSURER_B = insurerNumber('0627001');
const HOSPITAL = '1311111111';
const NETWORK = 'chiba-net';
const JPC = EXTENSIONS.jpCoverageInsuredPerson;
const TODAY = '2026-04-10';

type Person = 'p1' | 'p2' | 'p3' | 'p4';
const PERSONS: readonly Person[] = ['p1', 'p2', 'p3', 'p4'];

/** Who reaches whom in the scenario above (the oracle; the authority reaches everyone). */
const WITHIN_REACH: Record<Exclude<CallerKind, 'authority'>, readonly Person[]> = {
  person: ['p1'],
  'medical-institution': ['p1'],
  insurer: ['p1', 'p4'],
  'regional-network': ['p1'],
  database: [],
};

const ORG: Record<OrgKind, { kind: OrgKind; code: string }> = {
  authority: { kind: 'authority', code: 'staff' },
  'medical-institution': { kind: 'medical-institution', code: HOSPITAL },
  insurer: { kind: 'insurer', code: INSURER_A },
  'regional-network': { kind: 'regional-network', code: NETWORK },
  database: { kind: 'database', code: 'ndb' },
};

const policy = new AccessPolicy(new PatientCompartment().types(), { careRelationshipDays: 90, membershipRetentionDays: 365 });
const KINDS = Object.keys(ACCESS_POLICY) as CallerKind[];
/** One type of each class the policy speaks of, and the types with their own rules. */
const TYPES = ['Patient', 'Observation', 'Coverage', 'Organization', 'Library'] as const;
type SampleType = (typeof TYPES)[number];

describe.each(testDrivers())('access policy on %s', (driver) => {
  let s: TestServer;
  const pid: Record<string, string> = {};
  const mid: Record<string, string> = {};
  /** The sample resource of each type per person (Organization and Library: one, nobody's). */
  const ids: Record<string, Record<string, string>> = {};
  const tokens: Partial<Record<CallerKind, string>> = {};
  const as = (kind: CallerKind) => ({ headers: { authorization: `Bearer ${tokens[kind] ?? ''}` } });
  const post = async <T extends Resource>(r: T): Promise<T & { id: string }> => {
    const res = await fhirFetch<T & { id: string }>(`${s.base}/${r.resourceType}`, {
      method: 'POST',
      json: r,
      headers: { authorization: `Bearer ${s.token}` },
    });
    if (res.status !== 201) throw new Error(`${r.resourceType} not created: ${res.text}`);
    return res.body;
  };

  beforeAll(async () => {
    s = await startTestServer(driver, { deps: { clock: { now: () => new Date(`${TODAY}T03:00:00Z`) } } });
    const spec = (insurer: string, number: string, given: string) =>
      registrationPatient({
        insurer,
        symbol: '1',
        number,
        kana: ['アクセス', given],
        kanji: ['安久', given],
        birthDate: '1981-01-01',
        phone: '0312345678',
        period: { start: '2020-04-01' },
      });
    const reg = await fhirFetch<Parameters>(`${s.base}/Patient/$register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}` },
      json: registerBody([
        { record: 'p1', patient: spec(INSURER_A, '101', 'イチ') },
        { record: 'p2', patient: spec(INSURER_B, '102', 'ニ') },
        { record: 'p3', patient: spec(INSURER_A, '103', 'サン') },
        { record: 'p4', patient: spec(INSURER_A, '104', 'ヨン') },
      ]),
    });
    for (const r of results(reg.body)) {
      pid[r.record as string] = r.patient as string;
      mid[r.record as string] = r.medicalId as string;
    }
    for (const kind of KINDS)
      tokens[kind] =
        kind === 'person'
          ? (await s.app.tokens.issue(PORTAL_CLIENT_ID, 'portal', undefined, 'patient/*.cruds', 3600, PERSON_PURPOSE, pid['p1']))
              .accessToken
          : await s.tokenFor('system/*.cruds', `client-${kind}`, ORG[kind]);
    await writeConsent(s, consent(pid['p1'] ?? '', 'permit', { kind: 'regional-network', code: NETWORK }));
    await writeConsent(s, consent(pid['p3'] ?? '', 'deny'));
    await writeConsent(s, consent(pid['p4'] ?? '', 'deny', { kind: 'medical-institution', code: HOSPITAL }));
    const org = await post({
      resourceType: 'Organization',
      name: '東都病院',
      identifier: [{ system: ID_SYSTEMS.medicalInstitutionCode, value: HOSPITAL }],
    });
    const lib = await post({ resourceType: 'Library', status: 'active', type: { coding: [{ code: 'logic-library' }] } });
    const NUMBER: Record<Person, string> = { p1: '101', p2: '102', p3: '103', p4: '104' };
    for (const p of PERSONS) {
      const patient = `Patient/${pid[p] ?? ''}`;
      const insurer = p === 'p2' ? INSURER_B : INSURER_A;
      const obs = await post({ resourceType: 'Observation', status: 'final', code: { text: 'BMI' }, subject: { reference: patient } });
      const cov = await post({
        resourceType: 'Coverage',
        status: 'active',
        identifier: [{ system: ID_SYSTEMS.insuredMemberId, value: `${insurer}:1:${NUMBER[p]}:00` }],
        extension: [
          { url: `${JPC}Symbol`, valueString: '1' },
          { url: `${JPC}Number`, valueString: NUMBER[p] },
          { url: `${JPC}SubNumber`, valueString: '00' },
        ],
        beneficiary: { reference: patient },
        payor: [{ identifier: { system: ID_SYSTEMS.insurerNumber, value: insurer } }],
        period: { start: '2020-04-01' },
      });
      ids[p] = { Patient: pid[p] ?? '', Observation: obs.id, Coverage: cov.id, Organization: org.id, Library: lib.id };
    }
    // Care: the hospital confirms p1, p3 and p4's cards today (R9: a valid confirmation).
    for (const p of ['p1', 'p3', 'p4'] as const) {
      const res = await fhirFetch(`${s.base}/CoverageEligibilityRequest/$submit`, {
        method: 'POST',
        json: card(INSURER_A, NUMBER[p], TODAY),
        ...as('medical-institution'),
      });
      expect(JSON.stringify(res.body), `confirmation of ${p}`).toMatch(/"code":"1"/);
    }
  });
  afterAll(async () => {
    await s.close();
  });

  const card = eligibilityCard;

  /** Whether `kind` may see the sample `type` resource of person `p`, by the policy table and the scenario. */
  const expected = (kind: CallerKind, type: SampleType, p: Person): 'visible' | 'hidden' | 'refused' | 'pseudonymized' => {
    if (ACCESS_POLICY[kind].pseudonymized?.includes(type)) return 'pseudonymized';
    const reach: Reach = policy.rule(kind, type).read;
    if (reach === 'none') return 'refused';
    if (reach === 'all' || kind === 'authority') return 'visible';
    return (WITHIN_REACH[kind] ?? []).includes(p) ? 'visible' : 'hidden';
  };

  // The matrix: every kind × type × person, on every read path. Generated from the policy table.
  const cases = KINDS.flatMap((kind) => TYPES.map((type) => [kind, type] as const));
  it.each(cases)('%s reading %s: read, vread, instance and type history, search, total', async (kind, type) => {
    for (const p of PERSONS) {
      const id = ids[p]?.[type] ?? '';
      const want = expected(kind, type, p);
      const label = `${kind} ${type} of ${p} (${want})`;
      const read = await fhirFetch(`${s.base}/${type}/${id}`, as(kind));
      const vread = await fhirFetch(`${s.base}/${type}/${id}/_history/1`, as(kind));
      const hist = await fhirFetch<Bundle>(`${s.base}/${type}/${id}/_history`, as(kind));
      const search = await fhirFetch<Bundle>(`${s.base}/${type}?_id=${id}&_total=accurate`, as(kind));
      const typeHistory = await fhirFetch<Bundle>(`${s.base}/${type}/_history?_count=1000`, as(kind));
      if (want === 'pseudonymized') {
        // Its own routes take pseudonyms only (a server id names nobody); every generic path is refused.
        expect(read.status, `${label}: read`).toBe(type === 'Patient' ? 404 : 403);
        for (const r of [vread, hist, typeHistory]) expect(r.status, label).toBe(403);
        expect(search.status, `${label}: search`).toBe(type === 'Patient' ? 200 : 400);
        expect(search.body.total ?? 0, `${label}: search total`).toBe(0);
        for (const r of [read, vread, hist, search, typeHistory]) expect(r.text, label).not.toContain(mid[p] ?? 'none');
        continue;
      }
      if (want === 'refused') {
        for (const r of [read, vread, hist, search, typeHistory]) {
          expect(r.status, label).toBe(403);
          expect(r.text, label).toMatch(/Access policy/);
        }
        continue;
      }
      const seen = want === 'visible';
      expect(read.status, `${label}: read`).toBe(seen ? 200 : 404);
      expect(vread.status, `${label}: vread`).toBe(seen ? 200 : 404);
      expect(hist.status, `${label}: history`).toBe(seen ? 200 : 404);
      expect(search.body.total, `${label}: search total`).toBe(seen ? 1 : 0);
      expect(search.body.entry?.length ?? 0, `${label}: search entries`).toBe(seen ? 1 : 0);
      expect(typeHistory.body.entry?.some((e) => e.resource?.id === id) ?? false, `${label}: type history`).toBe(seen);
      if (!seen) expect(read.text, label).not.toContain(mid[p] ?? 'none');
    }
  });

  it.each(KINDS)('%s: a search over every Patient counts and returns only the persons within reach', async (kind) => {
    const res = await fhirFetch<Bundle<Patient>>(`${s.base}/Patient?_count=1000&_total=accurate`, as(kind));
    if (policy.rule(kind, 'Patient').read === 'none') {
      // A database searches by its own pseudonyms only (a 400 naming the rule); others are refused.
      expect(res.status).toBe(ACCESS_POLICY[kind].pseudonymized?.includes('Patient') ? 400 : 403);
      return;
    }
    const want = kind === 'authority' ? [...PERSONS] : WITHIN_REACH[kind];
    const got = (res.body.entry ?? []).map((e) => e.resource?.id).sort();
    expect(got).toEqual(want.map((p) => pid[p]).sort());
    expect(res.body.total).toBe(want.length);
    const sys = await fhirFetch<Bundle>(`${s.base}/_history?_count=1000`, as(kind));
    const persons = new Set(Object.values(pid));
    const patientsSeen = (sys.body.entry ?? []).filter((e) => e.resource?.resourceType === 'Patient' && persons.has(e.resource.id ?? ''));
    expect(new Set(patientsSeen.map((e) => e.resource?.id)).size).toBe(want.length);
  });

  it.each(KINDS)('%s: _include, _revinclude and chains reach only rows the caller may see', async (kind) => {
    if (policy.rule(kind, 'Observation').read === 'none') return;
    // An Observation about p1 whose focus is p2: visible where p1 is, but it must not open p2.
    const focus = await post({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'family history note' },
      subject: { reference: `Patient/${pid['p1'] ?? ''}` },
      focus: [{ reference: `Patient/${pid['p2'] ?? ''}` }],
    });
    const seesP2 = kind === 'authority';
    const inc = await fhirFetch<Bundle>(`${s.base}/Observation?_id=${focus.id}&_include=Observation:focus`, as(kind));
    expect(inc.body.entry?.some((e) => e.resource?.id === pid['p2'])).toBe(seesP2);
    const chain = await fhirFetch<Bundle>(
      `${s.base}/Observation?focus:Patient.identifier=${encodeURIComponent(`${ID_SYSTEMS.medicalId}|${mid['p2'] ?? ''}`)}&_total=accurate`,
      as(kind),
    );
    expect(chain.body.total).toBe(seesP2 ? 1 : 0);
    const rev = await fhirFetch<Bundle>(`${s.base}/Patient?_id=${pid['p1'] ?? ''}&_revinclude=Observation:subject`, as(kind));
    const obsIds = (rev.body.entry ?? []).filter((e) => e.resource?.resourceType === 'Observation').map((e) => e.resource?.id);
    expect(obsIds).toContain(focus.id);
  });

  it.each(KINDS)('%s: writes stay within reach and within the policy', async (kind) => {
    const obs = (p: Person) => ({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'w' },
      subject: { reference: `Patient/${pid[p] ?? ''}` },
    });
    const write = policy.rule(kind, 'Observation').write;
    const mine = await fhirFetch(`${s.base}/Observation`, { method: 'POST', json: obs('p1'), ...as(kind) });
    const other = await fhirFetch(`${s.base}/Observation`, { method: 'POST', json: obs('p2'), ...as(kind) });
    expect(mine.status).toBe(write === 'none' ? 403 : 201);
    expect(other.status).toBe(write === 'none' ? 403 : write === 'all' ? 201 : 403);
    // Coverage: only the insurer (its members') and the authority write them.
    const cov = async (p: Person) => {
      const current = (
        await fhirFetch(`${s.base}/Coverage/${ids[p]?.['Coverage'] ?? ''}`, { headers: { authorization: `Bearer ${s.token}` } })
      ).body;
      return fhirFetch(`${s.base}/Coverage/${current.id ?? ''}`, {
        method: 'PUT',
        json: { ...current, status: 'active', meta: undefined },
        ...as(kind),
      });
    };
    const covWrite = policy.rule(kind, 'Coverage').write;
    expect((await cov('p1')).status, 'own member').toBe(covWrite === 'none' ? 403 : 200);
    expect((await cov('p2')).status, "another insurer's member").toBe(covWrite === 'none' ? 403 : covWrite === 'all' ? 200 : 404);
    // Nobody deletes a registry Patient: the policy refuses most, the registry the authority.
    const del = await fhirFetch<OperationOutcome>(`${s.base}/Patient/${pid['p2'] ?? ''}`, { method: 'DELETE', ...as(kind) });
    expect(del.status).toBe(403);
    expect(del.text).toMatch(kind === 'authority' ? /Registry integrity/ : /Access policy/);
  });
});
