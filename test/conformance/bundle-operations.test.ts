/**
 * Operations as Bundle entries: one that reads or writes through the request's unit of work
 * ($match, $validate) runs inside a transaction Bundle's transaction — on the embedded database
 * too, whose one connection the transaction holds; one that commits its own work ($register,
 * $merge, $export) is refused in a transaction Bundle before anything runs, naming the entry,
 * and runs in a batch.
 */
import type { Bundle, OperationOutcome, Parameters, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { insurerNumber, registerBody, registrationPatient } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

describe.each(testDrivers())('operations in bundles on %s', (driver) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(driver);
    useToken(s.token);
  });
  afterAll(async () => {
    await s.close();
  });

  const matchEntry = (family: string) => ({
    request: { method: 'POST' as const, url: 'Patient/$match' },
    resource: {
      resourceType: 'Parameters',
      parameter: [{ name: 'resource', resource: { resourceType: 'Patient', name: [{ family }], birthDate: '1970-01-01' } }],
    } satisfies Parameters,
  });

  it('runs $match inside a transaction, seeing what an earlier entry of the same transaction wrote', async () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:2f0c1a9e-0000-4000-8000-000000000001',
          request: { method: 'POST', url: 'Patient' },
          resource: { resourceType: 'Patient', name: [{ family: 'ミナミ', given: ['ハルカ'] }], birthDate: '1970-01-01', gender: 'female' },
        },
        matchEntry('ミナミ'),
      ],
    };
    const res = await fhirFetch<Bundle>(s.base, { method: 'POST', json: bundle });
    expect(res.status, res.text).toBe(200);
    const found = res.body.entry?.[1]?.resource as Bundle | undefined;
    expect(found?.resourceType).toBe('Bundle');
    expect((found?.entry ?? []).filter((e) => e.search?.mode === 'match').length).toBe(1);
  });

  it('refuses $register in a transaction before anything runs, naming the entry; a batch runs it', async () => {
    const register = {
      request: { method: 'POST' as const, url: 'Patient/$register' },
      resource: registerBody([{ record: 'b1', patient: registrationPatient({ insurer: insurerNumber('0613809'), number: '4242' }) }]),
    };
    const created: Patient = { resourceType: 'Patient', name: [{ family: 'Never-written' }] };
    const tx = await fhirFetch<OperationOutcome>(s.base, {
      method: 'POST',
      json: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ request: { method: 'POST', url: 'Patient' }, resource: created }, register],
      },
    });
    expect(tx.status, tx.text).toBe(400);
    expect(tx.body.issue?.[0]?.expression).toEqual(['Bundle.entry[1].request.url']);
    expect(tx.body.issue?.[0]?.details?.text).toMatch(/\$register commits its own work/);
    expect((await fhirFetch<Bundle>(`${s.base}/Patient?family=Never-written&_total=accurate`)).body.total).toBe(0);
    const batch = await fhirFetch<Bundle>(s.base, { method: 'POST', json: { resourceType: 'Bundle', type: 'batch', entry: [register] } });
    expect(batch.status).toBe(200);
    expect(batch.body.entry?.[0]?.response?.status).toMatch(/^200/);
  });
});
