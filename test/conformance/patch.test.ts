/**
 * FHIR R4 patch (http.html#patch): JSON Patch (RFC 6902, application/json-patch+json) and
 * FHIRPath Patch (fhirpatch.html, a Parameters body). The patched resource takes the path of an
 * update: validation, identifier rules, scopes and the access policy, If-Match, the write audit;
 * concurrent patches never lose one another. Each test names the rule it proves and runs on
 * every database driver.
 */
import type { Bundle, CapabilityStatement, OperationOutcome, Parameters, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ID_SYSTEMS } from '../../src/core/systems.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

/** A patched resource, or the OperationOutcome of a refusal. */
type Answer = Patient & { issue?: OperationOutcome['issue'] };

const JSON_PATCH = { 'content-type': 'application/json-patch+json' };

const patient = (family: string): Patient => ({
  resourceType: 'Patient',
  name: [{ family, given: ['Taro'] }],
  gender: 'male',
  birthDate: '1980-04-01',
});

const op = (type: string, path: string, more: Parameters['parameter'] = []): NonNullable<Parameters['parameter']>[number] => ({
  name: 'operation',
  part: [{ name: 'type', valueCode: type }, { name: 'path', valueString: path }, ...(more ?? [])],
});
const fhirPathPatch = (...ops: NonNullable<Parameters['parameter']>): Parameters => ({ resourceType: 'Parameters', parameter: ops });

