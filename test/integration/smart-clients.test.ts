/**
 * SMART clients nobody here wrote: panva's oauth4webapi obtains a token through SMART Backend
 * Services (client_credentials + private_key_jwt, discovered from our smart-configuration),
 * and the SMART JS client (`fhirclient`) reads data with it.
 */
import { ID_SYSTEMS } from '../../src/core/systems.ts';
import * as oauth from 'oauth4webapi';
import smart from 'fhirclient';
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newClientKeys, registerClient } from '../helpers/clients.ts';
import type { TestClient } from '../helpers/clients.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch } from '../helpers/fhir.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

describe.each(testDrivers())('third-party SMART clients on %s', (driver) => {
  let s: TestServer;
  let client: TestClient;
  let patientId: string;
  beforeAll(async () => {
    s = await startTestServer(driver);
    client = await newClientKeys('oauth4webapi-client', 'ES384');
    await registerClient(s, client, 'system/Patient.rs');
    const p = await fhirFetch<Patient>(`${s.base}/Patient`, {
      method: 'POST',
      json: { resourceType: 'Patient', name: [{ family: '高橋' }] },
      headers: { authorization: `Bearer ${s.token}` },
    });
    patientId = p.body.id as string;
    // The hospital reads the person because the person's Consent names it (the access policy).
    await fhirFetch(`${s.base}/Consent`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}` },
      json: {
        resourceType: 'Consent',
        status: 'active',
        scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
        patient: { reference: `Patient/${patientId}` },
        policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
        provision: {
          type: 'permit',
          actor: [
            {
              role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
              reference: { identifier: { system: ID_SYSTEMS.medicalInstitutionCode, value: '1312345678' } },
            },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await s.close();
  });

  it('oauth4webapi gets a token by backend services, and fhirclient reads with it', async () => {
    const discovery = (await (await fetch(`${s.base}/.well-known/smart-configuration`)).json()) as {
      issuer: string;
      token_endpoint: string;
    };
    const as: oauth.AuthorizationServer = { issuer: discovery.issuer, token_endpoint: discovery.token_endpoint };
    const auth = oauth.PrivateKeyJwt(
      { key: client.privateKey, kid: client.kid },
      {
        // SMART Backend Services: the assertion's audience is the token endpoint URL.
        [oauth.modifyAssertion]: (_header, payload) => {
          payload.aud = discovery.token_endpoint;
        },
      },
    );
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      { client_id: client.clientId },
      auth,
      new URLSearchParams({ scope: 'system/Patient.rs' }),
      // The test server speaks plain HTTP on loopback; oauth4webapi insists on TLS otherwise.
      // eslint-disable-next-line @typescript-eslint/no-deprecated
      { [oauth.allowInsecureRequests]: true },
    );
    const token = await oauth.processClientCredentialsResponse(as, { client_id: client.clientId }, response);
    expect(token.token_type).toBe('bearer');
    expect(token.scope).toBe('system/Patient.rs');

    // fhirclient's Node entry point wraps a request/response pair; this test has neither.
    const fhir = smart({ url: '/', headers: {} } as never, {} as never).client({
      serverUrl: s.base,
      tokenResponse: { access_token: token.access_token, token_type: 'bearer' },
    });
    const patient = await fhir.request<Patient>(`Patient/${patientId}`);
    expect(patient.name?.[0]?.family).toBe('高橋');
    await expect(fhir.create({ resourceType: 'Patient' })).rejects.toThrow(/403|Forbidden|scope/i);
  });
});
