/**
 * History (instance, type, system) and batch/transaction Bundles: atomicity, urn:uuid and
 * conditional references, processing order, per-entry results.
 */
import type { Bundle, BundleEntry, Observation, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

describe.each(testDrivers())('history and bundles on %s', (driver) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(driver);
    useToken(s.token);
  });
  afterAll(async () => {
    await s.close();
  });
  const post = (b: Bundle) => fhirFetch<Bundle>(s.base, { method: 'POST', json: b });
  const count = async (q: string): Promise<number> => (await fhirFetch<Bundle>(`${s.base}/${q}&_summary=count`)).body.total as number;

  describe('history', () => {
    it('instance history lists every version newest first, deletions included', async () => {
      const c = await fhirFetch<Patient>(`${s.base}/Patient`, { method: 'POST', json: { resourceType: 'Patient', gender: 'male' } });
      const id = c.body.id as string;
      await fhirFetch(`${s.base}/Patient/${id}`, { method: 'PUT', json: { ...c.body, gender: 'female' } });
      await fhirFetch(`${s.base}/Patient/${id}`, { method: 'DELETE' });
      const h = await fhirFetch<Bundle>(`${s.base}/Patient/${id}/_history`);
      expect(h.status).toBe(200);
      expect(h.body.type).toBe('history');
      expect(h.body.total).toBe(3);
      expect(h.body.entry?.map((e) => e.request?.method)).toEqual(['DELETE', 'PUT', 'POST']);
      expect(h.body.entry?.[0]?.resource).toBeUndefined();
      expect(h.body.entry?.[1]?.response?.etag).toBe('W/"2"');
      expect((h.body.entry?.[2]?.resource as Patient).gender).toBe('male');
    });

    it('instance history of an unknown resource is 404', async () => {
      expect((await fhirFetch(`${s.base}/Patient/unknown-id/_history`)).status).toBe(404);
    });

    it('type history pages with _count and next links', async () => {
      for (let i = 0; i < 3; i++)
        await fhirFetch(`${s.base}/Basic`, { method: 'POST', json: { resourceType: 'Basic', code: { text: `h${i}` } } });
      const p1 = await fhirFetch<Bundle>(`${s.base}/Basic/_history?_count=2`);
      expect(p1.body.entry).toHaveLength(2);
      const next = p1.body.link?.find((l) => l.relation === 'next')?.url as string;
      const p2 = await fhirFetch<Bundle>(next);
      expect(p2.body.entry).toHaveLength(1);
      const seen = [...(p1.body.entry ?? []), ...(p2.body.entry ?? [])].map((e) => e.fullUrl);
      expect(new Set(seen).size).toBe(3);
    });

    it('_since keeps only later versions; _at keeps versions current at an instant', async () => {
      const c = await fhirFetch<Patient>(`${s.base}/Patient`, { method: 'POST', json: { resourceType: 'Patient', gender: 'male' } });
      const id = c.body.id as string;
      const mid = new Date(Date.now() + 5).toISOString();
      await new Promise((r) => setTimeout(r, 20));
      await fhirFetch(`${s.base}/Patient/${id}`, { method: 'PUT', json: { ...c.body, gender: 'female' } });
      const since = await fhirFetch<Bundle>(`${s.base}/Patient/${id}/_history?_since=${encodeURIComponent(mid)}`);
      expect(since.body.entry?.map((e) => e.response?.etag)).toEqual(['W/"2"']);
      const at = await fhirFetch<Bundle>(`${s.base}/Patient/${id}/_history?_at=${encodeURIComponent(mid)}`);
      expect(at.body.entry?.map((e) => e.response?.etag)).toEqual(['W/"1"']);
    });

    it('system history includes all types', async () => {
      const h = await fhirFetch<Bundle>(`${s.base}/_history?_count=50`);
      const types = new Set(h.body.entry?.map((e) => e.fullUrl?.split('/').slice(-2)[0]));
      expect(types.has('Patient') && types.has('Basic')).toBe(true);
    });

    it('an unknown history parameter is 400', async () => {
      expect((await fhirFetch(`${s.base}/Patient/_history?family=x`)).status).toBe(400);
    });
  });

  describe('transaction', () => {
    it('creates resources atomically and rewrites urn:uuid references', async () => {
      const res = await post({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a',
            resource: {
              resourceType: 'Observation',
              status: 'final',
              code: { text: 'tx' },
              subject: { reference: 'urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059' },
            } satisfies Observation,
            request: { method: 'POST', url: 'Observation' },
          },
          {
            fullUrl: 'urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059',
            resource: { resourceType: 'Patient', identifier: [{ system: 'urn:test:tx', value: 'tx-1' }] } satisfies Patient,
            request: { method: 'POST', url: 'Patient' },
          },
        ],
      });
      expect(res.status).toBe(200);
      expect(res.body.type).toBe('transaction-response');
      expect(res.body.entry?.map((e) => e.response?.status)).toEqual(['201 Created', '201 Created']);
      const obs = res.body.entry?.[0]?.resource as Observation;
      const pat = res.body.entry?.[1]?.resource as Patient;
      expect(obs.subject?.reference).toBe(`Patient/${pat.id}`);
      expect(res.body.entry?.[1]?.response?.location).toMatch(new RegExp(`/Patient/${pat.id}/_history/1$`));
      expect((await fhirFetch(`${s.base}/Observation/${obs.id}`)).status).toBe(200);
    });

    it('rolls back every entry when one fails, answering one OperationOutcome that names the entry', async () => {
      const before = await count('Patient?identifier=urn:test:tx|');
      const res = await fhirFetch<OperationOutcome>(s.base, {
        method: 'POST',
        json: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              resource: { resourceType: 'Patient', identifier: [{ system: 'urn:test:tx', value: 'rollback' }] },
              request: { method: 'POST', url: 'Patient' },
            },
            { resource: { resourceType: 'Patient', birthDate: 'not-a-date' }, request: { method: 'POST', url: 'Patient' } },
          ],
        },
      });
      expect(res.status).toBe(400);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0]?.details?.text).toContain('Bundle.entry[1]');
      expect(res.body.issue[0]?.expression?.[0]).toBe('Bundle.entry[1].resource.Patient.birthDate');
      expect(await count('Patient?identifier=urn:test:tx|')).toBe(before);
    });

    it('a failing If-Match in one entry is 412 and undoes the others', async () => {
      const c = await fhirFetch<Patient>(`${s.base}/Patient`, { method: 'POST', json: { resourceType: 'Patient', gender: 'male' } });
      const res = await post({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { resourceType: 'Basic', code: { text: 'should-vanish' } }, request: { method: 'POST', url: 'Basic' } },
          { resource: { ...c.body, gender: 'female' }, request: { method: 'PUT', url: `Patient/${c.body.id}`, ifMatch: 'W/"5"' } },
        ],
      });
      expect(res.status).toBe(412);
      expect(await count('Basic?code:text=should-vanish')).toBe(0);
    });

    it('resolves conditional references and conditional creates', async () => {
      const p = await fhirFetch<Patient>(`${s.base}/Patient`, {
        method: 'POST',
        json: { resourceType: 'Patient', identifier: [{ system: 'urn:test:tx', value: 'cond-ref' }] },
      });
      const res = await post({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:9a1b0c65-1111-4c49-9d4e-2fe2b1a0cc01',
            resource: { resourceType: 'Patient', identifier: [{ system: 'urn:test:tx', value: 'cond-ref' }] },
            request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:test:tx|cond-ref' },
          },
          {
            resource: {
              resourceType: 'Observation',
              status: 'final',
              code: { text: 'a' },
              subject: { reference: 'urn:uuid:9a1b0c65-1111-4c49-9d4e-2fe2b1a0cc01' },
            },
            request: { method: 'POST', url: 'Observation' },
          },
          {
            resource: {
              resourceType: 'Observation',
              status: 'final',
              code: { text: 'b' },
              subject: { reference: 'Patient?identifier=urn:test:tx|cond-ref' },
            },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      });
      expect(res.status).toBe(200);
      expect(res.body.entry?.[0]?.response?.status).toBe('200 OK');
      expect((res.body.entry?.[1]?.resource as Observation).subject?.reference).toBe(`Patient/${p.body.id}`);
      expect((res.body.entry?.[2]?.resource as Observation).subject?.reference).toBe(`Patient/${p.body.id}`);
    });

    it('a conditional reference that matches nothing fails the transaction with 412', async () => {
      const res = await post({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: {
              resourceType: 'Observation',
              status: 'final',
              code: { text: 'x' },
              subject: { reference: 'Patient?identifier=urn:test:tx|nobody' },
            },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      });
      expect(res.status).toBe(412);
    });

    it('processes DELETE before POST before PUT before GET, answering in request order', async () => {
      const victim = await fhirFetch<Patient>(`${s.base}/Patient`, { method: 'POST', json: { resourceType: 'Patient', gender: 'other' } });
      const id = `tx-order-${Date.now()}`;
      const res = await post({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { request: { method: 'GET', url: `Patient/${id}` } },
          { resource: { resourceType: 'Patient', id, gender: 'female' }, request: { method: 'PUT', url: `Patient/${id}` } },
          { request: { method: 'DELETE', url: `Patient/${victim.body.id}` } },
        ],
      });
      expect(res.status).toBe(200);
      expect(res.body.entry?.map((e: BundleEntry) => e.response?.status.slice(0, 3))).toEqual(['200', '201', '200']);
      expect((res.body.entry?.[0]?.resource as Patient).gender).toBe('female');
      expect((await fhirFetch(`${s.base}/Patient/${victim.body.id}`)).status).toBe(410);
    });

    it('an entry without request.url is 400', async () => {
      const res = await post({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ resource: { resourceType: 'Basic', code: {} }, request: { method: 'POST' } as never }],
      });
      expect(res.status).toBe(400);
    });

    it('a Bundle of another type posted to the base is 400', async () => {
      expect((await post({ resourceType: 'Bundle', type: 'collection' })).status).toBe(400);
    });
  });

  describe('batch', () => {
    it('answers each entry on its own, failures included, in request order', async () => {
      const res = await post({
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          {
            resource: { resourceType: 'Patient', identifier: [{ system: 'urn:test:batch', value: 'ok' }] },
            request: { method: 'POST', url: 'Patient' },
          },
          { resource: { resourceType: 'Patient', birthDate: 'bad' }, request: { method: 'POST', url: 'Patient' } },
          { request: { method: 'GET', url: 'Patient/nope' } },
          { request: { method: 'GET', url: 'Patient?identifier=urn:test:batch|ok' } },
        ],
      });
      expect(res.status).toBe(200);
      expect(res.body.type).toBe('batch-response');
      expect(res.body.entry?.map((e) => e.response?.status.slice(0, 3))).toEqual(['201', '400', '404', '200']);
      expect(res.body.entry?.[1]?.response?.outcome?.resourceType).toBe('OperationOutcome');
      expect((res.body.entry?.[3]?.resource as Bundle).total).toBe(1);
      expect(await count('Patient?identifier=urn:test:batch|ok')).toBe(1);
    });
  });
});