describe.each(testDrivers())('PATCH on %s', (driver) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(driver);
    useToken(s.token);
  });
  afterAll(async () => {
    await s.close();
  });

  const create = async (p: Patient): Promise<Patient & { id: string }> => {
    const res = await fhirFetch<Patient & { id: string }>(`${s.base}/Patient`, { method: 'POST', json: p });
    expect(res.status, res.text).toBe(201);
    return res.body;
  };
  const jsonPatch = (id: string, ops: unknown, headers: Record<string, string> = {}) =>
    fhirFetch<Answer>(`${s.base}/Patient/${id}`, {
      method: 'PATCH',
      body: JSON.stringify(ops),
      headers: { ...JSON_PATCH, ...headers },
    });
  const pathPatch = (id: string, body: Parameters, headers: Record<string, string> = {}) =>
    fhirFetch<Answer>(`${s.base}/Patient/${id}`, { method: 'PATCH', json: body, headers });
  const read = async (id: string): Promise<Patient> => (await fhirFetch<Patient>(`${s.base}/Patient/${id}`)).body;
  const codeOf = (o: { issue?: OperationOutcome['issue'] }): string | undefined => o.issue?.[0]?.details?.coding?.[0]?.code;

  it('JSON Patch (RFC 6902) answers 200 with the next version, stored as an update', async () => {
    const p = await create(patient('JsonPatch'));
    const res = await jsonPatch(p.id, [
      { op: 'test', path: '/birthDate', value: '1980-04-01' },
      { op: 'replace', path: '/birthDate', value: '1981-05-02' },
      { op: 'add', path: '/name/0/given/-', value: 'Jiro' },
      { op: 'remove', path: '/gender' },
    ]);
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('etag')).toBe('W/"2"');
    expect(res.headers.get('location')).toBe(`${s.base}/Patient/${p.id}/_history/2`);
    expect(res.body).toMatchObject({ id: p.id, birthDate: '1981-05-02', name: [{ family: 'JsonPatch', given: ['Taro', 'Jiro'] }] });
    expect(res.body.gender).toBeUndefined();
    expect(await read(p.id)).toEqual(res.body);
    const v1 = await fhirFetch<Patient>(`${s.base}/Patient/${p.id}/_history/1`);
    expect(v1.body.birthDate).toBe('1980-04-01');
  });

  it('a patch keeps the precision of the decimals it does not touch (20.00 stays 20.00)', async () => {
    const obs = await fhirFetch<{ id: string }>(`${s.base}/Observation`, {
      method: 'POST',
      body: '{"resourceType":"Observation","status":"final","code":{"text":"BMI"},"valueQuantity":{"value":20.00,"unit":"kg/m2"}}',
      headers: { 'content-type': 'application/fhir+json' },
    });
    const json = await fhirFetch(`${s.base}/Observation/${obs.body.id}`, {
      method: 'PATCH',
      body: JSON.stringify([{ op: 'replace', path: '/status', value: 'amended' }]),
      headers: JSON_PATCH,
    });
    expect(json.status, json.text).toBe(200);
    const path = await fhirFetch(`${s.base}/Observation/${obs.body.id}`, {
      method: 'PATCH',
      json: fhirPathPatch(op('replace', 'Observation.status', [{ name: 'value', valueCode: 'corrected' }])),
    });
    expect(path.status, path.text).toBe(200);
    const back = await fhirFetch(`${s.base}/Observation/${obs.body.id}`);
    expect(back.text).toContain('"value":20.00');
    expect(back.text).toContain('"status":"corrected"');
  });

  it('a JSON Patch operation that cannot be applied is 422 naming its index, and nothing is written', async () => {
    const p = await create(patient('FailedTest'));
    const failedTest = await jsonPatch(p.id, [
      { op: 'replace', path: '/gender', value: 'female' },
      { op: 'test', path: '/birthDate', value: '1999-01-01' },
    ]);
    expect(failedTest.status, failedTest.text).toBe(422);
    expect(codeOf(failedTest.body)).toBe('patch-failed');
    expect(failedTest.body.issue?.[0]?.details?.text).toMatch(/operation 1 \(test \/birthDate\)/);
    expect(failedTest.text).not.toContain('1999-01-01');
    const missing = await jsonPatch(p.id, [{ op: 'remove', path: '/deceasedBoolean' }]);
    expect(missing.status).toBe(422);
    expect(missing.body.issue?.[0]?.expression).toEqual(['Patch[0]']);
    const stored = await read(p.id);
    expect(stored.meta?.versionId).toBe('1');
    expect(stored.gender).toBe('male');
  });

  it('a malformed JSON Patch document is 400 naming the operation', async () => {
    const p = await create(patient('Malformed'));
    const notArray = await jsonPatch(p.id, { op: 'remove', path: '/gender' });
    expect(notArray.status).toBe(400);
    expect(codeOf(notArray.body)).toBe('invalid-patch');
    const badOp = await jsonPatch(p.id, [
      { op: 'remove', path: '/gender' },
      { op: 'frobnicate', path: '/gender' },
    ]);
    expect(badOp.status).toBe(400);
    expect(badOp.body.issue?.[0]?.details?.text).toMatch(/operation 1/);
    const noValue = await jsonPatch(p.id, [{ op: 'add', path: '/gender' }]);
    expect(noValue.status).toBe(400);
    const badPointer = await jsonPatch(p.id, [{ op: 'remove', path: 'gender' }]);
    expect(badPointer.status).toBe(400);
    const proto = await jsonPatch(p.id, [{ op: 'add', path: '/__proto__/polluted', value: true }]);
    expect(proto.status).toBe(400);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect((await read(p.id)).meta?.versionId).toBe('1');
  });

  it('a patch that changes the id or the resourceType is 400', async () => {
    const p = await create(patient('Identity'));
    const id = await jsonPatch(p.id, [{ op: 'replace', path: '/id', value: 'another' }]);
    expect(id.status, id.text).toBe(400);
    expect(id.body.issue?.[0]?.expression).toEqual(['id']);
    const noId = await jsonPatch(p.id, [{ op: 'remove', path: '/id' }]);
    expect(noId.status).toBe(400);
    const type = await jsonPatch(p.id, [{ op: 'replace', path: '/resourceType', value: 'Practitioner' }]);
    expect(type.status).toBe(400);
    expect(type.body.issue?.[0]?.expression).toEqual(['resourceType']);
    const viaPath = await pathPatch(p.id, fhirPathPatch(op('replace', 'Patient.id', [{ name: 'value', valueId: 'other' }])));
    expect(viaPath.status).toBe(400);
    expect((await read(p.id)).meta?.versionId).toBe('1');
  });

  it('the patched resource is validated like an update: an invalid result is 400, a bad identifier too', async () => {
    const p = await create(patient('Validated'));
    const bad = await jsonPatch(p.id, [{ op: 'replace', path: '/gender', value: 'sometimes' }]);
    expect(bad.status, bad.text).toBe(400);
    const org = await fhirFetch<{ id: string }>(`${s.base}/Organization`, {
      method: 'POST',
      json: { resourceType: 'Organization', name: '保険者' },
    });
    const wrongDigit = await fhirFetch<OperationOutcome>(`${s.base}/Organization/${org.body.id}`, {
      method: 'PATCH',
      body: JSON.stringify([{ op: 'add', path: '/identifier', value: [{ system: ID_SYSTEMS.insurerNumber, value: '06138092' }] }]),
      headers: JSON_PATCH,
    });
    const put = await fhirFetch<OperationOutcome>(`${s.base}/Organization/${org.body.id}`, {
      method: 'PUT',
      json: {
        resourceType: 'Organization',
        id: org.body.id,
        name: '保険者',
        identifier: [{ system: ID_SYSTEMS.insurerNumber, value: '06138092' }],
      },
    });
    expect(put.status).toBeGreaterThanOrEqual(400);
    expect(wrongDigit.status).toBe(put.status);
    expect(wrongDigit.body.issue?.[0]?.details?.text).toBe(put.body.issue?.[0]?.details?.text);
  });

  it('If-Match on PATCH: a stale version is 412, the current one applies', async () => {
    const p = await create(patient('IfMatch'));
    const stale = await jsonPatch(p.id, [{ op: 'replace', path: '/gender', value: 'female' }], { 'if-match': 'W/"7"' });
    expect(stale.status).toBe(412);
    const ok = await jsonPatch(p.id, [{ op: 'replace', path: '/gender', value: 'female' }], { 'if-match': 'W/"1"' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('W/"2"');
  });

  it('concurrent patches never lose an update: each applies to the version the one before it wrote', async () => {
    const p = await create(patient('Concurrent'));
    const names = ['A', 'B', 'C', 'D', 'E', 'F'];
    const results = await Promise.all(names.map((n) => jsonPatch(p.id, [{ op: 'add', path: '/name/0/given/-', value: n }])));
    expect(results.map((r) => r.status)).toEqual(names.map(() => 200));
    const stored = await read(p.id);
    expect(stored.meta?.versionId).toBe(String(names.length + 1));
    expect([...(stored.name?.[0]?.given ?? [])].sort()).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'Taro']);
    expect(new Set(results.map((r) => r.headers.get('etag'))).size).toBe(names.length);
  });

  it('FHIRPath Patch: add, insert, replace, move and delete at FHIRPath locations', async () => {
    const p = await create({
      ...patient('PathPatch'),
      identifier: [
        { system: 'urn:example:a', value: '1' },
        { system: 'urn:example:b', value: '2' },
      ],
    });
    const res = await pathPatch(
      p.id,
      fhirPathPatch(
        op('add', 'Patient', [
          { name: 'name', valueString: 'telecom' },
          { name: 'value', valueContactPoint: { system: 'phone', value: '0312345678' } },
        ]),
        op('add', 'Patient', [
          { name: 'name', valueString: 'deceased' },
          { name: 'value', valueBoolean: false },
        ]),
        op('add', 'Patient', [
          { name: 'name', valueString: 'contact' },
          {
            name: 'value',
            part: [
              { name: 'name', valueHumanName: { family: 'Contact' } },
              { name: 'telecom', valueContactPoint: { system: 'phone', value: '0398765432' } },
            ],
          },
        ]),
        op('insert', 'Patient.name.given', [
          { name: 'value', valueString: 'First' },
          { name: 'index', valueInteger: 0 },
        ]),
        op('replace', 'Patient.birthDate', [{ name: 'value', valueDate: '1979-12-31' }]),
        op('replace', "Patient.identifier.where(system='urn:example:b').value", [{ name: 'value', valueString: '3' }]),
        op('move', 'Patient.identifier', [
          { name: 'source', valueInteger: 1 },
          { name: 'destination', valueInteger: 0 },
        ]),
        op('delete', 'Patient.gender'),
        op('delete', 'Patient.multipleBirth'), // not present: nothing to delete, not an error
      ),
    );
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      telecom: [{ system: 'phone', value: '0312345678' }],
      deceasedBoolean: false,
      contact: [{ name: { family: 'Contact' }, telecom: [{ system: 'phone', value: '0398765432' }] }],
      name: [{ family: 'PathPatch', given: ['First', 'Taro'] }],
      birthDate: '1979-12-31',
      identifier: [
        { system: 'urn:example:b', value: '3' },
        { system: 'urn:example:a', value: '1' },
      ],
    });
    expect(res.body.gender).toBeUndefined();
    expect(res.headers.get('etag')).toBe('W/"2"');
  });

  it('a FHIRPath Patch that cannot be applied is 422 and a malformed one 400, naming the operation', async () => {
    const p = await create(patient('PathFail'));
    const nothing = await pathPatch(
      p.id,
      fhirPathPatch(
        op('replace', 'Patient.gender', [{ name: 'value', valueCode: 'female' }]),
        op('replace', 'Patient.maritalStatus', [{ name: 'value', valueCodeableConcept: { text: 'M' } }]),
      ),
    );
    expect(nothing.status, nothing.text).toBe(422);
    expect(nothing.body.issue?.[0]?.expression).toEqual(['Parameters.parameter[1]']);
    const twice = await pathPatch(
      p.id,
      fhirPathPatch(
        op('add', 'Patient', [
          { name: 'name', valueString: 'birthDate' },
          { name: 'value', valueDate: '1970-01-01' },
        ]),
      ),
    );
    expect(twice.status).toBe(422);
    const outOfRange = await pathPatch(
      p.id,
      fhirPathPatch(
        op('insert', 'Patient.name', [
          { name: 'value', valueHumanName: { family: 'X' } },
          { name: 'index', valueInteger: 5 },
        ]),
      ),
    );
    expect(outOfRange.status).toBe(422);
    const badType = await pathPatch(p.id, fhirPathPatch(op('upsert', 'Patient.gender')));
    expect(badType.status).toBe(400);
    expect(codeOf(badType.body)).toBe('invalid-patch');
    expect(badType.body.issue?.[0]?.expression).toEqual(['Parameters.parameter[0]']);
    const badPath = await pathPatch(p.id, fhirPathPatch(op('delete', 'Patient.name.(')));
    expect(badPath.status).toBe(400);
    const resolve = await pathPatch(p.id, fhirPathPatch(op('delete', 'Patient.managingOrganization.resolve().name')));
    expect(resolve.status).toBe(400);
    expect((await read(p.id)).meta?.versionId).toBe('1');
  });

  it('PATCH is a write: it needs scope u, and the access policy refuses what PUT refuses', async () => {
    const p = await create(patient('Scopes'));
    const readOnly = await s.tokenFor('system/Patient.rs', 'read-only');
    const res = await jsonPatch(p.id, [{ op: 'replace', path: '/gender', value: 'female' }], { authorization: `Bearer ${readOnly}` });
    expect(res.status).toBe(403);
    // A medical institution may never write the registry Patient (rule medical-institution.Patient.write = none).
    const hospital = await s.tokenFor('system/*.cruds', 'hospital', { kind: 'medical-institution', code: '1311111111' });
    const asHospital = { authorization: `Bearer ${hospital}` };
    const patched = await jsonPatch(p.id, [{ op: 'replace', path: '/gender', value: 'female' }], asHospital);
    const put = await fhirFetch(`${s.base}/Patient/${p.id}`, { method: 'PUT', json: { ...p, gender: 'female' }, headers: asHospital });
    expect(patched.status).toBe(403);
    expect(put.status).toBe(403);
    expect(patched.text).toMatch(/Access policy/);
    // An Observation of a person outside the hospital's reach is not found, for PATCH as for PUT.
    const obs = await fhirFetch<{ id: string }>(`${s.base}/Observation`, {
      method: 'POST',
      json: { resourceType: 'Observation', status: 'final', code: { text: 'BMI' }, subject: { reference: `Patient/${p.id}` } },
    });
    const hidden = await fhirFetch(`${s.base}/Observation/${obs.body.id}`, {
      method: 'PATCH',
      body: JSON.stringify([{ op: 'replace', path: '/status', value: 'amended' }]),
      headers: { ...JSON_PATCH, ...asHospital },
    });
    expect(hidden.status).toBe(404);
    expect((await read(p.id)).meta?.versionId).toBe('1');
  });

  it('a patch of a Patient-compartment resource is audited in its own transaction, like an update', async () => {
    const p = await create(patient('Audited'));
    const res = await jsonPatch(p.id, [{ op: 'replace', path: '/gender', value: 'female' }]);
    expect(res.status).toBe(200);
    const { rows } = await s.testDb.db.query<{ action: string; patient_id: string }>(
      `SELECT action, patient_id FROM audit.event WHERE entity_ref = $1`,
      [`Patient/${p.id}/_history/2`],
    );
    expect(rows).toEqual([{ action: 'U', patient_id: p.id }]);
  });

  it('PATCH of an unknown resource is 404, of a deleted one 410, of one medid publishes 403', async () => {
    const unknown = await jsonPatch('no-such-patient', [{ op: 'remove', path: '/gender' }]);
    expect(unknown.status).toBe(404);
    const p = await create(patient('Deleted'));
    await fhirFetch(`${s.base}/Patient/${p.id}`, { method: 'DELETE' });
    const gone = await jsonPatch(p.id, [{ op: 'remove', path: '/gender' }]);
    expect(gone.status).toBe(410);
    const published = await fhirFetch(`${s.base}/OperationDefinition/Patient-match`, {
      method: 'PATCH',
      body: JSON.stringify([{ op: 'replace', path: '/status', value: 'retired' }]),
      headers: JSON_PATCH,
    });
    expect(published.status).toBe(403);
  });

  it('conditional patch: PATCH [type]?criteria patches the one match; none is 404, several 412', async () => {
    const p = await create({ ...patient('Conditional'), identifier: [{ system: 'urn:example:cond', value: 'c1' }] });
    const res = await fhirFetch<Patient>(`${s.base}/Patient?identifier=urn:example:cond|c1`, {
      method: 'PATCH',
      body: JSON.stringify([{ op: 'replace', path: '/gender', value: 'female' }]),
      headers: JSON_PATCH,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: p.id, gender: 'female' });
    const none = await fhirFetch(`${s.base}/Patient?identifier=urn:example:cond|none`, {
      method: 'PATCH',
      body: JSON.stringify([{ op: 'remove', path: '/gender' }]),
      headers: JSON_PATCH,
    });
    expect(none.status).toBe(404);
    await create({ ...patient('Conditional2'), identifier: [{ system: 'urn:example:cond', value: 'c1' }] });
    const many = await fhirFetch(`${s.base}/Patient?identifier=urn:example:cond|c1`, {
      method: 'PATCH',
      body: JSON.stringify([{ op: 'remove', path: '/gender' }]),
      headers: JSON_PATCH,
    });
    expect(many.status).toBe(412);
  });

  it('PATCH entries in a transaction Bundle: a JSON Patch in a Binary, a FHIRPath Patch as Parameters', async () => {
    const p = await create(patient('InBundle'));
    const patchText = JSON.stringify([{ op: 'replace', path: '/gender', value: 'female' }]);
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(patchText).toString('base64') },
          request: { method: 'PATCH', url: `Patient/${p.id}` },
        },
        {
          resource: fhirPathPatch(op('replace', 'Patient.birthDate', [{ name: 'value', valueDate: '1990-01-01' }])),
          request: { method: 'PATCH', url: `Patient/${p.id}` },
        },
      ],
    };
    const res = await fhirFetch<Bundle>(s.base, { method: 'POST', json: bundle });
    expect(res.status, res.text).toBe(200);
    expect(res.body.entry?.map((e) => e.response?.status)).toEqual(['200 OK', '200 OK']);
    expect(await read(p.id)).toMatchObject({ gender: 'female', birthDate: '1990-01-01', meta: { versionId: '3' } });
  });

  it('the CapabilityStatement advertises patch, both patch formats and _has', async () => {
    const cs = (await fhirFetch<CapabilityStatement>(`${s.base}/metadata`)).body;
    const patientRes = cs.rest?.[0]?.resource?.find((r) => r.type === 'Patient');
    expect(patientRes?.interaction?.map((i) => i.code)).toContain('patch');
    expect(cs.patchFormat).toEqual(['application/json-patch+json', 'application/fhir+json']);
    expect(cs.rest?.[0]?.searchParam?.map((p) => p.name)).toContain('_has');
  });
});
