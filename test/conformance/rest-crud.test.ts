/**
 * FHIR R4 REST conformance (http.html): create, read, vread, update, delete, conditional
 * create/update/delete, versioning headers and Prefer. Each test names the rule it proves and
 * runs against every database driver.
 */
import type { OperationOutcome, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const patient = (family: string, extra: Partial<Patient> = {}): Patient => ({
  resourceType: 'Patient',
  name: [{ family, given: ['Taro'] }],
  gender: 'male',
  birthDate: '1980-04-01',
  ...extra,
});

describe.each(testDrivers())('REST CRUD on %s', (driver) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(driver);
    useToken(s.token);
  });
  afterAll(async () => {
    await s.close();
  });

  const create = (p: Patient, headers: Record<string, string> = {}) =>
    fhirFetch<Patient>(`${s.base}/Patient`, { method: 'POST', json: p, headers });

  it('create answers 201 with Location, ETag W/"1", Last-Modified and the stored resource', async () => {
    const res = await create(patient('Create'));
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    expect(res.headers.get('location')).toBe(`${s.base}/Patient/${id}/_history/1`);
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(new Date(res.headers.get('last-modified') as string).getTime()).toBeGreaterThan(0);
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    expect(res.body.meta?.versionId).toBe('1');
    expect(res.body.meta?.lastUpdated).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it('create ignores a client-sent id and meta.versionId', async () => {
    const res = await create(patient('IgnoreId', { id: 'client-chosen', meta: { versionId: '99' } }));
    expect(res.status).toBe(201);
    expect(res.body.id).not.toBe('client-chosen');
    expect(res.body.meta?.versionId).toBe('1');
  });

  it('read answers 200 with ETag and Last-Modified matching meta', async () => {
    const created = await create(patient('Read'));
    const res = await fhirFetch<Patient>(`${s.base}/Patient/${created.body.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(res.body).toEqual(created.body);
    expect(new Date(res.headers.get('last-modified') as string).toUTCString()).toBe(
      new Date(res.body.meta?.lastUpdated as string).toUTCString(),
    );
  });

  it('read of an unknown id is 404 with an OperationOutcome', async () => {
    const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient/does-not-exist`);
    expect(res.status).toBe(404);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0]?.code).toBe('not-found');
  });

  it('read of an unknown resource type is 404', async () => {
    const res = await fhirFetch<OperationOutcome>(`${s.base}/Patientz/1`);
    expect(res.status).toBe(404);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it('update increments the version and answers 200 with ETag W/"2"', async () => {
    const created = await create(patient('Update'));
    const res = await fhirFetch<Patient>(`${s.base}/Patient/${created.body.id}`, {
      method: 'PUT',
      json: { ...created.body, gender: 'female' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('W/"2"');
    expect(res.body.meta?.versionId).toBe('2');
    expect(res.body.gender).toBe('female');
  });

  it('update that changes nothing keeps the current version', async () => {
    const created = await create(patient('NoChange'));
    const res = await fhirFetch<Patient>(`${s.base}/Patient/${created.body.id}`, { method: 'PUT', json: created.body });
    expect(res.status).toBe(200);
    expect(res.body.meta?.versionId).toBe('1');
  });

  it('update of an unknown id creates it with that id (update-as-create) and answers 201', async () => {
    const id = `uac-${Date.now()}`;
    const res = await fhirFetch<Patient>(`${s.base}/Patient/${id}`, { method: 'PUT', json: { ...patient('UpdateCreate'), id } });
    expect(res.status).toBe(201);
    expect(res.body.id).toBe(id);
    expect(res.headers.get('location')).toBe(`${s.base}/Patient/${id}/_history/1`);
  });

  it('update whose body id differs from the URL id is 400', async () => {
    const created = await create(patient('IdMismatch'));
    const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient/${created.body.id}`, {
      method: 'PUT',
      json: { ...created.body, id: 'other' },
    });
    expect(res.status).toBe(400);
    expect(res.body.issue[0]?.expression).toEqual(['id']);
  });

  it('update without an id in the body is 400', async () => {
    const created = await create(patient('NoBodyId'));
    const { id: _id, ...rest } = created.body;
    const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient/${created.body.id}`, { method: 'PUT', json: rest });
    expect(res.status).toBe(400);
  });

  it('update with a matching If-Match succeeds', async () => {
    const created = await create(patient('IfMatchOk'));
    const res = await fhirFetch<Patient>(`${s.base}/Patient/${created.body.id}`, {
      method: 'PUT',
      json: { ...created.body, active: true },
      headers: { 'If-Match': 'W/"1"' },
    });
    expect(res.status).toBe(200);
    expect(res.body.meta?.versionId).toBe('2');
  });

  it('update with a stale If-Match is 412 and writes nothing', async () => {
    const created = await create(patient('IfMatchStale'));
    const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient/${created.body.id}`, {
      method: 'PUT',
      json: { ...created.body, active: true },
      headers: { 'If-Match': 'W/"7"' },
    });
    expect(res.status).toBe(412);
    const after = await fhirFetch<Patient>(`${s.base}/Patient/${created.body.id}`);
    expect(after.body.meta?.versionId).toBe('1');
    expect(after.body.active).toBeUndefined();
  });

  it('vread returns each version; an unknown version is 404', async () => {
    const created = await create(patient('Vread'));
    const id = created.body.id as string;
    await fhirFetch(`${s.base}/Patient/${id}`, { method: 'PUT', json: { ...created.body, active: false } });
    const v1 = await fhirFetch<Patient>(`${s.base}/Patient/${id}/_history/1`);
    const v2 = await fhirFetch<Patient>(`${s.base}/Patient/${id}/_history/2`);
    expect(v1.status).toBe(200);
    expect(v1.body.active).toBeUndefined();
    expect(v1.headers.get('etag')).toBe('W/"1"');
    expect(v2.body.active).toBe(false);
    expect((await fhirFetch(`${s.base}/Patient/${id}/_history/9`)).status).toBe(404);
    expect((await fhirFetch(`${s.base}/Patient/${id}/_history/x`)).status).toBe(404);
  });

  it('delete answers 200; later reads are 410 Gone; history keeps the versions', async () => {
    const created = await create(patient('Delete'));
    const id = created.body.id as string;
    const del = await fhirFetch<OperationOutcome>(`${s.base}/Patient/${id}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    const read = await fhirFetch<OperationOutcome>(`${s.base}/Patient/${id}`);
    expect(read.status).toBe(410);
    expect(read.body.issue[0]?.code).toBe('deleted');
    expect((await fhirFetch(`${s.base}/Patient/${id}/_history/1`)).status).toBe(200);
    expect((await fhirFetch(`${s.base}/Patient/${id}/_history/2`)).status).toBe(410);
    const again = await fhirFetch(`${s.base}/Patient/${id}`, { method: 'DELETE' });
    expect(again.status).toBe(200);
  });

  it('deleted resources vanish from search', async () => {
    const created = await create(patient('Vanish'));
    await fhirFetch(`${s.base}/Patient/${created.body.id}`, { method: 'DELETE' });
    const res = await fhirFetch<{ total: number }>(`${s.base}/Patient?family:exact=Vanish`);
    expect(res.body.total).toBe(0);
  });

  it('delete of an unknown id is 404', async () => {
    expect((await fhirFetch(`${s.base}/Patient/never-was`, { method: 'DELETE' })).status).toBe(404);
  });

  it('update after delete re-creates the resource with the next version (201)', async () => {
    const created = await create(patient('Recreate'));
    const id = created.body.id as string;
    await fhirFetch(`${s.base}/Patient/${id}`, { method: 'DELETE' });
    const res = await fhirFetch<Patient>(`${s.base}/Patient/${id}`, { method: 'PUT', json: created.body });
    expect(res.status).toBe(201);
    expect(res.body.meta?.versionId).toBe('3');
  });

  it('conditional create with no match creates (201)', async () => {
    const res = await create(patient('CondNone', { identifier: [{ system: 'urn:test:mrn', value: 'cc-1' }] }), {
      'If-None-Exist': 'identifier=urn:test:mrn|cc-1',
    });
    expect(res.status).toBe(201);
  });

  it('conditional create with one match answers 200 with the existing resource and ignores the body', async () => {
    const first = await create(patient('CondOne', { identifier: [{ system: 'urn:test:mrn', value: 'cc-2' }] }));
    const res = await create(patient('Different', { identifier: [{ system: 'urn:test:mrn', value: 'cc-2' }] }), {
      'If-None-Exist': 'identifier=urn:test:mrn|cc-2',
    });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(first.body.id);
    expect(res.body.name?.[0]?.family).toBe('CondOne');
  });

  it('conditional create with several matches is 412', async () => {
    await create(patient('CondMany', { identifier: [{ system: 'urn:test:mrn', value: 'cc-3' }] }));
    await create(patient('CondMany', { identifier: [{ system: 'urn:test:mrn', value: 'cc-3' }] }));
    const res = await create(patient('CondMany'), { 'If-None-Exist': 'identifier=urn:test:mrn|cc-3' });
    expect(res.status).toBe(412);
  });

  it('concurrent conditional creates with the same criteria create exactly one resource', async () => {
    const p = patient('CondRace', { identifier: [{ system: 'urn:test:mrn', value: 'race-1' }] });
    const results = await Promise.all(Array.from({ length: 8 }, () => create(p, { 'If-None-Exist': 'identifier=urn:test:mrn|race-1' })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
  });

  it('conditional update with no match creates (201), with one match updates it (200)', async () => {
    const body = patient('CondUpd', { identifier: [{ system: 'urn:test:mrn', value: 'cu-1' }] });
    const first = await fhirFetch<Patient>(`${s.base}/Patient?identifier=urn:test:mrn|cu-1`, { method: 'PUT', json: body });
    expect(first.status).toBe(201);
    const second = await fhirFetch<Patient>(`${s.base}/Patient?identifier=urn:test:mrn|cu-1`, {
      method: 'PUT',
      json: { ...body, active: true },
    });
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.meta?.versionId).toBe('2');
  });

  it('conditional update with several matches is 412', async () => {
    const body = patient('CondUpdMany', { identifier: [{ system: 'urn:test:mrn', value: 'cu-2' }] });
    await create(body);
    await create(body);
    const res = await fhirFetch(`${s.base}/Patient?identifier=urn:test:mrn|cu-2`, { method: 'PUT', json: body });
    expect(res.status).toBe(412);
  });

  it('conditional update whose body id differs from the match is 400', async () => {
    const body = patient('CondUpdId', { identifier: [{ system: 'urn:test:mrn', value: 'cu-3' }] });
    await create(body);
    const res = await fhirFetch(`${s.base}/Patient?identifier=urn:test:mrn|cu-3`, {
      method: 'PUT',
      json: { ...body, id: 'some-other-id' },
    });
    expect(res.status).toBe(400);
  });

  it('conditional delete removes the single match and refuses several (412)', async () => {
    const one = await create(patient('CondDel', { identifier: [{ system: 'urn:test:mrn', value: 'cd-1' }] }));
    expect((await fhirFetch(`${s.base}/Patient?identifier=urn:test:mrn|cd-1`, { method: 'DELETE' })).status).toBe(200);
    expect((await fhirFetch(`${s.base}/Patient/${one.body.id}`)).status).toBe(410);
    const many = patient('CondDelMany', { identifier: [{ system: 'urn:test:mrn', value: 'cd-2' }] });
    await create(many);
    await create(many);
    expect((await fhirFetch(`${s.base}/Patient?identifier=urn:test:mrn|cd-2`, { method: 'DELETE' })).status).toBe(412);
  });

  it('Prefer: return=minimal answers without a body', async () => {
    const res = await create(patient('Minimal'), { Prefer: 'return=minimal' });
    expect(res.status).toBe(201);
    expect(res.text).toBe('');
    expect(res.headers.get('location')).toMatch(/\/Patient\/[^/]+\/_history\/1$/);
  });

  it('Prefer: return=OperationOutcome answers with an OperationOutcome', async () => {
    const res = await create(patient('Outcome'), { Prefer: 'return=OperationOutcome' });
    expect(res.status).toBe(201);
    expect((res.body as unknown as OperationOutcome).resourceType).toBe('OperationOutcome');
  });

  it('Prefer: return=representation answers with the resource', async () => {
    const res = await create(patient('Representation'), { Prefer: 'return=representation' });
    expect(res.body.resourceType).toBe('Patient');
  });

  it('PATCH is routed (test/conformance/patch.test.ts): an empty JSON Patch changes nothing and writes no version', async () => {
    const created = await create(patient('Patch'));
    const res = await fhirFetch<Patient>(`${s.base}/Patient/${created.body.id}`, {
      method: 'PATCH',
      body: '[]',
      headers: { 'content-type': 'application/json-patch+json' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(res.body).toEqual(created.body);
  });
});
