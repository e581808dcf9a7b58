/**
 * Scopes enforced on every interaction (includes, chains, bundle entries, operations,
 * constraints) and the BALP AuditEvents left by reads, searches, writes and denials.
 */
import type { AuditEvent, Bundle, Observation, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

describe.each(testDrivers())('scopes and audit on %s', (driver) => {
  let s: TestServer;
  let patient: Patient & { id: string };
  let other: Patient & { id: string };
  let lab: Observation & { id: string };
  let vital: Observation & { id: string };
  const as = (token: string): { headers: Record<string, string> } => ({ headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    s = await startTestServer(driver);
    useToken(s.token);
    const post = async <T>(r: unknown): Promise<T> =>
      (await fhirFetch<T>(`${s.base}/${(r as { resourceType: string }).resourceType}`, { method: 'POST', json: r })).body;
    patient = await post({ resourceType: 'Patient', identifier: [{ system: 'urn:test:sa', value: 'p1' }], name: [{ family: 'Audit' }] });
    other = await post({ resourceType: 'Patient', identifier: [{ system: 'urn:test:sa', value: 'p2' }], name: [{ family: 'Audit' }] });
    const obs = (category: string): Observation => ({
      resourceType: 'Observation',
      status: 'final',
      code: { text: category },
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
      subject: { reference: `Patient/${patient.id}` },
    });
    lab = await post(obs('laboratory'));
    vital = await post(obs('vital-signs'));
  });
  afterAll(async () => {
    await s.close();
  });

  const audits = async (q: string): Promise<AuditEvent[]> => {
    const res = await fhirFetch<Bundle>(`${s.base}/AuditEvent?${q}&_count=200`);
    expect(res.status).toBe(200);
    return (res.body.entry ?? []).map((e) => e.resource as AuditEvent);
  };

  describe('scopes', () => {
    it('a system/Patient.rs client can read and search but cannot create (403 insufficient_scope)', async () => {
      const t = await s.tokenFor('system/Patient.rs', 'reader');
      expect((await fhirFetch(`${s.base}/Patient/${patient.id}`, as(t))).status).toBe(200);
      expect((await fhirFetch(`${s.base}/Patient?identifier=urn:test:sa|p1`, as(t))).status).toBe(200);
      const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient`, { method: 'POST', json: { resourceType: 'Patient' }, ...as(t) });
      expect(res.status).toBe(403);
      expect(res.headers.get('www-authenticate')).toContain('insufficient_scope');
      expect(res.body.issue[0]?.details?.text).toContain('system/Patient.c');
    });

    it('a system/Observation.rs client gets nothing of a Patient through _include, and cannot read one', async () => {
      const t = await s.tokenFor('system/Observation.rs', 'obs-only');
      const res = await fhirFetch<Bundle>(`${s.base}/Observation?subject=${patient.id}&_include=Observation:subject`, as(t));
      expect(res.status).toBe(200);
      expect(res.body.entry?.some((e) => e.resource?.resourceType === 'Patient')).toBe(false);
      const warning = res.body.entry?.find((e) => e.search?.mode === 'outcome')?.resource as OperationOutcome;
      expect(warning.issue[0]?.details?.text).toContain('withheld');
      expect((await fhirFetch(`${s.base}/Patient/${patient.id}`, as(t))).status).toBe(403);
      const rev = await fhirFetch<Bundle>(`${s.base}/Observation?_id=${lab.id}&_revinclude=Patient:link`, as(t));
      expect(rev.status).toBe(200);
    });

    it('a chained search needs search permission on the chained type', async () => {
      const t = await s.tokenFor('system/Observation.rs', 'obs-only');
      expect((await fhirFetch(`${s.base}/Observation?patient.identifier=urn:test:sa|p1`, as(t))).status).toBe(403);
      const both = await s.tokenFor('system/Observation.rs system/Patient.s', 'obs-pat');
      expect((await fhirFetch(`${s.base}/Observation?patient.identifier=urn:test:sa|p1`, as(both))).status).toBe(200);
    });

    it('every entry of a transaction is authorized; one refused entry undoes all', async () => {
      const t = await s.tokenFor('system/Patient.cruds', 'pat-writer');
      const res = await fhirFetch<OperationOutcome>(s.base, {
        method: 'POST',
        ...as(t),
        json: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              resource: { resourceType: 'Patient', identifier: [{ system: 'urn:test:sa', value: 'tx-refused' }] },
              request: { method: 'POST', url: 'Patient' },
            },
            {
              resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } },
              request: { method: 'POST', url: 'Observation' },
            },
          ],
        },
      });
      expect(res.status).toBe(403);
      expect((await fhirFetch<Bundle>(`${s.base}/Patient?identifier=urn:test:sa|tx-refused&_summary=count`)).body.total).toBe(0);
    });

    it('each entry of a batch is authorized on its own', async () => {
      const t = await s.tokenFor('system/Patient.rs', 'reader');
      const res = await fhirFetch<Bundle>(s.base, {
        method: 'POST',
        ...as(t),
        json: {
          resourceType: 'Bundle',
          type: 'batch',
          entry: [
            { request: { method: 'GET', url: `Patient/${patient.id}` } },
            { request: { method: 'GET', url: `Observation/${lab.id}` } },
          ],
        },
      });
      expect(res.body.entry?.map((e) => e.response?.status.slice(0, 3))).toEqual(['200', '403']);
    });

    it('update-as-create needs create permission as well as update', async () => {
      const t = await s.tokenFor('system/Patient.ru', 'updater');
      const fresh = await fhirFetch(`${s.base}/Patient/brand-new-${Date.now()}`, {
        method: 'PUT',
        json: { resourceType: 'Patient', id: `brand-new-${Date.now()}` },
        ...as(t),
      });
      expect([403, 400]).toContain(fresh.status);
      const id = `uac-scope-${Date.now()}`;
      expect((await fhirFetch(`${s.base}/Patient/${id}`, { method: 'PUT', json: { resourceType: 'Patient', id }, ...as(t) })).status).toBe(
        403,
      );
      expect(
        (await fhirFetch(`${s.base}/Patient/${patient.id}`, { method: 'PUT', json: { ...patient, active: true }, ...as(t) })).status,
      ).toBe(200);
    });

    it('system history needs a wildcard search scope; $validate needs read on the type', async () => {
      const t = await s.tokenFor('system/Patient.rs', 'reader');
      expect((await fhirFetch(`${s.base}/_history`, as(t))).status).toBe(403);
      expect((await fhirFetch(`${s.base}/Patient/$validate`, { method: 'POST', json: { resourceType: 'Patient' }, ...as(t) })).status).toBe(
        200,
      );
      expect(
        (
          await fhirFetch(`${s.base}/Observation/$validate`, {
            method: 'POST',
            json: { resourceType: 'Observation', status: 'final', code: {} },
            ...as(t),
          })
        ).status,
      ).toBe(403);
    });

    it('a constrained scope (?category=laboratory) limits search results and refuses other reads', async () => {
      const t = await s.tokenFor('system/Observation.rs?category=laboratory', 'lab-only');
      const res = await fhirFetch<Bundle>(`${s.base}/Observation?subject=${patient.id}`, as(t));
      expect(res.body.entry?.map((e) => e.resource?.id)).toEqual([lab.id]);
      expect((await fhirFetch(`${s.base}/Observation/${lab.id}`, as(t))).status).toBe(200);
      expect((await fhirFetch(`${s.base}/Observation/${vital.id}`, as(t))).status).toBe(403);
    });

    it('AuditEvents cannot be created, updated or deleted through the API', async () => {
      const [any] = await audits(`patient=${patient.id}`);
      expect(any).toBeDefined();
      expect((await fhirFetch(`${s.base}/AuditEvent`, { method: 'POST', json: { resourceType: 'AuditEvent' } })).status).toBe(405);
      expect((await fhirFetch(`${s.base}/AuditEvent/${any?.id}`, { method: 'PUT', json: any })).status).toBe(405);
      expect((await fhirFetch(`${s.base}/AuditEvent/${any?.id}`, { method: 'DELETE' })).status).toBe(405);
    });

    it('the audit table refuses UPDATE, DELETE and TRUNCATE even from SQL', async () => {
      await expect(s.testDb.db.query('UPDATE audit.event SET outcome = 0')).rejects.toThrow(/append-only/);
      await expect(s.testDb.db.query('DELETE FROM audit.event')).rejects.toThrow(/append-only/);
      await expect(s.testDb.db.query('TRUNCATE audit.event')).rejects.toThrow(/append-only/);
    });
  });

  describe('audit', () => {
    it('a read leaves one BALP PatientRead AuditEvent naming the client, organization, purpose and resource', async () => {
      const t = await s.tokenFor('system/Patient.rs', 'audited-reader');
      const res = await fhirFetch<Patient>(`${s.base}/Patient/${patient.id}`, {
        headers: { authorization: `Bearer ${t}`, 'x-request-id': 'read-audit-1' },
      });
      expect(res.status).toBe(200);
      const version = res.body.meta?.versionId as string;
      const events = await audits(`patient=${patient.id}&altid=audited-reader&subtype=read`);
      expect(events).toHaveLength(1);
      const e = events[0];
      expect(e.meta?.profile?.[0]).toBe('https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead');
      expect(e.type.code).toBe('rest');
      expect(e.subtype?.[0]).toMatchObject({ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' });
      expect(e.action).toBe('R');
      expect(e.outcome).toBe('0');
      const client = e.agent.find((a) => a.who?.identifier?.value === 'audited-reader');
      expect(client?.type?.coding?.[0]?.code).toBe('110152');
      const org = e.agent.find((a) => a.requestor);
      expect(org?.who?.identifier?.value).toBe('test');
      expect(org?.purposeOfUse?.[0]?.coding?.[0]?.code).toBe('HOPERAT');
      expect(e.entity?.map((x) => x.what?.reference)).toEqual(
        expect.arrayContaining([`Patient/${patient.id}`, `Patient/${patient.id}/_history/${version}`]),
      );
      expect(e.entity?.some((x) => x.what?.identifier?.value === 'read-audit-1')).toBe(true);
      expect(e.agent.some((a) => a.policy?.[0]?.startsWith('urn:uuid:'))).toBe(true);
    });

    it('the purpose of use comes from the token; purpose_of_use (parameter or header) may narrow it, never widen it', async () => {
      const t = await s.tokenFor('system/Patient.rs', 'purpose-reader', undefined, 'TREAT');
      await fhirFetch(`${s.base}/Patient/${patient.id}?purpose_of_use=ETREAT`, as(t));
      await fhirFetch(`${s.base}/Patient/${other.id}`, as(t));
      const e1 = await audits(`patient=${patient.id}&altid=purpose-reader`);
      const e2 = await audits(`patient=${other.id}&altid=purpose-reader`);
      expect(e1[0]?.purposeOfEvent?.[0]?.coding?.[0]?.code).toBe('ETREAT');
      expect(e2[0]?.purposeOfEvent?.[0]?.coding?.[0]?.code).toBe('TREAT');
      const wider = await fhirFetch(`${s.base}/Patient/${other.id}`, {
        headers: { authorization: `Bearer ${t}`, 'x-purpose-of-use': 'PUBHLTH' },
      });
      expect(wider.status).toBe(403);
      expect(wider.text).toMatch(/may only narrow/);
      expect((await fhirFetch(`${s.base}/Patient/${patient.id}?purpose_of_use=SNOOPING`, as(t))).status).toBe(400);
    });

    it('a search leaves one PatientQuery AuditEvent per patient returned, with the query', async () => {
      const t = await s.tokenFor('system/Patient.rs', 'searcher');
      const res = await fhirFetch<Bundle>(`${s.base}/Patient?family=Audit`, as(t));
      expect(res.body.entry).toHaveLength(2);
      const events = await audits('altid=searcher&subtype=search-type');
      expect(events.map((e) => e.entity?.find((x) => x.role?.code === '1')?.what?.reference).sort()).toEqual(
        [`Patient/${other.id}`, `Patient/${patient.id}`].sort(),
      );
      const q = events[0]?.entity?.find((x) => x.role?.code === '24')?.query as string;
      expect(Buffer.from(q, 'base64').toString()).toBe('family=Audit');
      expect(events[0]?.action).toBe('E');
    });

    it('a search with no results still records the query', async () => {
      const t = await s.tokenFor('system/Patient.rs', 'empty-searcher');
      await fhirFetch(`${s.base}/Patient?identifier=urn:test:sa|nobody`, as(t));
      const events = await audits('altid=empty-searcher');
      expect(events).toHaveLength(1);
      expect(events[0]?.entity?.some((x) => x.role?.code === '1')).toBe(false);
    });

    it('resources added by _include are audited for their patients', async () => {
      const t = await s.tokenFor('system/Observation.rs system/Patient.rs', 'includer');
      await fhirFetch(`${s.base}/Observation?_id=${lab.id}&_include=Observation:subject`, as(t));
      expect((await audits(`altid=includer&patient=${patient.id}`)).length).toBe(1);
    });

    it('a denied request leaves an AuditEvent with outcome 4 and the reason', async () => {
      const t = await s.tokenFor('system/Observation.rs', 'denied');
      await fhirFetch(`${s.base}/Patient/${patient.id}`, as(t));
      const events = await audits(`altid=denied&outcome=4`);
      expect(events).toHaveLength(1);
      expect(events[0]?.outcomeDesc).toContain('403');
      expect(events[0]?.entity?.some((x) => x.what?.reference === `Patient/${patient.id}`)).toBe(true);
    });

    it('writes leave Create, Update and Delete AuditEvents, in the same transaction as the write', async () => {
      const t = await s.tokenFor('system/Patient.cruds', 'writer');
      const c = await fhirFetch<Patient>(`${s.base}/Patient`, {
        method: 'POST',
        json: { resourceType: 'Patient', name: [{ family: 'Written' }] },
        ...as(t),
      });
      await fhirFetch(`${s.base}/Patient/${c.body.id}`, { method: 'PUT', json: { ...c.body, active: true }, ...as(t) });
      await fhirFetch(`${s.base}/Patient/${c.body.id}`, { method: 'DELETE', ...as(t) });
      const events = await audits(`altid=writer&patient=${c.body.id}`);
      expect(events.map((e) => e.action).sort()).toEqual(['C', 'D', 'U']);
      expect(events.find((e) => e.action === 'U')?.entity?.some((x) => x.what?.reference === `Patient/${c.body.id}/_history/2`)).toBe(true);
    });

    it('a rolled-back transaction leaves no AuditEvent for its writes', async () => {
      const t = await s.tokenFor('system/Patient.cruds', 'tx-writer');
      await fhirFetch(s.base, {
        method: 'POST',
        ...as(t),
        json: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            { resource: { resourceType: 'Patient', name: [{ family: 'Rolled' }] }, request: { method: 'POST', url: 'Patient' } },
            { resource: { resourceType: 'Patient', birthDate: 'bad' }, request: { method: 'POST', url: 'Patient' } },
          ],
        },
      });
      expect(await audits('altid=tx-writer&action=C')).toHaveLength(0);
    });

    it('reads outside any patient compartment are not audited', async () => {
      const t = await s.tokenFor('system/Organization.cruds', 'org-reader');
      const o = await fhirFetch<{ id: string }>(`${s.base}/Organization`, {
        method: 'POST',
        json: { resourceType: 'Organization', name: 'x' },
        ...as(t),
      });
      await fhirFetch(`${s.base}/Organization/${o.body.id}`, as(t));
      expect(await audits('altid=org-reader')).toHaveLength(0);
    });

    it('when the audit cannot be written, the data is not disclosed', async () => {
      const t = await startTestServer(driver);
      const p = await fhirFetch<Patient>(`${t.base}/Patient`, {
        method: 'POST',
        json: { resourceType: 'Patient', name: [{ family: 'Secret' }] },
        headers: { authorization: `Bearer ${t.token}` },
      });
      await t.testDb.db.exec('ALTER TABLE audit.event RENAME TO event_gone');
      const res = await fhirFetch<OperationOutcome>(`${t.base}/Patient/${p.body.id}`, { headers: { authorization: `Bearer ${t.token}` } });
      expect(res.status).toBe(500);
      expect(res.text).not.toContain('Secret');
      expect(res.body.issue[0]?.details?.coding?.[0]?.code).toBe('audit-failed');
      const write = await fhirFetch(`${t.base}/Patient`, {
        method: 'POST',
        json: { resourceType: 'Patient', name: [{ family: 'Unaudited' }] },
        headers: { authorization: `Bearer ${t.token}` },
      });
      expect(write.status).toBe(500);
      await t.testDb.db.exec('ALTER TABLE audit.event_gone RENAME TO event');
      const count = await fhirFetch<Bundle>(`${t.base}/Patient?family=Unaudited&_summary=count`, {
        headers: { authorization: `Bearer ${t.token}` },
      });
      expect(count.body.total).toBe(0);
      await t.close();
    });
  });
});
