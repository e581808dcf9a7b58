/**
 * medid's published conformance resources on the API: NamingSystems, profiles and operation
 * definitions are served and searchable, read-only, reflected in the CapabilityStatement; the
 * JP Core Coverage search parameters work; a claimed medid profile is enforced on write.
 */
import type { Bundle, CapabilityStatement, Coverage, NamingSystem, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ID_SYSTEMS } from '../../src/core/systems.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const PATIENT = 'http://medid.example.org/fhir/StructureDefinition/medid-patient';
const COVERAGE = 'http://medid.example.org/fhir/StructureDefinition/medid-coverage';

describe.each(testDrivers())('published conformance resources on %s', (driver) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(driver);
    useToken(s.token);
  });
  afterAll(async () => {
    await s.close();
  });

  it('serves a NamingSystem for every identifier system, searchable', async () => {
    const res = await fhirFetch<Bundle>(`${s.base}/NamingSystem?kind=identifier&_count=100`);
    const uris = (res.body.entry ?? []).map((e) => (e.resource as NamingSystem).uniqueId[0]?.value);
    for (const sys of [
      ID_SYSTEMS.insuredMemberId,
      ID_SYSTEMS.insurerNumber,
      ID_SYSTEMS.publicPayerMemberId,
      ID_SYSTEMS.medicalInstitutionCode,
      ID_SYSTEMS.medicalId,
      ID_SYSTEMS.myNumber,
    ]) {
      expect(uris).toContain(sys);
    }
    const one = await fhirFetch<Bundle>(`${s.base}/NamingSystem?value=${encodeURIComponent(ID_SYSTEMS.insuredMemberId)}`);
    expect(one.body.entry).toHaveLength(1);
  });

  it('serves the profiles and operation definitions, read-only', async () => {
    const sd = await fhirFetch<{ url: string }>(`${s.base}/StructureDefinition/medid-patient`);
    expect(sd.body.url).toBe(PATIENT);
    const put = await fhirFetch<OperationOutcome>(`${s.base}/StructureDefinition/medid-patient`, { method: 'PUT', json: sd.body });
    expect(put.status).toBe(403);
    expect((await fhirFetch(`${s.base}/NamingSystem/my-number`, { method: 'DELETE' })).status).toBe(403);
    expect((await fhirFetch(`${s.base}/OperationDefinition/Resource-validate`)).status).toBe(200);
  });

  it('lists the profiles and medid search parameters in the CapabilityStatement', async () => {
    const cs = (await fhirFetch<CapabilityStatement>(`${s.base}/metadata`)).body;
    const rest = cs.rest?.[0]?.resource ?? [];
    expect(rest.find((r) => r.type === 'Patient')?.supportedProfile).toContain(PATIENT);
    const cov = rest.find((r) => r.type === 'Coverage');
    expect(cov?.supportedProfile).toContain(COVERAGE);
    expect(cov?.searchParam?.map((p) => p.name)).toEqual(
      expect.arrayContaining(['insured-personsymbol', 'insured-personnumber', 'insured-personsubnumber']),
    );
  });

  it('searches Coverage by the JP Core 記号・番号 parameters, width-insensitively', async () => {
    const c = await fhirFetch<Coverage>(`${s.base}/Coverage`, {
      method: 'POST',
      json: {
        resourceType: 'Coverage',
        meta: { profile: [COVERAGE] },
        status: 'active',
        beneficiary: { reference: 'Patient/p' },
        payor: [{ display: 'x' }],
        period: { start: '2024-04-01' },
        extension: [
          { url: 'http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPersonSymbol', valueString: 'ｱｲ-12' },
          { url: 'http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPersonNumber', valueString: '７７７７' },
        ],
      } satisfies Coverage,
    });
    expect(c.status).toBe(201);
    const bySymbol = await fhirFetch<Bundle>(`${s.base}/Coverage?insured-personsymbol=${encodeURIComponent('アイ－１２')}`);
    expect(bySymbol.body.entry?.map((e) => e.resource?.id)).toEqual([c.body.id]);
    const byNumber = await fhirFetch<Bundle>(`${s.base}/Coverage?insured-personnumber=7777`);
    expect(byNumber.body.entry?.map((e) => e.resource?.id)).toEqual([c.body.id]);
  });

  it('enforces a claimed medid profile on write: a coverage not valid by the day is 422', async () => {
    const res = await fhirFetch<OperationOutcome>(`${s.base}/Coverage`, {
      method: 'POST',
      json: {
        resourceType: 'Coverage',
        meta: { profile: [COVERAGE] },
        status: 'active',
        beneficiary: { reference: 'Patient/p' },
        payor: [{ display: 'x' }],
        period: { start: '2024-04-01T09:00:00+09:00' },
      },
    });
    expect(res.status).toBe(422);
    expect(res.body.issue[0]?.details?.text).toContain('medid-cov-1');
  });

  it('enforces the medid Patient profile: kana names in katakana, no My Number, sex and birth date', async () => {
    const res = await fhirFetch<OperationOutcome>(`${s.base}/Patient`, {
      method: 'POST',
      json: {
        resourceType: 'Patient',
        meta: { profile: [PATIENT] },
        identifier: [{ system: 'urn:example:mrn', value: '1' }],
        name: [
          {
            extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation', valueCode: 'SYL' }],
            family: 'やまだ',
          },
        ],
      } satisfies Patient,
    });
    expect(res.status).toBe(422);
    const texts = res.body.issue.map((i) => `${i.details?.text ?? ''} ${(i.expression ?? []).join()}`).join('\n');
    expect(texts).toContain('medid-pat-2');
    expect(texts).toContain('Patient.gender');
  });
});
