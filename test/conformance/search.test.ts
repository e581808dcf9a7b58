/**
 * FHIR R4 search conformance (search.html): parameter types and modifiers, paging, sorting,
 * totals, subsets, includes, and errors. Each suite creates its own data under a unique tag.
 */
import type { Bundle, Observation, OperationOutcome, Organization, Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

describe.each(testDrivers())('search on %s', (driver) => {
  let s: TestServer;
  const post = async <T extends Resource>(r: T): Promise<T & { id: string }> => {
    const res = await fhirFetch<T & { id: string }>(`${s.base}/${r.resourceType}`, { method: 'POST', json: r });
    if (res.status !== 201) throw new Error(`create failed: ${res.text}`);
    return res.body;
  };
  const search = (q: string, init?: RequestInit) => fhirFetch<Bundle>(`${s.base}/${q}`, init);
  const ids = (b: Bundle, mode = 'match'): string[] => {
    if (b.resourceType !== 'Bundle') throw new Error(`not a Bundle: ${JSON.stringify(b)}`);
    return idsOf(b, mode);
  };
  const idsOf = (b: Bundle, mode: string): string[] =>
    (b.entry ?? []).filter((e) => e.search?.mode === mode).map((e) => e.resource?.id as string);
  const link = (b: Bundle, rel: string): string | undefined => b.link?.find((l) => l.relation === rel)?.url;

  let yamada: Patient & { id: string };
  let suzuki: Patient & { id: string };
  let smith: Patient & { id: string };
  let org: Organization & { id: string };

  beforeAll(async () => {
    s = await startTestServer(driver);
    useToken(s.token);
    org = await post<Organization>({
      resourceType: 'Organization',
      name: '東京病院',
      identifier: [{ system: 'urn:test:org', value: 'org-1' }],
    });
    yamada = await post<Patient>({
      resourceType: 'Patient',
      gender: 'male',
      birthDate: '1980-04-01',
      active: true,
      identifier: [
        { system: 'urn:test:mrn', value: 'Y-1' },
        { system: 'urn:test:other', value: 'shared' },
      ],
      name: [
        { family: '山田', given: ['太郎'], text: '山田 太郎' },
        { family: 'ヤマダ', given: ['タロウ'] },
      ],
      telecom: [{ system: 'phone', value: '090-1111-2222' }],
      address: [{ postalCode: '100-0001', state: '東京都', city: '千代田区' }],
      managingOrganization: { reference: `Organization/${org.id}` },
      meta: { tag: [{ system: 'urn:test:tag', code: 'search-suite' }] },
    });
    suzuki = await post<Patient>({
      resourceType: 'Patient',
      gender: 'female',
      birthDate: '1975-12-31',
      identifier: [{ system: 'urn:test:mrn', value: 'S-1' }, { value: 'no-system' }],
      name: [
        { family: '鈴木', given: ['花子'] },
        { family: 'スズキ', given: ['ハナコ'] },
      ],
      managingOrganization: { reference: `${s.base}/Organization/${org.id}` },
      meta: { tag: [{ system: 'urn:test:tag', code: 'search-suite' }] },
    });
    smith = await post<Patient>({
      resourceType: 'Patient',
      gender: 'male',
      birthDate: '1980',
      identifier: [{ system: 'urn:test:mrn', value: 'M-1' }],
      name: [{ family: 'Smith-Müller', given: ['John'] }],
      meta: { tag: [{ system: 'urn:test:tag', code: 'search-suite' }] },
    });
    for (const [p, v] of [
      [yamada, 72.5],
      [yamada, 80],
      [suzuki, 55],
    ] as const) {
      await post<Observation>({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }], text: '体重' },
        subject: { reference: `Patient/${p.id}` },
        effectiveDateTime: '2024-05-01T10:00:00+09:00',
        valueQuantity: { value: v, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
      });
    }
  });
  afterAll(async () => {
    await s.close();
  });

  const TAG = '_tag=urn:test:tag|search-suite';

  describe('token', () => {
    it('matches system|code', async () => {
      expect(ids((await search('Patient?identifier=urn:test:mrn|Y-1')).body)).toEqual([yamada.id]);
    });
    it('matches code alone in any system', async () => {
      expect(ids((await search('Patient?identifier=shared')).body)).toEqual([yamada.id]);
    });
    it('matches |code only where the identifier has no system', async () => {
      expect(ids((await search('Patient?identifier=|no-system')).body)).toEqual([suzuki.id]);
      expect(ids((await search('Patient?identifier=|Y-1')).body)).toEqual([]);
    });
    it('matches system| for any code in the system', async () => {
      expect(ids((await search(`Patient?identifier=urn:test:mrn|&${TAG}`)).body).sort()).toEqual([yamada.id, suzuki.id, smith.id].sort());
    });
    it(':not excludes resources with the code and keeps those without it', async () => {
      expect(ids((await search(`Patient?gender:not=male&${TAG}`)).body)).toEqual([suzuki.id]);
    });
    it(':text matches the coding display or concept text, width- and kana-insensitively', async () => {
      expect(ids((await search('Observation?code:text=body')).body)).toHaveLength(3);
      expect(ids((await search('Observation?code:text=体重')).body)).toHaveLength(3);
    });
    it('comma-separated values are OR', async () => {
      expect(ids((await search('Patient?identifier=urn:test:mrn|Y-1,urn:test:mrn|S-1')).body).sort()).toEqual(
        [yamada.id, suzuki.id].sort(),
      );
    });
    it('repeated parameters are AND', async () => {
      expect(ids((await search('Patient?identifier=urn:test:mrn|Y-1&identifier=shared')).body)).toEqual([yamada.id]);
      expect(ids((await search('Patient?identifier=urn:test:mrn|S-1&identifier=shared')).body)).toEqual([]);
    });
    it('_id matches logical ids', async () => {
      expect(ids((await search(`Patient?_id=${yamada.id},${smith.id}`)).body).sort()).toEqual([yamada.id, smith.id].sort());
    });
    it('boolean tokens match true and false', async () => {
      expect(ids((await search(`Patient?active=true&${TAG}`)).body)).toEqual([yamada.id]);
    });
    it('telecom tokens match the contact value', async () => {
      expect(ids((await search('Patient?phone=090-1111-2222')).body)).toEqual([yamada.id]);
    });
  });

  describe('string', () => {
    it('matches a prefix, case-insensitively', async () => {
      expect(ids((await search('Patient?family=smith')).body)).toEqual([smith.id]);
      expect(ids((await search('Patient?family=SMI')).body)).toEqual([smith.id]);
    });
    it('ignores accents', async () => {
      expect(ids((await search('Patient?family=smith-muller')).body)).toEqual([smith.id]);
    });
    it('folds half-width and full-width forms', async () => {
      expect(ids((await search(`Patient?family=${encodeURIComponent('ﾔﾏﾀﾞ')}`)).body)).toEqual([yamada.id]);
      expect(ids((await search(`Patient?family=${encodeURIComponent('ＳＭＩＴＨ')}`)).body)).toEqual([smith.id]);
    });
    it('treats hiragana and katakana alike', async () => {
      expect(ids((await search(`Patient?family=${encodeURIComponent('やまだ')}`)).body)).toEqual([yamada.id]);
    });
    it('ignores spaces between family and given names', async () => {
      expect(ids((await search(`Patient?name=${encodeURIComponent('山田太郎')}`)).body)).toEqual([yamada.id]);
      expect(ids((await search(`Patient?name=${encodeURIComponent('山田　太郎')}`)).body)).toEqual([yamada.id]);
    });
    it(':exact matches the whole value as written', async () => {
      expect(ids((await search(`Patient?family:exact=${encodeURIComponent('山田')}`)).body)).toEqual([yamada.id]);
      expect(ids((await search('Patient?family:exact=smith-müller')).body)).toEqual([]);
      expect(ids((await search('Patient?family:exact=Smith')).body)).toEqual([]);
    });
    it(':contains matches anywhere in the value', async () => {
      expect(ids((await search('Patient?family:contains=MULL')).body)).toEqual([smith.id]);
    });
    it('a LIKE wildcard in the value matches only itself', async () => {
      expect(ids((await search('Patient?family=%25')).body)).toEqual([]);
      expect(ids((await search('Patient?family=_')).body)).toEqual([]);
    });
    it('address parts are searchable', async () => {
      expect(ids((await search(`Patient?address-city=${encodeURIComponent('千代田')}`)).body)).toEqual([yamada.id]);
      expect(ids((await search('Patient?address-postalcode=100-0001')).body)).toEqual([yamada.id]);
    });
  });

  describe('date', () => {
    const bd = async (q: string): Promise<string[]> => ids((await search(`Patient?${TAG}&birthdate=${q}`)).body).sort();
    it('eq (default) matches values within the given precision', async () => {
      expect(await bd('1980-04-01')).toEqual([yamada.id]);
      expect(await bd('1980-04')).toEqual([yamada.id]);
      expect(await bd('1975')).toEqual([suzuki.id]);
    });
    it('eq on a year matches a stored value of lower precision only when it lies inside', async () => {
      expect(await bd('1980')).toEqual([yamada.id, smith.id].sort());
      expect(await bd('1980-06')).toEqual([]);
    });
    it('ne excludes the range', async () => {
      expect(await bd('ne1980-04-01')).toEqual([suzuki.id, smith.id].sort());
    });
    it('gt, ge, lt, le compare ranges', async () => {
      expect(await bd('gt1980-01-01')).toEqual([yamada.id, smith.id].sort());
      expect(await bd('ge1980-04-01')).toEqual([yamada.id, smith.id].sort());
      expect(await bd('lt1980-01-01')).toEqual([suzuki.id]);
      expect(await bd('lt1980-06-01')).toEqual([suzuki.id, yamada.id, smith.id].sort());
      expect(await bd('le1975-12-31')).toEqual([suzuki.id]);
    });
    it('sa and eb require the whole range after or before', async () => {
      expect(await bd('sa1979-12-31')).toEqual([yamada.id, smith.id].sort());
      expect(await bd('eb1980-01-01')).toEqual([suzuki.id]);
      expect(await bd('eb1980-04-01')).toEqual([suzuki.id]);
    });
    it('dateTime values with time zones compare as instants', async () => {
      expect(ids((await search('Observation?date=2024-05-01T01:00:00Z')).body)).toHaveLength(3);
      expect(ids((await search('Observation?date=gt2024-05-01T01:00:00Z')).body)).toHaveLength(0);
      expect(ids((await search('Observation?date=2024-05-01')).body)).toHaveLength(3);
    });
    it('_lastUpdated accepts prefixes', async () => {
      expect(ids((await search(`Patient?${TAG}&_lastUpdated=gt2000-01-01`)).body)).toHaveLength(3);
      expect(ids((await search(`Patient?${TAG}&_lastUpdated=lt2000-01-01`)).body)).toHaveLength(0);
    });
  });

  describe('reference, quantity and chains', () => {
    it('matches Type/id, a bare id and an absolute URL on this server alike', async () => {
      const all = [yamada.id, suzuki.id].sort();
      expect(ids((await search(`Patient?organization=Organization/${org.id}`)).body).sort()).toEqual(all);
      expect(ids((await search(`Patient?organization=${org.id}`)).body).sort()).toEqual(all);
      expect(ids((await search(`Patient?organization=${encodeURIComponent(`${s.base}/Organization/${org.id}`)}`)).body).sort()).toEqual(
        all,
      );
    });
    it('a :Type modifier restricts the target type', async () => {
      expect(ids((await search(`Observation?subject:Patient=${yamada.id}`)).body)).toHaveLength(2);
      expect((await search(`Observation?subject:Organization=${yamada.id}`)).status).toBe(400);
    });
    it('chains one level: patient.identifier', async () => {
      expect(ids((await search('Observation?patient.identifier=urn:test:mrn|Y-1')).body)).toHaveLength(2);
      expect(ids((await search('Observation?subject:Patient.identifier=urn:test:mrn|S-1')).body)).toHaveLength(1);
      expect(ids((await search(`Observation?patient.family=${encodeURIComponent('すずき')}`)).body)).toHaveLength(1);
    });
    it('quantity compares numbers with prefixes and units', async () => {
      expect(ids((await search('Observation?value-quantity=gt60')).body)).toHaveLength(2);
      expect(ids((await search('Observation?value-quantity=72.5|http://unitsofmeasure.org|kg')).body)).toHaveLength(1);
      expect(ids((await search('Observation?value-quantity=le72.5||kg')).body)).toHaveLength(2);
      expect(ids((await search('Observation?value-quantity=80|http://unitsofmeasure.org|g')).body)).toHaveLength(0);
    });
    it(':missing finds resources with and without a value', async () => {
      expect(ids((await search(`Patient?${TAG}&organization:missing=true`)).body)).toEqual([smith.id]);
      expect(ids((await search(`Patient?${TAG}&organization:missing=false`)).body).sort()).toEqual([yamada.id, suzuki.id].sort());
    });
  });

  describe('results', () => {
    it('_summary=count and _count=0 return only the total, without entries or paging links', async () => {
      for (const q of ['_summary=count', '_count=0']) {
        const b = (await search(`Patient?${TAG}&${q}`)).body;
        expect(b.total).toBe(3);
        expect(b.entry).toBeUndefined();
        expect(link(b, 'next')).toBeUndefined();
        expect(link(b, 'self')).toBeDefined();
      }
    });
    it('_total=accurate reports the total on every page', async () => {
      const b = (await search(`Patient?${TAG}&_count=1&_total=accurate`)).body;
      expect(b.total).toBe(3);
      expect(b.entry).toHaveLength(1);
    });
    it('_elements returns the listed elements plus id and meta, tagged SUBSETTED', async () => {
      const b = (await search(`Patient?_id=${yamada.id}&_elements=birthDate`)).body;
      const p = b.entry?.[0]?.resource as Patient;
      expect(Object.keys(p).sort()).toEqual(['birthDate', 'id', 'meta', 'resourceType']);
      expect(p.meta?.tag?.some((t) => t.code === 'SUBSETTED')).toBe(true);
    });
    it('_summary=true keeps summary elements only, tagged SUBSETTED', async () => {
      const b = (await search(`Observation?subject=${yamada.id}&_summary=true`)).body;
      const o = b.entry?.[0]?.resource as Observation;
      expect(o.code).toBeDefined();
      expect(o.meta?.tag?.some((t) => t.code === 'SUBSETTED')).toBe(true);
    });
    it('_include adds the referenced resources with search.mode include', async () => {
      const b = (await search(`Observation?subject=${yamada.id}&_include=Observation:subject`)).body;
      expect(ids(b)).toHaveLength(2);
      expect(ids(b, 'include')).toEqual([yamada.id]);
    });
    it('_revinclude adds the resources that refer to the matches', async () => {
      const b = (await search(`Patient?_id=${yamada.id}&_revinclude=Observation:subject`)).body;
      expect(ids(b)).toEqual([yamada.id]);
      expect(ids(b, 'include')).toHaveLength(2);
    });
    it('_include:iterate follows references of included resources one more level', async () => {
      const b = (await search(`Observation?subject=${yamada.id}&_include=Observation:subject&_include:iterate=Patient:organization`)).body;
      expect(ids(b, 'include').sort()).toEqual([yamada.id, org.id].sort());
    });
    it('_revinclude:iterate follows references to included resources', async () => {
      const b = (await search(`Organization?_id=${org.id}&_revinclude=Patient:organization&_revinclude:iterate=Observation:subject`)).body;
      expect(ids(b, 'include')).toHaveLength(2 + 3);
    });
    it('POST _search with a form body equals GET search', async () => {
      const res = await search('Patient/_search', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'identifier=urn:test:mrn|Y-1',
      });
      expect(res.status).toBe(200);
      expect(ids(res.body)).toEqual([yamada.id]);
    });
    it('POST _search with a JSON body is 415', async () => {
      expect(
        (await search('Patient/_search', { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: '{}' })).status,
      ).toBe(415);
    });
    it('an empty result is 200 with an empty searchset', async () => {
      const res = await search('Patient?identifier=urn:test:mrn|nobody');
      expect(res.status).toBe(200);
      expect(res.body.type).toBe('searchset');
      expect(res.body.total).toBe(0);
      expect(res.body.entry).toBeUndefined();
    });
    it('each entry has a fullUrl on this server', async () => {
      const b = (await search(`Patient?_id=${yamada.id}`)).body;
      expect(b.entry?.[0]?.fullUrl).toBe(`${s.base}/Patient/${yamada.id}`);
    });
  });

  describe('errors', () => {
    it('an unknown parameter is 400 naming it', async () => {
      const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient?shoe-size=42`);
      expect(res.status).toBe(400);
      expect(res.body.issue[0]?.expression).toEqual(['shoe-size']);
    });
    it('Prefer: handling=lenient ignores an unknown parameter and warns', async () => {
      const res = await search(`Patient?shoe-size=42&identifier=urn:test:mrn|Y-1`, { headers: { prefer: 'handling=lenient' } });
      expect(res.status).toBe(200);
      expect(ids(res.body)).toEqual([yamada.id]);
      const oo = res.body.entry?.find((e) => e.search?.mode === 'outcome')?.resource as OperationOutcome;
      expect(oo.issue[0]?.severity).toBe('warning');
      expect(link(res.body, 'self')).not.toContain('shoe-size');
    });
    it('malformed values are 400 naming the parameter', async () => {
      for (const q of [
        'birthdate=1980-13-01',
        'birthdate=xx1980',
        '_count=-1',
        '_count=ten',
        'value-quantity=abc',
        '_sort=nosuch',
        '_total=maybe',
        '_summary=perhaps',
        'identifier=a|b|c',
        'active:missing=yes',
      ]) {
        const type = q.startsWith('value') ? 'Observation' : 'Patient';
        const res = await fhirFetch<OperationOutcome>(`${s.base}/${type}?${q}`);
        expect(res.status, q).toBe(400);
        expect(res.body.issue[0]?.expression?.[0], q).toBe(q.split('=')[0]);
      }
    });
    it('an unsupported modifier is 400', async () => {
      expect((await search('Patient?family:below=x')).status).toBe(400);
    });
    it('_include of a non-reference parameter is 400', async () => {
      expect((await search('Patient?_include=Patient:family')).status).toBe(400);
    });
    it('a forged cursor is 400', async () => {
      expect((await search('Patient?_cursor=bm9wZQ')).status).toBe(400);
    });
  });
});
