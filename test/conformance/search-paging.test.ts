/**
 * Paging and sorting: keyset cursors in next/previous links that stay stable while data
 * changes, and _sort on _lastUpdated, birthdate and family in both directions.
 */
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

describe.each(testDrivers())('search paging and sorting on %s', (driver) => {
  let s: TestServer;
  const TAG = 'urn:test:tag|paging';
  const families = ['Ito', 'Abe', 'Kato', 'Sato', 'Ueda', 'Mori', 'Endo', 'Ota', 'Noda', 'Goto'];
  const created: (Patient & { id: string })[] = [];

  const page = async (url: string): Promise<Bundle> => {
    const res = await fhirFetch<Bundle>(url);
    if (res.status !== 200) throw new Error(res.text);
    return res.body;
  };
  const link = (b: Bundle, rel: string): string | undefined => b.link?.find((l) => l.relation === rel)?.url;
  const names = (b: Bundle): string[] =>
    (b.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => (e.resource as Patient).name?.[0]?.family as string);
  const walk = async (url: string): Promise<string[]> => {
    const out: string[] = [];
    let next: string | undefined = url;
    for (let guard = 0; next && guard < 50; guard++) {
      const b = await page(next);
      out.push(...names(b));
      next = link(b, 'next');
    }
    return out;
  };

  beforeAll(async () => {
    s = await startTestServer(driver);
    useToken(s.token);
    for (const [i, family] of families.entries()) {
      const birthDate = `19${50 + ((i * 7) % 10)}-0${1 + (i % 9)}-1${i % 9}`;
      const res = await fhirFetch<Patient & { id: string }>(`${s.base}/Patient`, {
        method: 'POST',
        json: { resourceType: 'Patient', name: [{ family }], birthDate, meta: { tag: [{ system: 'urn:test:tag', code: 'paging' }] } },
      });
      created.push(res.body);
    }
  });
  afterAll(async () => {
    await s.close();
  });

  it('_count pages with next links until every match was returned exactly once', async () => {
    const all = await walk(`${s.base}/Patient?_tag=${TAG}&_count=3`);
    expect(all).toEqual(families);
  });

  it('_count is lowered to the server maximum, never raised', async () => {
    const b = await page(`${s.base}/Patient?_tag=${TAG}&_count=100000`);
    expect(names(b)).toHaveLength(10);
  });

  it('the first page has no previous link; later pages link back to the page before', async () => {
    const p1 = await page(`${s.base}/Patient?_tag=${TAG}&_count=4`);
    expect(link(p1, 'previous')).toBeUndefined();
    const p2 = await page(link(p1, 'next') as string);
    const back = await page(link(p2, 'previous') as string);
    expect(names(back)).toEqual(names(p1));
    expect(link(back, 'previous')).toBeUndefined();
  });

  it('links repeat the query and _count', async () => {
    const p1 = await page(`${s.base}/Patient?_tag=${TAG}&_count=4`);
    const next = new URL(link(p1, 'next') as string);
    expect(next.searchParams.get('_tag')).toBe(TAG);
    expect(next.searchParams.get('_count')).toBe('4');
    expect(next.searchParams.get('_cursor')).toBeTruthy();
  });

  it('a next link stays correct when resources are created and deleted meanwhile', async () => {
    const p1 = await page(`${s.base}/Patient?_tag=${TAG}&_count=5`);
    // A resource on the first page is deleted, and a new one created, before page 2 is read.
    await fhirFetch(`${s.base}/Patient/${created[0]?.id}`, { method: 'DELETE' });
    const fresh = await fhirFetch<Patient & { id: string }>(`${s.base}/Patient`, {
      method: 'POST',
      json: { resourceType: 'Patient', name: [{ family: 'Zz-new' }], meta: { tag: [{ system: 'urn:test:tag', code: 'paging' }] } },
    });
    const p2 = await page(link(p1, 'next') as string);
    expect(names(p2)).toEqual(families.slice(5));
    const p3 = await page(link(p2, 'next') as string);
    expect(names(p3)).toEqual(['Zz-new']);
    // Restore for the other tests.
    await fhirFetch(`${s.base}/Patient/${fresh.body.id}`, { method: 'DELETE' });
    await fhirFetch(`${s.base}/Patient/${created[0]?.id}`, {
      method: 'PUT',
      json: { ...created[0], meta: { tag: [{ system: 'urn:test:tag', code: 'paging' }] } },
    });
  });

  it('_sort=family orders ascending, -family descending, across pages', async () => {
    expect(await walk(`${s.base}/Patient?_tag=${TAG}&_sort=family&_count=3`)).toEqual([...families].sort());
    expect(await walk(`${s.base}/Patient?_tag=${TAG}&_sort=-family&_count=4`)).toEqual([...families].sort().reverse());
  });

  it('_sort=birthdate orders by date in both directions across pages', async () => {
    const byDate = [...created]
      .sort((a, b) => (a.birthDate as string).localeCompare(b.birthDate as string))
      .map((p) => p.name?.[0]?.family);
    expect(await walk(`${s.base}/Patient?_tag=${TAG}&_sort=birthdate&_count=3`)).toEqual(byDate);
    expect(await walk(`${s.base}/Patient?_tag=${TAG}&_sort=-birthdate&_count=3`)).toEqual([...byDate].reverse());
  });

  it('_sort=_lastUpdated orders by last change', async () => {
    const asc = await walk(`${s.base}/Patient?_tag=${TAG}&_sort=_lastUpdated&_count=4`);
    const desc = await walk(`${s.base}/Patient?_tag=${TAG}&_sort=-_lastUpdated&_count=4`);
    expect(asc).toHaveLength(10);
    expect(desc).toEqual([...asc].reverse());
  });

  it('resources without the sort value come last and are not lost', async () => {
    const res = await fhirFetch<Patient & { id: string }>(`${s.base}/Patient`, {
      method: 'POST',
      json: { resourceType: 'Patient', name: [{ family: 'NoBirth' }], meta: { tag: [{ system: 'urn:test:tag', code: 'paging' }] } },
    });
    const asc = await walk(`${s.base}/Patient?_tag=${TAG}&_sort=birthdate&_count=3`);
    expect(asc).toHaveLength(11);
    expect(asc[10]).toBe('NoBirth');
    const desc = await walk(`${s.base}/Patient?_tag=${TAG}&_sort=-birthdate&_count=3`);
    expect(desc[10]).toBe('NoBirth');
    await fhirFetch(`${s.base}/Patient/${res.body.id}`, { method: 'DELETE' });
  });

  it('previous links work with a sort order too', async () => {
    const p1 = await page(`${s.base}/Patient?_tag=${TAG}&_sort=-family&_count=4`);
    const p2 = await page(link(p1, 'next') as string);
    const back = await page(link(p2, 'previous') as string);
    expect(names(back)).toEqual(names(p1));
  });

  it('a sort by two keys uses the second to break ties', async () => {
    const b = await page(`${s.base}/Patient?_tag=${TAG}&_sort=gender,family&_count=20`);
    expect(names(b)).toEqual([...families].sort());
  });
});
