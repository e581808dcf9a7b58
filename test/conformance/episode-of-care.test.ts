/**
 * EpisodeOfCare search and read find the service-use episodes that `$record-locations` finds: a
 * valid eligibility confirmation records that a medical institution served the person (R9) as a
 * row, rendered as an EpisodeOfCare, so `EpisodeOfCare?patient=` must answer from it — decided as
 * `$record-locations` decides (who may locate records, the Patient within reach, the person's
 * record-location Consents). Stored EpisodeOfCare resources are found as before. Runs on every
 * database driver.
 */
import type { Bundle, Consent, EpisodeOfCare, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Organization as OrgRef } from '../../src/core/principal.ts';
import { ID_SYSTEMS } from '../../src/core/systems.ts';
import { testDrivers } from '../helpers/db.ts';
import { eligibilityCard } from '../helpers/eligibility.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { insurerNumber, registerInsured } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const INSURER = insurerNumber('0613921');
const HOSPITAL = '1311111112';
const CLINIC = '1322222223';
const TODAY = '2026-04-10';

describe.each(testDrivers())('EpisodeOfCare from service use on %s', (driver) => {
  let s: TestServer;
  const pid: Record<string, string> = {};
  let hospitalOrg = '';
  const tokens: Record<string, string> = {};
  const as = (who: string) => ({ headers: { authorization: `Bearer ${tokens[who] ?? ''}` } });

  const post = async <T extends Resource>(r: T): Promise<T & { id: string }> => {
    const res = await fhirFetch<T & { id: string }>(`${s.base}/${r.resourceType}`, { method: 'POST', json: r });
    if (res.status !== 201) throw new Error(`${r.resourceType} not created: ${res.text}`);
    return res.body;
  };
  const card = (number: string, day: string) => eligibilityCard(INSURER, number, day);
  const confirm = async (who: string, number: string, day: string): Promise<void> => {
    const res = await fhirFetch(`${s.base}/CoverageEligibilityRequest/$submit`, { method: 'POST', json: card(number, day), ...as(who) });
    expect(JSON.stringify(res.body), `confirmation ${who} ${number}`).toMatch(/"code":"1"/);
  };
  const episodes = async (query: string, who: string) => fhirFetch<Bundle<EpisodeOfCare>>(`${s.base}/EpisodeOfCare?${query}`, as(who));
  const located = async (patient: string, who: string) => fhirFetch<Bundle>(`${s.base}/Patient/${patient}/$record-locations`, as(who));
  const episodesOf = (b: Bundle): EpisodeOfCare[] =>
    (b.entry ?? []).map((e) => e.resource).filter((r): r is EpisodeOfCare => r?.resourceType === 'EpisodeOfCare');

  beforeAll(async () => {
    s = await startTestServer(driver, { deps: { clock: { now: () => new Date(`${TODAY}T03:00:00Z`) } } });
    useToken(s.token);
    Object.assign(
      pid,
      await registerInsured(s.base, INSURER, { kana: 'エピ', kanji: '恵比' }, [
        { record: 'p1', number: '401', given: 'イチ' },
        { record: 'p2', number: '402', given: 'ニ' },
      ]),
    );
    hospitalOrg = (
      await post({
        resourceType: 'Organization',
        name: '東都病院',
        identifier: [{ system: ID_SYSTEMS.medicalInstitutionCode, value: HOSPITAL }],
      })
    ).id;
    const org = (code: string): OrgRef => ({ kind: 'medical-institution', code });
    tokens['hospital'] = await s.tokenFor('system/*.cruds', 'eoc-hospital', org(HOSPITAL));
    tokens['clinic'] = await s.tokenFor('system/*.cruds', 'eoc-clinic', org(CLINIC));
    tokens['hospital-billing'] = await s.tokenFor('system/*.cruds', 'eoc-hospital-billing', org(HOSPITAL), 'HPAYMT');
    tokens['authority'] = await s.tokenFor('system/*.cruds', 'eoc-authority', { kind: 'authority', code: 'staff' }, 'TREAT');
    // The hospital sees p1 twice; the clinic sees p1 once and p2 once. The hospital never served p2.
    await confirm('hospital', '401', '2026-04-02');
    await confirm('hospital', '401', TODAY);
    await confirm('clinic', '401', '2026-04-05');
    await confirm('clinic', '402', '2026-04-06');
  });
  afterAll(async () => {
    await s.close();
  });

  it('EpisodeOfCare?patient= answers the service-use episodes $record-locations answers', async () => {
    const search = await episodes(`patient=${pid['p1'] ?? ''}&_total=accurate`, 'hospital');
    expect(search.status, search.text).toBe(200);
    const fromLocations = episodesOf((await located(pid['p1'] ?? '', 'hospital')).body);
    expect(fromLocations).toHaveLength(2);
    const byId = (xs: EpisodeOfCare[]) => [...xs].sort((a, b) => (a.id ?? '').localeCompare(b.id ?? ''));
    expect(byId(episodesOf(search.body))).toEqual(byId(fromLocations));
    expect(search.body.total).toBe(2);
    const mine = episodesOf(search.body).find((e) => e.managingOrganization?.identifier?.value === HOSPITAL);
    expect(mine).toMatchObject({
      status: 'finished',
      patient: { reference: `Patient/${pid['p1'] ?? ''}` },
      managingOrganization: { reference: `Organization/${hospitalOrg}` },
      period: { start: '2026-04-02', end: TODAY },
    });
    // Patient/[id] and a bare id are the same reference.
    const typed = await episodes(`patient=Patient/${pid['p1'] ?? ''}`, 'hospital');
    expect(episodesOf(typed.body)).toHaveLength(2);
  });

  it('a service-use episode reads back by its id', async () => {
    const [first] = episodesOf((await episodes(`patient=${pid['p1'] ?? ''}`, 'hospital')).body);
    const read = await fhirFetch<EpisodeOfCare>(`${s.base}/EpisodeOfCare/${first?.id ?? ''}`, as('hospital'));
    expect(read.status, read.text).toBe(200);
    expect(read.body).toEqual(first);
    const unknown = await fhirFetch(`${s.base}/EpisodeOfCare/su.${HOSPITAL}.${pid['p2'] ?? ''}`, as('hospital'));
    expect(unknown.status).toBe(404);
  });

  it('status, date and organization select among service-use episodes', async () => {
    const p1 = pid['p1'] ?? '';
    const count = async (q: string) => episodesOf((await episodes(`patient=${p1}&${q}`, 'hospital')).body).length;
    expect(await count('status=finished')).toBe(2);
    expect(await count('status=active')).toBe(0);
    expect(await count('status:not=active')).toBe(2);
    expect(await count('date=ge2026-04-09')).toBe(1);
    expect(await count('date=lt2026-01-01')).toBe(0);
    expect(await count(`organization=Organization/${hospitalOrg}`)).toBe(1);
    expect(await count('organization=Organization/elsewhere')).toBe(0);
    // A criterion service-use episodes cannot answer leaves them out (the stored ones still answer).
    expect(await count('type=http://example.org|x')).toBe(0);
  });

  it('EpisodeOfCare search sees only what $record-locations would show: a person outside reach, another purpose, a Consent', async () => {
    // p2 was served by the clinic, never by the hospital: outside the hospital's reach.
    const outside = await episodes(`patient=${pid['p2'] ?? ''}&_total=accurate`, 'hospital');
    expect(outside.status).toBe(200);
    expect(outside.body.total).toBe(0);
    expect((await located(pid['p2'] ?? '', 'hospital')).status).toBe(404);
    expect(episodesOf((await episodes(`patient=${pid['p2'] ?? ''}`, 'clinic')).body)).toHaveLength(1);
    expect(episodesOf((await episodes(`patient=${pid['p2'] ?? ''}`, 'authority')).body)).toHaveLength(1);
    // Record location is answered for treatment only.
    expect((await located(pid['p1'] ?? '', 'hospital-billing')).status).toBe(403);
    expect(episodesOf((await episodes(`patient=${pid['p1'] ?? ''}`, 'hospital-billing')).body)).toEqual([]);
    // The person denies record location to the clinic: both answers leave it out.
    const consent: Consent = {
      resourceType: 'Consent',
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: `Patient/${pid['p1'] ?? ''}` },
      dateTime: '2026-04-09T10:00:00+09:00',
      policy: [{ uri: 'http://medid.example.org/fhir/policy/record-location' }],
      provision: {
        type: 'deny',
        actor: [
          {
            role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
            reference: { identifier: { system: ID_SYSTEMS.medicalInstitutionCode, value: CLINIC } },
          },
        ],
      },
    };
    const c = await fhirFetch<Consent>(`${s.base}/Consent`, { method: 'POST', json: consent });
    expect(c.status, c.text).toBe(201);
    const after = episodesOf((await episodes(`patient=${pid['p1'] ?? ''}`, 'hospital')).body);
    expect(after.map((e) => e.managingOrganization?.identifier?.value)).toEqual([HOSPITAL]);
    expect(episodesOf((await located(pid['p1'] ?? '', 'hospital')).body).map((e) => e.managingOrganization?.identifier?.value)).toEqual([
      HOSPITAL,
    ]);
    await fhirFetch(`${s.base}/Consent/${c.body.id ?? ''}`, { method: 'DELETE' });
  });

  it('stored EpisodeOfCare resources are found beside the service-use episodes', async () => {
    const stored = await post({
      resourceType: 'EpisodeOfCare',
      status: 'active',
      patient: { reference: `Patient/${pid['p1'] ?? ''}` },
      managingOrganization: { reference: `Organization/${hospitalOrg}` },
    });
    const res = await episodes(`patient=${pid['p1'] ?? ''}&_total=accurate`, 'authority');
    expect(res.body.total).toBe(3);
    expect(episodesOf(res.body).map((e) => e.id)).toContain(stored.id);
    const active = await episodes(`patient=${pid['p1'] ?? ''}&status=active`, 'authority');
    expect(episodesOf(active.body).map((e) => e.id)).toEqual([stored.id]);
    expect((await fhirFetch(`${s.base}/EpisodeOfCare/${stored.id}`, as('authority'))).status).toBe(200);
  });
});
