/**
 * Validation (400 vs 422, expressions, nothing written), $validate, content negotiation
 * (406/415, _format, _pretty), the CapabilityStatement and the health endpoints.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, CapabilityStatement, OperationOutcome, Patient, StructureDefinition } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDefinitions } from '../../src/fhir/definitions/index.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { PROFILES_DIR, startTestServer, testDefinitions } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const PROFILE_URL = 'http://medid.example.org/fhir/StructureDefinition/test-patient-with-birthdate';

/** A profile built from the base Patient: birthDate and identifier become required. */
async function writeTestProfiles(): Promise<string> {
  const base = (await testDefinitions()).structure('Patient') as StructureDefinition;
  const sd: StructureDefinition = structuredClone(base);
  sd.url = PROFILE_URL;
  sd.id = 'test-patient-with-birthdate';
  sd.name = 'TestPatientWithBirthdate';
  sd.derivation = 'constraint';
  sd.baseDefinition = 'http://hl7.org/fhir/StructureDefinition/Patient';
  for (const el of sd.snapshot?.element ?? []) {
    if (el.path === 'Patient.birthDate' || el.path === 'Patient.identifier') el.min = 1;
    el.definition ??= el.path; // the slim base drops prose; sdf-3 wants a definition
    if (el.isModifier) el.isModifierReason ??= 'as in the base resource'; // and eld-18 a modifier's reason
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-profiles-'));
  fs.mkdirSync(path.join(dir, 'StructureDefinition'));
  fs.writeFileSync(path.join(dir, 'StructureDefinition', 'test-patient.json'), JSON.stringify(sd));
  fs.cpSync(path.join(PROFILES_DIR, 'OperationDefinition'), path.join(dir, 'OperationDefinition'), { recursive: true });
  return dir;
}

const auth = (t: TestServer): Record<string, string> => ({ authorization: `Bearer ${t.token}` });

describe.each(testDrivers())('validation and content on %s', (driver) => {
  let s: TestServer;
  let profiled: TestServer;
  beforeAll(async () => {
    s = await startTestServer(driver);
    useToken(s.token);
    profiled = await startTestServer(driver, { defs: await loadDefinitions(await writeTestProfiles()), keys: s.keys });
  });
  afterAll(async () => {
    await s.close();
    await profiled.close();
  });

  const countPatients = async (q: string): Promise<number> =>
    (await fhirFetch<Bundle>(`${s.base}/Patient?${q}&_summary=count`)).body.total as number;

  describe('validation on write', () => {
    it('malformed JSON is 400 and writes nothing', async () => {
      const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient`, {
        method: 'POST',
        body: '{"resourceType": "Patient",',
        headers: { 'content-type': 'application/fhir+json' },
      });
      expect(res.status).toBe(400);
      expect(res.body.issue[0]?.code).toBe('structure');
    });

    it('a body that is not a resource is 400', async () => {
      for (const body of ['[]', '"x"', '{}', '{"resourceType":"Nonsense"}']) {
        const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/fhir+json' },
        });
        expect(res.status, body).toBe(400);
      }
    });

    it('a resourceType that differs from the URL is 400 naming resourceType', async () => {
      const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient`, {
        method: 'POST',
        json: { resourceType: 'Observation', status: 'final', code: {} },
      });
      expect(res.status).toBe(400);
      expect(res.body.issue[0]?.expression).toEqual(['resourceType']);
    });

    it('a base-specification violation is 400 naming the element, and nothing is written', async () => {
      const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient`, {
        method: 'POST',
        json: { resourceType: 'Patient', birthDate: '1980-02-30', identifier: [{ system: 'urn:test:v', value: 'bad-date' }] },
      });
      expect(res.status).toBe(400);
      expect(res.body.issue[0]?.expression).toEqual(['Patient.birthDate']);
      expect(await countPatients('identifier=urn:test:v|bad-date')).toBe(0);
    });

    it('an unknown element is 400 naming it', async () => {
      const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient`, {
        method: 'POST',
        json: { resourceType: 'Patient', shoeSize: 42 },
      });
      expect(res.status).toBe(400);
      expect(res.body.issue[0]?.expression).toEqual(['Patient.shoeSize']);
    });

    it('an invariant violation is 400 naming the element and the constraint', async () => {
      const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient`, {
        method: 'POST',
        json: { resourceType: 'Patient', contact: [{ gender: 'male' }] },
      });
      expect(res.status).toBe(400);
      expect(res.body.issue.some((i) => i.details?.text?.includes('pat-1'))).toBe(true);
    });

    it('a resource breaking a claimed medid profile is 422 naming the element; nothing is written', async () => {
      const res = await fhirFetch<OperationOutcome>(`${profiled.base}/Patient`, {
        method: 'POST',
        json: { resourceType: 'Patient', meta: { profile: [PROFILE_URL] }, identifier: [{ system: 'urn:test:v', value: 'no-bd' }] },
        headers: auth(profiled),
      });
      expect(res.status).toBe(422);
      expect(res.body.issue.map((i) => i.expression?.[0])).toContain('Patient.birthDate');
      expect(
        (await fhirFetch<Bundle>(`${profiled.base}/Patient?identifier=urn:test:v|no-bd&_summary=count`, { headers: auth(profiled) })).body
          .total,
      ).toBe(0);
    });

    it('a resource meeting a claimed profile is accepted', async () => {
      const res = await fhirFetch<Patient>(`${profiled.base}/Patient`, {
        method: 'POST',
        json: { resourceType: 'Patient', meta: { profile: [PROFILE_URL] }, birthDate: '1990-01-01', identifier: [{ value: 'x' }] },
        headers: auth(profiled),
      });
      expect(res.status).toBe(201);
    });

    it('a profile the server does not know is not enforced', async () => {
      const res = await fhirFetch<Patient>(`${s.base}/Patient`, {
        method: 'POST',
        json: { resourceType: 'Patient', meta: { profile: ['http://example.org/unknown'] } },
      });
      expect(res.status).toBe(201);
    });
  });

  describe('$validate', () => {
    it('type-level $validate reports every issue with its expression and writes nothing', async () => {
      const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient/$validate`, {
        method: 'POST',
        json: {
          resourceType: 'Parameters',
          parameter: [
            {
              name: 'resource',
              resource: {
                resourceType: 'Patient',
                birthDate: '1980-13-01',
                active: 'yes',
                identifier: [{ system: 'urn:test:v', value: 'validate-only' }],
              },
            },
          ],
        },
      });
      expect(res.status).toBe(200);
      const errs = res.body.issue.filter((i) => i.severity === 'error');
      expect(errs.map((i) => i.expression?.[0]).sort()).toEqual(['Patient.active', 'Patient.birthDate']);
      expect(await countPatients('identifier=urn:test:v|validate-only')).toBe(0);
    });

    it('accepts the resource posted directly as the body', async () => {
      const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient/$validate`, {
        method: 'POST',
        json: { resourceType: 'Patient', gender: 'male' },
      });
      expect(res.status).toBe(200);
      expect(res.body.issue.every((i) => i.severity !== 'error')).toBe(true);
    });

    it('validates against a nominated profile, and an unknown one is an error', async () => {
      const res = await fhirFetch<OperationOutcome>(`${profiled.base}/Patient/$validate`, {
        method: 'POST',
        headers: auth(profiled),
        json: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'resource', resource: { resourceType: 'Patient' } },
            { name: 'profile', valueUri: PROFILE_URL },
          ],
        },
      });
      expect(res.body.issue.filter((i) => i.severity === 'error').length).toBeGreaterThan(0);
      const unknown = await fhirFetch<OperationOutcome>(`${s.base}/Patient/$validate`, {
        method: 'POST',
        json: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'resource', resource: { resourceType: 'Patient' } },
            { name: 'profile', valueUri: 'http://example.org/nope' },
          ],
        },
      });
      expect(unknown.body.issue.some((i) => i.severity === 'error' && i.expression?.[0] === 'meta.profile')).toBe(true);
    });

    it('instance-level $validate with mode=update checks the id', async () => {
      const c = await fhirFetch<Patient>(`${s.base}/Patient`, { method: 'POST', json: { resourceType: 'Patient' } });
      const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient/${c.body.id}/$validate`, {
        method: 'POST',
        json: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'resource', resource: { resourceType: 'Patient', id: 'other' } },
            { name: 'mode', valueCode: 'update' },
          ],
        },
      });
      expect(res.body.issue.some((i) => i.severity === 'error' && i.expression?.[0] === 'id')).toBe(true);
    });

    it('a Parameters body with a wrongly typed parameter is 400', async () => {
      const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient/$validate`, {
        method: 'POST',
        json: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'mode', valueString: 'create' },
            { name: 'resource', resource: { resourceType: 'Patient' } },
          ],
        },
      });
      expect(res.status).toBe(400);
    });

    it('$validate on a type that differs from the resource is 400', async () => {
      const res = await fhirFetch(`${s.base}/Observation/$validate`, { method: 'POST', json: { resourceType: 'Patient' } });
      expect(res.status).toBe(400);
    });
  });

  describe('content negotiation', () => {
    it('_format=turtle is 406 (JSON and XML are served)', async () => {
      expect((await fhirFetch(`${s.base}/metadata?_format=turtle`)).status).toBe(406);
    });
    it('Accept: text/turtle alone is 406', async () => {
      expect((await fhirFetch(`${s.base}/metadata`, { headers: { accept: 'text/turtle' } })).status).toBe(406);
    });
    it('Accept: application/json answers application/json', async () => {
      const res = await fhirFetch(`${s.base}/metadata`, { headers: { accept: 'application/json' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    });
    it('_format=json overrides an unsatisfiable Accept', async () => {
      const res = await fhirFetch(`${s.base}/metadata?_format=json`, { headers: { accept: 'text/turtle' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    });
    it('a browser Accept with */* is served JSON', async () => {
      expect((await fhirFetch(`${s.base}/metadata`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } })).status).toBe(
        200,
      );
    });
    it('a request body that is neither JSON nor XML is 415', async () => {
      const res = await fhirFetch(`${s.base}/Patient`, {
        method: 'POST',
        body: 'Patient',
        headers: { 'content-type': 'text/plain' },
      });
      expect(res.status).toBe(415);
    });
    it('application/json request bodies are accepted', async () => {
      expect(
        (
          await fhirFetch(`${s.base}/Patient`, {
            method: 'POST',
            body: '{"resourceType":"Patient"}',
            headers: { 'content-type': 'application/json' },
          })
        ).status,
      ).toBe(201);
    });
    it('_pretty=true indents the JSON', async () => {
      const res = await fhirFetch(`${s.base}/metadata?_pretty=true`);
      expect(res.text.startsWith('{\n  "resourceType"')).toBe(true);
    });
    it('an oversized body is 413', async () => {
      const small = await startTestServer(driver, { config: { maxBodyBytes: 2048 }, keys: s.keys });
      const res = await fhirFetch(`${small.base}/Patient`, {
        method: 'POST',
        headers: auth(small),
        json: {
          resourceType: 'Patient',
          text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(4000)}</div>` },
        },
      });
      expect(res.status).toBe(413);
      await small.close();
    });
    it('errors carry X-Request-Id and never a stack trace', async () => {
      const res = await fhirFetch(`${s.base}/Patient`, {
        method: 'POST',
        body: '{',
        headers: { 'content-type': 'application/fhir+json', 'x-request-id': 'req-abc-123' },
      });
      expect(res.headers.get('x-request-id')).toBe('req-abc-123');
      expect(res.text).not.toMatch(/at .*\.ts:\d+/);
    });
  });

  describe('metadata and health', () => {
    it('GET /metadata is a CapabilityStatement generated from the server, with CORS open', async () => {
      const res = await fhirFetch<CapabilityStatement>(`${s.base}/metadata`);
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      const cs = res.body;
      expect(cs.fhirVersion).toBe('4.0.1');
      expect(cs.format).toContain('json');
      const rest = cs.rest?.[0];
      expect(rest?.mode).toBe('server');
      expect(rest?.interaction?.map((i) => i.code)).toEqual(expect.arrayContaining(['transaction', 'batch', 'history-system']));
      expect(rest?.resource?.length).toBeGreaterThan(140);
      const patient = rest?.resource?.find((r) => r.type === 'Patient');
      expect(patient?.interaction?.map((i) => i.code)).toEqual(
        expect.arrayContaining(['read', 'vread', 'update', 'delete', 'create', 'search-type', 'history-instance', 'history-type']),
      );
      expect(patient?.versioning).toBe('versioned-update');
      expect(patient?.conditionalCreate).toBe(true);
      expect(patient?.conditionalUpdate).toBe(true);
      expect(patient?.conditionalDelete).toBe('single');
      expect(patient?.searchParam?.map((p) => p.name)).toEqual(
        expect.arrayContaining(['identifier', 'family', 'birthdate', '_id', '_lastUpdated']),
      );
      expect(patient?.searchRevInclude).toContain('Observation:subject');
      expect(patient?.operation?.map((o) => o.name)).toContain('validate');
    });
    it('the CapabilityStatement lists only parameters the server can search', async () => {
      const cs = (await fhirFetch<CapabilityStatement>(`${s.base}/metadata`)).body;
      const obs = cs.rest?.[0]?.resource?.find((r) => r.type === 'Observation');
      expect(obs?.searchParam?.some((p) => p.type === 'composite')).toBe(false);
    });
    it('/healthz answers 200 while the process is up', async () => {
      expect((await fhirFetch(`${s.root}/healthz`)).status).toBe(200);
    });
    it('/readyz answers 200 when the database answers, 503 when it does not', async () => {
      expect((await fhirFetch(`${s.root}/readyz`)).status).toBe(200);
      const t = await startTestServer(driver);
      await t.testDb.db.close();
      expect((await fhirFetch(`${t.root}/readyz`)).status).toBe(503);
      await t.close(); // still drops its database (PostgreSQL)
    });
  });
});
