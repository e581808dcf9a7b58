/**
 * FHIR XML over HTTP (http.html#mime-type, xml.html): XML request bodies become the same resource
 * a JSON body would; `Accept` (with q-values) and `_format` ask for XML answers — resources,
 * searchsets, history, transaction responses, the CapabilityStatement and error outcomes;
 * malformed XML and DOCTYPEs are refused with a 400 outcome.
 */
import type { Bundle, CapabilityStatement, OperationOutcome, Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirXmlToJsonText } from '../../src/fhir/xml/read.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const XML = 'application/fhir+xml';
const XML_TYPE = 'application/fhir+xml; charset=utf-8';

/** A response body in FHIR XML, read back as JSON (the strict parser also proves it well-formed). */
function fromXml(text: string): Resource {
  return JSON.parse(fhirXmlToJsonText(text)) as Resource;
}

const patientXml = (family: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>
<Patient xmlns="http://hl7.org/fhir">
  <identifier><system value="urn:example:mrn"/><value value="${family}-1"/></identifier>
  <name><family value="${family}"/><given value="太郎"/></name>
  <name><family value="ヤマダ"/><given value="タロウ"/></name>
  <gender value="male"/>
  <birthDate value="1980-04-01">
    <extension url="http://hl7.org/fhir/StructureDefinition/patient-birthTime"><valueDateTime value="1980-04-01T10:30:00+09:00"/></extension>
  </birthDate>
</Patient>`;

const patientJson = (family: string): Patient =>
  ({
    resourceType: 'Patient',
    identifier: [{ system: 'urn:example:mrn', value: `${family}-1` }],
    name: [
      { family, given: ['太郎'] },
      { family: 'ヤマダ', given: ['タロウ'] },
    ],
    gender: 'male',
    birthDate: '1980-04-01',
    _birthDate: {
      extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '1980-04-01T10:30:00+09:00' }],
    },
  }) as Patient;

/** A resource without what the server assigns. */
function content(r: Patient): Patient {
  const { id: _id, meta: _meta, ...rest } = r;
  return rest;
}

describe.each(testDrivers())('FHIR XML on %s', (driver) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(driver);
    useToken(s.token);
  });
  afterAll(async () => {
    await s.close();
  });

  const postXml = (path: string, body: string, accept = XML) =>
    fhirFetch(`${s.base}/${path}`, { method: 'POST', body, headers: { 'content-type': XML, accept } });

  it('create in XML answers 201 in XML; read in JSON and in XML equals the same resource created in JSON', async () => {
    const fromJson = await fhirFetch<Patient>(`${s.base}/Patient`, { method: 'POST', json: patientJson('XmlCreate') });
    expect(fromJson.status).toBe(201);

    const created = await postXml('Patient', patientXml('XmlCreate'));
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toBe(XML_TYPE);
    expect(created.text.startsWith('<?xml version="1.0" encoding="UTF-8"?><Patient xmlns="http://hl7.org/fhir">')).toBe(true);
    const createdBody = fromXml(created.text) as Patient;
    expect(created.headers.get('location')).toBe(`${s.base}/Patient/${createdBody.id}/_history/1`);

    const asJson = await fhirFetch<Patient>(`${s.base}/Patient/${createdBody.id}`);
    expect(asJson.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    expect(content(asJson.body)).toEqual(content(fromJson.body));
    expect(asJson.body).toEqual(createdBody);

    const asXml = await fhirFetch(`${s.base}/Patient/${createdBody.id}`, { headers: { accept: XML } });
    expect(asXml.status).toBe(200);
    expect(asXml.headers.get('content-type')).toBe(XML_TYPE);
    expect(asXml.headers.get('etag')).toBe('W/"1"');
    expect(fromXml(asXml.text)).toEqual(asJson.body);
    // R4 element order and value attributes (xml.html): id, meta, identifier, name, gender, birthDate.
    expect(asXml.text).toMatch(
      /^<\?xml[^>]*\?><Patient xmlns="http:\/\/hl7.org\/fhir"><id value="[^"]+"\/><meta>.*<\/meta><identifier>.*<name><family value="XmlCreate"\/><given value="太郎"\/><\/name>.*<gender value="male"\/><birthDate value="1980-04-01"><extension url=/,
    );
  });

  it('update (PUT) takes an XML body too', async () => {
    const created = fromXml((await postXml('Patient', patientXml('XmlUpdate'))).text) as Patient;
    const body = patientXml('XmlUpdate').replace('<gender value="male"/>', `<id value="${created.id}"/><gender value="female"/>`);
    // The id element out of order still reads: XML → JSON follows the definitions, not the document order.
    const res = await fhirFetch(`${s.base}/Patient/${created.id}`, { method: 'PUT', body, headers: { 'content-type': 'application/xml' } });
    expect(res.status).toBe(200);
    expect((res.body as Patient).gender).toBe('female');
    expect(res.headers.get('etag')).toBe('W/"2"');
  });

  it('a decimal in XML keeps its text: value="20.00" reads back as 20.00 in XML and JSON', async () => {
    const obs = `<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><text value="weight"/></code>
      <valueQuantity><value value="20.00"/><unit value="kg"/></valueQuantity></Observation>`;
    const created = await postXml('Observation', obs);
    expect(created.status).toBe(201);
    const id = fromXml(created.text).id as string;
    expect(created.text).toContain('<value value="20.00"/>');
    expect((await fhirFetch(`${s.base}/Observation/${id}`, { headers: { accept: XML } })).text).toContain('<value value="20.00"/>');
    expect((await fhirFetch(`${s.base}/Observation/${id}`)).text).toContain('"value":20.00');
  });

  it('search answers a searchset Bundle in XML', async () => {
    await postXml('Patient', patientXml('XmlSearch'));
    await postXml('Patient', patientXml('XmlSearch'));
    const res = await fhirFetch(`${s.base}/Patient?family=XmlSearch&_format=xml`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(XML_TYPE);
    const bundle = fromXml(res.text) as Bundle<Patient>;
    expect(bundle.type).toBe('searchset');
    expect(bundle.entry).toHaveLength(2);
    expect(bundle.entry?.map((e) => e.resource?.name?.[0]?.family)).toEqual(['XmlSearch', 'XmlSearch']);
    expect(bundle.entry?.[0]?.search?.mode).toBe('match');
    expect(res.text).toContain('<entry><fullUrl value=');
    expect(res.text).toContain('<resource><Patient><id value=');
    // The same search in JSON holds the same Bundle.
    const json = await fhirFetch<Bundle<Patient>>(`${s.base}/Patient?family=XmlSearch`);
    expect(bundle.entry?.map((e) => e.resource)).toEqual(json.body.entry?.map((e) => e.resource));
  });

  it('history answers a history Bundle in XML', async () => {
    const created = fromXml((await postXml('Patient', patientXml('XmlHistory'))).text) as Patient;
    await fhirFetch(`${s.base}/Patient/${created.id}`, { method: 'DELETE' });
    const res = await fhirFetch(`${s.base}/Patient/${created.id}/_history`, { headers: { accept: XML } });
    expect(res.status).toBe(200);
    const bundle = fromXml(res.text) as Bundle;
    expect(bundle.type).toBe('history');
    expect(bundle.entry?.map((e) => e.request?.method)).toEqual(['DELETE', 'POST']);
  });

  it('a transaction Bundle in XML answers a transaction-response in XML', async () => {
    const tx = `<Bundle xmlns="http://hl7.org/fhir"><type value="transaction"/>
      <entry><fullUrl value="urn:uuid:0f4e2a2c-1b7e-4c4e-9a51-6f0a3c2d9e01"/>
        <resource>${patientXml('XmlTransaction').replace(/^<\?xml[^>]*\?>\s*/, '')}</resource>
        <request><method value="POST"/><url value="Patient"/></request></entry>
    </Bundle>`;
    const res = await fhirFetch(s.base, { method: 'POST', body: tx, headers: { 'content-type': XML, accept: XML } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(XML_TYPE);
    const bundle = fromXml(res.text) as Bundle;
    expect(bundle.type).toBe('transaction-response');
    expect(bundle.entry?.[0]?.response?.status).toMatch(/^201/);
    const search = await fhirFetch<Bundle>(`${s.base}/Patient?family=XmlTransaction`);
    expect(search.body.entry).toHaveLength(1);
  });

  it('the CapabilityStatement is served in XML and lists json and xml; _pretty=true indents it', async () => {
    const res = await fhirFetch(`${s.base}/metadata?_format=xml&_pretty=true`, { anonymous: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(XML_TYPE);
    expect(res.text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<CapabilityStatement xmlns="http://hl7.org/fhir">\n  <')).toBe(
      true,
    );
    const cs = fromXml(res.text) as CapabilityStatement;
    expect(cs.format).toEqual(expect.arrayContaining(['json', 'xml']));
    const json = await fhirFetch<CapabilityStatement>(`${s.base}/metadata`, { anonymous: true });
    expect(json.body.format).toEqual(cs.format);
  });

  describe('errors', () => {
    it('an error outcome is written in XML when XML was asked for', async () => {
      const res = await fhirFetch(`${s.base}/Patient/no-such-patient`, { headers: { accept: XML } });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe(XML_TYPE);
      const o = fromXml(res.text) as OperationOutcome;
      expect(o.resourceType).toBe('OperationOutcome');
      expect(o.issue[0]?.code).toBe('not-found');
    });

    it('a 401 outcome is written in XML too', async () => {
      const res = await fhirFetch(`${s.base}/Patient?_format=xml`, { anonymous: true });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe(XML_TYPE);
      expect((fromXml(res.text) as OperationOutcome).issue[0]?.code).toBe('login');
    });

    it('malformed XML is 400 invalid-xml, naming the rule and never quoting the body', async () => {
      const res = await postXml('Patient', '<Patient xmlns="http://hl7.org/fhir"><name><family value="SECRET-NAME"/></name>', XML);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe(XML_TYPE);
      const o = fromXml(res.text) as OperationOutcome;
      expect(o.issue[0]?.details?.coding?.[0]?.code).toBe('invalid-xml');
      expect(o.issue[0]?.details?.text).toMatch(/not well-formed XML .*unclosed tag at line 1, column \d+/);
      expect(res.text).not.toContain('SECRET');
    });

    it('malformed XML asked in JSON answers its outcome in JSON', async () => {
      const res = await postXml('Patient', '<Patient xmlns="http://hl7.org/fhir"><id value="a"></Patient>', 'application/fhir+json');
      expect(res.status).toBe(400);
      expect((res.body as OperationOutcome).issue[0]?.details?.coding?.[0]?.code).toBe('invalid-xml');
    });

    it('a DOCTYPE is refused (XXE): 400, and the entity is never read', async () => {
      const body = `<?xml version="1.0"?><!DOCTYPE Patient [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>
        <Patient xmlns="http://hl7.org/fhir"><name><family value="&xxe;"/></name></Patient>`;
      const res = await postXml('Patient', body, 'application/fhir+json');
      expect(res.status).toBe(400);
      const o = res.body as OperationOutcome;
      expect(o.issue[0]?.details?.coding?.[0]?.code).toBe('invalid-xml');
      expect(o.issue[0]?.details?.text).toContain('DOCTYPE');
    });

    it('an element R4 does not define is 400 naming it', async () => {
      const res = await postXml('Patient', '<Patient xmlns="http://hl7.org/fhir"><nickname value="x"/></Patient>', 'application/fhir+json');
      expect(res.status).toBe(400);
      expect((res.body as OperationOutcome).issue[0]?.details?.text).toContain('Patient.nickname');
    });

    it('an XML body in another charset is 415', async () => {
      const res = await fhirFetch(`${s.base}/Patient`, {
        method: 'POST',
        body: patientXml('XmlCharset'),
        headers: { 'content-type': 'application/fhir+xml; charset=iso-8859-1' },
      });
      expect(res.status).toBe(415);
    });
  });

  describe('negotiation', () => {
    const accept = async (value: string) => {
      const res = await fhirFetch(`${s.base}/metadata`, { headers: { accept: value }, anonymous: true });
      return { status: res.status, type: res.headers.get('content-type') };
    };

    it('_format=xml, application/fhir+xml (with + or %2B), application/xml and text/xml answer XML', async () => {
      for (const [format, type] of [
        ['xml', XML],
        ['application/fhir+xml', XML],
        ['application%2Ffhir%2Bxml', XML],
        ['application/xml', 'application/xml'],
        ['text/xml', 'text/xml'],
      ] as const) {
        const res = await fhirFetch(`${s.base}/metadata?_format=${format}`, { anonymous: true });
        expect(res.status, format).toBe(200);
        expect(res.headers.get('content-type'), format).toBe(`${type}; charset=utf-8`);
        expect(res.text.startsWith('<?xml'), format).toBe(true);
      }
    });

    it('_format overrides Accept', async () => {
      const res = await fhirFetch(`${s.base}/metadata?_format=xml`, { headers: { accept: 'application/fhir+json' }, anonymous: true });
      expect(res.headers.get('content-type')).toBe(XML_TYPE);
      const back = await fhirFetch(`${s.base}/metadata?_format=json`, { headers: { accept: XML }, anonymous: true });
      expect(back.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    });

    it('Accept q-values rank the types', async () => {
      expect(await accept('application/fhir+json;q=0.4, application/fhir+xml;q=0.9')).toEqual({ status: 200, type: XML_TYPE });
      expect(await accept('application/fhir+xml;q=0.2, application/json')).toEqual({
        status: 200,
        type: 'application/json; charset=utf-8',
      });
      expect(await accept('application/fhir+xml, application/fhir+json')).toEqual({ status: 200, type: XML_TYPE });
      expect(await accept('application/fhir+json, application/fhir+xml')).toEqual({
        status: 200,
        type: 'application/fhir+json; charset=utf-8',
      });
      expect(await accept('text/html, application/xml;q=0.9, */*;q=0.8')).toEqual({ status: 200, type: 'application/xml; charset=utf-8' });
      expect(await accept('text/html, */*;q=0.8')).toEqual({ status: 200, type: 'application/fhir+json; charset=utf-8' });
      expect(await accept('*/*, application/fhir+json;q=0')).toEqual({ status: 200, type: 'application/json; charset=utf-8' });
      expect((await accept('application/fhir+xml;q=0, application/fhir+json;q=0')).status).toBe(406);
      expect((await accept('text/html')).status).toBe(406);
    });
  });
});
