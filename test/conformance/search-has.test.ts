/**
 * Reverse chaining, `_has` (FHIR R4 search.html#has): `Patient?_has:Observation:patient:code=…`
 * selects the Patients some Observation refers to, nested `_has:…:_has:…` too. Under the access
 * policy the inner resources are only those the caller may read: `_has` must not reveal that a
 * hidden resource exists. Each test names the rule it proves and runs on every database driver.
 */
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDrivers } from '../helpers/db.ts';
import { eligibilityCard } from '../helpers/eligibility.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { insurerNumber, registerInsured } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const INSURER = insurerNumber('0613809');
const HOSPITAL = '1311111111';
const TODAY = '2026-04-10';
const LOINC = 'http://loinc.org';

describe.each(testDrivers())('_has on %s', (driver) => {
  let s: TestServer;
  /** p1: within the hospital's reach (a confirmation today); p2: outside it. */
  const pid: Record<string, string> = {};
  let hospital = '';
  let org = '';

  const post = async <T extends Resource>(r: T): Promise<T & { id: string }> => {
    const res = await fhirFetch<T & { id: string }>(`${s.base}/${r.resourceType}`, { method: 'POST', json: r });
    if (res.status !== 201) throw new Error(`${r.resourceType} not created: ${res.text}`);
    return res.body;
  };
  const obs = (code: string, subject: string, more: Record<string, unknown> = {}) =>
    post({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: LOINC, code }] },
      subject: { reference: `Patient/${subject}` },
      ...more,
    });
  const ids = (b: Bundle): string[] => (b.entry ?? []).map((e) => e.resource?.id ?? '').sort();
  const search = (query: string, token?: string) =>
    fhirFetch<Bundle & { issue?: OperationOutcome['issue'] }>(
      `${s.base}/${query}`,
      token ? { headers: { authorization: `Bearer ${token}` } } : {},
    );

  beforeAll(async () => {
    s = await startTestServer(driver, { deps: { clock: { now: () => new Date(`${TODAY}T03:00:00Z`) } } });
    useToken(s.token);
    Object.assign(
      pid,
      await registerInsured(s.base, INSURER, { kana: 'ハズ', kanji: '波津' }, [
        { record: 'p1', number: '201', given: 'イチ' },
        { record: 'p2', number: '202', given: 'ニ' },
      ]),
    );
    hospital = await s.tokenFor('system/*.cruds', 'has-hospital', { kind: 'medical-institution', code: HOSPITAL });
    // The hospital confirms p1's card today: p1 is within its reach, p2 is not.
    const card = eligibilityCard(INSURER, '201', TODAY);
    const confirmed = await fhirFetch(`${s.base}/CoverageEligibilityRequest/$submit`, {
      method: 'POST',
      json: card,
      headers: { authorization: `Bearer ${hospital}` },
    });
    expect(JSON.stringify(confirmed.body)).toMatch(/"code":"1"/);
    org = (await post({ resourceType: 'Organization', name: '検査センター' })).id;
    await obs('1234-5', pid['p1'] ?? '');
    await obs('9999-9', pid['p2'] ?? '', { performer: [{ reference: `Organization/${org}` }] });
  });
  afterAll(async () => {
    await s.close();
  });

  it('_has:Observation:patient:code selects the Patients an Observation with that code refers to', async () => {
    const res = await search(`Patient?_has:Observation:patient:code=${LOINC}|1234-5&_total=accurate`);
    expect(res.status, res.text).toBe(200);
    expect(ids(res.body)).toEqual([pid['p1']]);
    expect(res.body.total).toBe(1);
    const none = await search('Patient?_has:Observation:patient:code=0000-0');
    expect(none.body.entry ?? []).toEqual([]);
    const either = await search('Patient?_has:Observation:subject:code=1234-5,9999-9');
    expect(ids(either.body)).toEqual([pid['p1'], pid['p2']].sort());
    // With other criteria, AND; the self link repeats _has.
    const both = await search(`Patient?_id=${pid['p2'] ?? ''}&_has:Observation:patient:code=1234-5`);
    expect(both.body.entry ?? []).toEqual([]);
    const link = either.body.link?.find((l) => l.relation === 'self')?.url ?? '';
    expect(decodeURIComponent(link)).toContain('_has:Observation:subject:code=');
  });

  it('_has with a modifier, a chain and a deleted source resource', async () => {
    const not = await search(`Patient?_has:Observation:patient:code:not=1234-5&_id=${pid['p2'] ?? ''},${pid['p1'] ?? ''}`);
    expect(ids(not.body)).toEqual([pid['p2']]);
    const chained = await search(`Patient?_has:Observation:patient:performer:Organization.name=検査`);
    expect(ids(chained.body)).toEqual([pid['p2']]);
    const gone = await obs('5555-5', pid['p1'] ?? '');
    expect(ids((await search('Patient?_has:Observation:patient:code=5555-5')).body)).toEqual([pid['p1']]);
    await fhirFetch(`${s.base}/Observation/${gone.id}`, { method: 'DELETE' });
    expect((await search('Patient?_has:Observation:patient:code=5555-5')).body.entry ?? []).toEqual([]);
  });

  it('nested _has: Patients with an Observation that a final DiagnosticReport cites', async () => {
    const cited = await obs('7777-7', pid['p2'] ?? '');
    await post({
      resourceType: 'DiagnosticReport',
      status: 'final',
      code: { text: 'panel' },
      result: [{ reference: `Observation/${cited.id}` }],
    });
    const res = await search('Patient?_has:Observation:patient:_has:DiagnosticReport:result:status=final');
    expect(res.status, res.text).toBe(200);
    expect(ids(res.body)).toEqual([pid['p2']]);
    const prelim = await search('Patient?_has:Observation:patient:_has:DiagnosticReport:result:status=preliminary');
    expect(prelim.body.entry ?? []).toEqual([]);
  });

  it('a malformed _has is 400 naming it; an unknown inner parameter is 400, or ignored when lenient', async () => {
    const short = await search('Patient?_has:Observation:patient=x');
    expect(short.status).toBe(400);
    expect(short.body.issue?.[0]?.expression).toEqual(['_has:Observation:patient']);
    expect((await search('Patient?_has:Nonsense:patient:code=x')).status).toBe(400);
    expect((await search('Patient?_has:Observation:code:code=x')).status).toBe(400); // code is not a reference
    expect((await search('Patient?_has:Observation:encounter:code=x')).status).toBe(400); // cannot refer to Patient
    expect((await search('Patient?_has:Observation:patient:nonsense=x')).status).toBe(400);
    const lenient = await fhirFetch<Bundle>(`${s.base}/Patient?_has:Observation:patient:nonsense=x&_id=${pid['p1'] ?? ''}`, {
      headers: { prefer: 'handling=lenient' },
    });
    expect(lenient.status).toBe(200);
    expect(ids(lenient.body).filter((id) => id !== '')).toEqual([pid['p1']]);
    const deep = await search(
      'Patient?_has:Observation:patient:_has:DiagnosticReport:result:_has:Provenance:target:_has:AuditEvent:entity:action=C',
    );
    expect(deep.status).toBe(400);
  });

  it('_has never reveals a resource the caller may not read: a hospital learns nothing of a hidden Observation', async () => {
    // The Organization is in the directory (every client reads it); the only Observation that
    // names it is about p2, outside the hospital's reach.
    const authority = await search(`Organization?_id=${org}&_has:Observation:performer:code=9999-9&_total=accurate`);
    expect(authority.body.total).toBe(1);
    const asHospital = await search(`Organization?_id=${org}&_has:Observation:performer:code=9999-9&_total=accurate`, hospital);
    expect(asHospital.status, asHospital.text).toBe(200);
    expect(asHospital.body.total).toBe(0);
    expect(asHospital.body.entry ?? []).toEqual([]);
    // p1 is within reach; an Observation about p1 that also concerns p2 (the performer) is hidden.
    await obs('8888-8', pid['p1'] ?? '', { performer: [{ reference: `Patient/${pid['p2'] ?? ''}` }] });
    expect(ids((await search('Patient?_has:Observation:subject:code=8888-8')).body)).toEqual([pid['p1']]);
    expect((await search('Patient?_has:Observation:subject:code=8888-8', hospital)).body.entry ?? []).toEqual([]);
    // What the hospital may see, it finds.
    expect(ids((await search('Patient?_has:Observation:patient:code=1234-5', hospital)).body)).toEqual([pid['p1']]);
    // A conditional request's criteria are held to the same reach.
    const conditional = await fhirFetch(`${s.base}/Observation?_has:DiagnosticReport:result:status=final`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${hospital}` },
    });
    expect(conditional.status).toBe(200);
    expect((await search('Patient?_has:Observation:patient:_has:DiagnosticReport:result:status=final')).body.entry?.length).toBe(1);
  });

  it('_has needs search scope on the type it looks into, within its constraints', async () => {
    const patientsOnly = await s.tokenFor('system/Patient.rs', 'has-patients-only');
    const refused = await search('Patient?_has:Observation:patient:code=1234-5', patientsOnly);
    expect(refused.status).toBe(403);
    const labOnly = await s.tokenFor('system/Patient.rs system/Observation.rs?category=laboratory', 'has-lab-only');
    expect((await search('Patient?_has:Observation:patient:code=1234-5', labOnly)).body.entry ?? []).toEqual([]);
    await obs('1234-5', pid['p2'] ?? '', {
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
    });
    expect(ids((await search('Patient?_has:Observation:patient:code=1234-5', labOnly)).body)).toEqual([pid['p2']]);
  });
});
