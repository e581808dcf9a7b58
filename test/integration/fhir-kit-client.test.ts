/**
 * A FHIR client nobody here wrote (fhir-kit-client) drives medid over real HTTP: CRUD, search
 * with paging through the server's own links, a transaction, history and $validate.
 */
import { Client } from 'fhir-kit-client';
import type { Bundle, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDrivers } from '../helpers/db.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

describe.each(testDrivers())('fhir-kit-client against medid on %s', (driver) => {
  let s: TestServer;
  let client: Client;
  beforeAll(async () => {
    s = await startTestServer(driver);
    client = new Client({ baseUrl: s.base, bearerToken: s.token });
  });
  afterAll(async () => {
    await s.close();
  });

  it('reads the CapabilityStatement', async () => {
    const cs = (await client.capabilityStatement()) as unknown as { fhirVersion: string };
    expect(cs.fhirVersion).toBe('4.0.1');
  });

  it('creates, reads, updates, vreads and deletes a Patient', async () => {
    const created = (await client.create({
      resourceType: 'Patient',
      body: { resourceType: 'Patient', name: [{ family: '佐藤', given: ['花子'] }], gender: 'female' },
    })) as unknown as Patient;
    expect(created.id).toBeDefined();
    const read = (await client.read({ resourceType: 'Patient', id: created.id as string })) as unknown as Patient;
    expect(read.name?.[0]?.family).toBe('佐藤');
    const updated = (await client.update({
      resourceType: 'Patient',
      id: created.id,
      body: { ...read, birthDate: '1990-05-05' },
    })) as unknown as Patient;
    expect(updated.meta?.versionId).toBe('2');
    const v1 = (await client.vread({ resourceType: 'Patient', id: created.id as string, version: '1' })) as unknown as Patient;
    expect(v1.birthDate).toBeUndefined();
    await client.delete({ resourceType: 'Patient', id: created.id as string });
    await expect(client.read({ resourceType: 'Patient', id: created.id as string })).rejects.toMatchObject({ response: { status: 410 } });
  });

  it('pages through search results with nextPage and prevPage', async () => {
    for (let i = 0; i < 7; i++) {
      await client.create({
        resourceType: 'Patient',
        body: { resourceType: 'Patient', identifier: [{ system: 'urn:test:fkc', value: `p${i}` }] },
      });
    }
    let bundle = (await client.search({
      resourceType: 'Patient',
      searchParams: { identifier: 'urn:test:fkc|', _count: 3 },
    })) as unknown as Bundle;
    const seen: string[] = [];
    const pages: Bundle[] = [bundle];
    for (;;) {
      seen.push(...(bundle.entry ?? []).map((e) => (e.resource as Patient).identifier?.[0]?.value as string));
      const next = client.nextPage({ bundle: bundle as never });
      if (!next) break;
      bundle = (await next) as unknown as Bundle;
      pages.push(bundle);
    }
    expect(seen.sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
    expect(pages).toHaveLength(3);
    const back = (await client.prevPage({ bundle: pages[1] as never })) as unknown as Bundle;
    expect(back.entry?.map((e) => e.resource?.id)).toEqual(pages[0]?.entry?.map((e) => e.resource?.id));
  });

  it('posts a transaction with urn:uuid references', async () => {
    const res = (await client.transaction({
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:1b0d4b8e-5c8c-4d7c-9b8f-0e6a9d2c1a11',
            resource: { resourceType: 'Patient', gender: 'male' },
            request: { method: 'POST', url: 'Patient' },
          },
          {
            resource: {
              resourceType: 'Observation',
              status: 'final',
              code: { text: 'fkc' },
              subject: { reference: 'urn:uuid:1b0d4b8e-5c8c-4d7c-9b8f-0e6a9d2c1a11' },
            },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      },
    })) as unknown as Bundle;
    expect(res.type).toBe('transaction-response');
    const pid = res.entry?.[0]?.resource?.id;
    const obs = (await client.search({ resourceType: 'Observation', searchParams: { subject: `Patient/${pid}` } })) as unknown as Bundle;
    expect(obs.entry).toHaveLength(1);
  });

  it('reads history and runs $validate', async () => {
    const p = (await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient' } })) as unknown as Patient;
    await client.update({ resourceType: 'Patient', id: p.id, body: { ...p, active: true } });
    const h = (await client.history({ resourceType: 'Patient', id: p.id as string })) as unknown as Bundle;
    expect(h.entry).toHaveLength(2);
    const oo = (await client.operation({
      name: '$validate',
      resourceType: 'Patient',
      input: { resourceType: 'Patient', birthDate: 'nope' },
    })) as unknown as OperationOutcome;
    expect(oo.issue.some((i) => i.severity === 'error')).toBe(true);
  });
});
