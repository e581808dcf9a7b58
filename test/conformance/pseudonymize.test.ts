/**
 * Sealed delivery over HTTP (R18, R21): a hospital seals an insured number for the NDB with
 * jose, the NDB forwards it to $pseudonymize and reads its pseudonym with its own private key;
 * replays, envelopes for another database and forgeries are refused, each naming its rule; the
 * answer and the audit record never hold the insured number, the medical ID or the work number;
 * only database clients with an encryption key are answered.
 */
import type { AuditEvent, Bundle, OperationOutcome, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { generateKeyPair } from 'jose';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ID_SYSTEMS } from '../../src/core/systems.ts';
import { newClientKeys, registerClient, tokenRequest } from '../helpers/clients.ts';
import type { TestClient } from '../helpers/clients.ts';
import { testDrivers } from '../helpers/db.ts';
import { envelopeClaims, newEncryptionKey, openAnswer, sealEnvelope } from '../helpers/envelopes.ts';
import type { EncryptionKey, EnvelopeClaims, SealOptions } from '../helpers/envelopes.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { insurerNumber, registerBody, registrationPatient, results } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const INSURER = insurerNumber('0613809');
const HOSPITAL_CODE = '1311111111';
const SYMBOL = '72';
const NUMBER = '40404';

interface Result {
  work?: string;
  status: string;
  target?: string;
  pseudonym?: string;
  rule?: string;
  text?: string;
}

const resultsOf = (p: Parameters): Result[] =>
  (p.parameter ?? [])
    .filter((x) => x.name === 'result')
    .map((x) => {
      const get = (n: string): ParametersParameter | undefined => x.part?.find((y) => y.name === n);
      const issue = (get('issues')?.resource as OperationOutcome | undefined)?.issue?.[0];
      return {
        work: get('work')?.valueString,
        status: get('status')?.valueCode as string,
        target: get('target')?.valueCode,
        pseudonym: get('pseudonym')?.valueString,
        rule: issue?.details?.coding?.find((c) => c.system?.endsWith('/medid-error-rule'))?.code,
        text: issue?.details?.text,
      };
    });

describe.each(testDrivers())('$pseudonymize on %s', (driver) => {
  let s: TestServer;
  let authorityKey: JWK;
  let hospital: TestClient;
  let insurer: TestClient;
  let ndb: TestClient;
  let ndbEnc: EncryptionKey;
  let dpc: TestClient;
  let network: TestClient;
  const token: Record<string, string> = {};
  let patientId: string;
  let medicalId: string;
  let insured: string;

  const tokenOf = async (c: TestClient, scope: string): Promise<string> => {
    const res = await tokenRequest(s, c, scope);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body['access_token'] as string;
  };

  beforeAll(async () => {
    s = await startTestServer(driver);
    useToken(s.token);
    // The authority's key, as a provider fetches it: public, no token.
    const jwks = await fhirFetch<{ keys: JWK[] }>(`${s.base}/.well-known/medid-envelope-jwks`, { anonymous: true });
    expect(jwks.status).toBe(200);
    authorityKey = jwks.body.keys[0];

    const reg = await fhirFetch<Parameters>(`${s.base}/Patient/$register`, {
      method: 'POST',
      json: registerBody([
        {
          record: 'r1',
          patient: registrationPatient({ insurer: INSURER, symbol: SYMBOL, number: NUMBER, branch: '00', kana: ['ミナミ', 'ハルカ'] }),
        },
      ]),
    });
    expect(reg.status, reg.text).toBe(200);
    const [r] = results(reg.body);
    patientId = r?.patient as string;
    medicalId = r?.medicalId as string;
    insured = `${INSURER}:${SYMBOL}:${NUMBER}:00`;

    hospital = await newClientKeys('test-hospital', 'ES384');
    insurer = await newClientKeys('test-insurer', 'RS384');
    ndb = await newClientKeys('ndb-analysis', 'ES384');
    ndbEnc = await newEncryptionKey('ndb-enc-2026');
    dpc = await newClientKeys('dpc-analysis', 'ES384');
    network = await newClientKeys('test-network', 'ES384');
    await registerClient(s, hospital, 'system/Patient.rs', { organization: { kind: 'medical-institution', code: HOSPITAL_CODE } });
    await registerClient(s, insurer, 'system/Patient.rs', { organization: { kind: 'insurer', code: INSURER } });
    await registerClient(s, ndb, 'system/Patient.r', {
      organization: { kind: 'database', code: 'ndb' },
      jwks: { keys: [ndb.publicJwk, ndbEnc.publicJwk] },
    });
    await registerClient(s, dpc, 'system/Patient.r', { organization: { kind: 'database', code: 'dpc' } });
    await registerClient(s, network, 'system/Patient.r', { organization: { kind: 'regional-network', code: 'test-net' } });
    token['ndb'] = await tokenOf(ndb, 'system/Patient.r');
    token['dpc'] = await tokenOf(dpc, 'system/Patient.r');
    token['hospital'] = await tokenOf(hospital, 'system/Patient.rs');
    token['insurer'] = await tokenOf(insurer, 'system/Patient.rs');
    token['network'] = await tokenOf(network, 'system/Patient.r');
  });
  afterAll(async () => {
    await s.close();
  });

  const seal = (c: Partial<EnvelopeClaims> = {}, o: SealOptions & { by?: TestClient } = {}): Promise<string> =>
    sealEnvelope(authorityKey, o.by ?? hospital, envelopeClaims({ iss: (o.by ?? hospital).clientId, aud: 'ndb', insured, ...c }), o);

  const call = (envelopes: string[], as = 'ndb') =>
    fhirFetch<Parameters>(`${s.base}/$pseudonymize`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token[as] ?? as}` },
      json: { resourceType: 'Parameters', parameter: envelopes.map((e) => ({ name: 'envelope', valueString: e })) },
    });

  const kidOf = async (id: string): Promise<Buffer> =>
    (await s.testDb.db.query<{ kid: Buffer }>('SELECT kid FROM registry.person WHERE patient_id = $1', [id])).rows[0].kid;

  it('answers the database its own pseudonym, readable with its private key only, the same the pseudonymization service gives', async () => {
    const work = 'NDB-2026-04-000001';
    const res = await call([await seal({ work })]);
    expect(res.status, res.text).toBe(200);
    const [r] = resultsOf(res.body);
    expect(r).toMatchObject({ work, status: 'pseudonymized', target: 'ndb' });
    const { header, body } = await openAnswer(r?.pseudonym as string, ndbEnc);
    expect(header).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: 'ndb-enc-2026' });
    expect(body).toEqual({ pseudonym: await s.app.pseudonyms.pseudonymOf(await kidOf(patientId), 'ndb'), target: 'ndb', work });
    expect(body.pseudonym).toMatch(/^v1\.[0-9A-Z]{26}$/);
    // The insured number in any accepted form, the medical ID, and an insurer as the sealer name the same person.
    const again = await call([
      await seal({ insured: `${INSURER}：${SYMBOL}：${NUMBER}：００` }),
      await seal({ insured: undefined, medicalId: medicalId }),
      await seal({ iss: 'test-insurer' }, { by: insurer }),
    ]);
    const opened = await Promise.all(
      resultsOf(again.body).map(async (x) => (await openAnswer(x.pseudonym as string, ndbEnc)).body.pseudonym),
    );
    expect(new Set(opened)).toEqual(new Set([body.pseudonym]));
  });

  it('refuses a replay, an envelope for another database and a forged signature — each naming its rule, the rest still answered', async () => {
    const first = await seal({ work: 'W-replayed' });
    expect(resultsOf((await call([first])).body)[0]?.status).toBe('pseudonymized');
    const forger = await generateKeyPair('ES384');
    const res = await call([
      first,
      await seal({ aud: 'dpc', work: 'W-for-dpc' }),
      await seal({ work: 'W-forged' }, { signWith: forger.privateKey }),
      await seal({ work: 'W-fine' }),
    ]);
    expect(res.status, res.text).toBe(200);
    expect(resultsOf(res.body).map((r) => [r.status, r.rule, r.work])).toEqual([
      ['refused', 'envelope.replay', 'W-replayed'],
      ['refused', 'envelope.aud', undefined], // another database's work number is none of the NDB's business
      ['refused', 'envelope.signature', undefined],
      ['pseudonymized', undefined, 'W-fine'],
    ]);
    // Sealed to a key medid does not hold, or by a client that may not seal.
    const strange = (await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true })).publicKey;
    const { exportJWK } = await import('jose');
    const other = await call([
      await seal({}, { outerKid: 'someone-else' }),
      await sealEnvelope(
        { ...(await exportJWK(strange)), kid: authorityKey.kid },
        hospital,
        envelopeClaims({ iss: hospital.clientId, aud: 'ndb', insured }),
      ),
      await seal({ iss: 'dpc-analysis' }, { by: dpc }),
      await seal({ insured: `${INSURER}:${SYMBOL}:99999:00` }),
    ]);
    expect(resultsOf(other.body).map((r) => r.rule)).toEqual([
      'envelope.key',
      'envelope.decrypt',
      'envelope.sealer-kind',
      'envelope.person-unknown',
    ]);
  });

  it('never shows the insured number, the medical ID or the work number in the answer or the audit record', async () => {
    const work = 'W-SECRET-77'; // the database holds it already; the audit record must not
    const before = Number((await s.testDb.db.query<{ n: string }>('SELECT max(seq)::text AS n FROM audit.event')).rows[0]?.n ?? 0);
    const res = await call([await seal({ work }), await seal({ insured: `${INSURER}:${SYMBOL}:99999:00`, work: 'W-unknown' })]);
    expect(res.status).toBe(200);
    for (const secret of [insured, NUMBER, medicalId, '99999']) expect(res.text).not.toContain(secret);
    const rows = (await s.testDb.db.query('SELECT * FROM audit.event WHERE seq > $1', [before])).rows;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      subtype: '$pseudonymize',
      patient_id: patientId,
      org_kind: 'database',
      org_code: 'ndb',
      provider_kind: 'medical-institution',
      provider_code: HOSPITAL_CODE,
      purpose: 'HRESCH',
      outcome: 0,
    });
    const text = JSON.stringify(rows);
    for (const secret of [insured, NUMBER, medicalId, work, 'W-unknown', '99999']) expect(text).not.toContain(secret);

    // The AuditEvent lands in the person's access history, naming both organizations and the purpose.
    const trail = await fhirFetch<Bundle<AuditEvent>>(`${s.base}/AuditEvent?patient=${patientId}&subtype=$pseudonymize&_count=1`);
    expect(trail.status, trail.text).toBe(200);
    const event = trail.body.entry?.[0]?.resource as AuditEvent;
    expect(event.entity?.[0]?.what?.reference).toBe(`Patient/${patientId}`);
    expect(event.agent).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          requestor: true,
          who: { identifier: { system: ID_SYSTEMS.utilizingDatabase, value: 'ndb' } },
          purposeOfUse: [{ coding: [expect.objectContaining({ code: 'HRESCH' })] }],
        }),
        expect.objectContaining({
          requestor: false,
          type: { coding: [expect.objectContaining({ code: 'INF' })] },
          who: { identifier: { system: ID_SYSTEMS.medicalInstitutionCode, value: HOSPITAL_CODE } },
        }),
      ]),
    );
    for (const secret of [insured, NUMBER, medicalId, work]) expect(trail.text).not.toContain(secret);
  });

  it('answers database clients only, and only to a registered encryption key', async () => {
    const envelope = await seal();
    for (const who of ['hospital', 'insurer', 'network', s.token]) {
      const res = await call([envelope], who);
      expect(res.status, who).toBe(403);
      expect(res.text).toContain('$pseudonymize is not available');
    }
    const noKey = await call([await seal({ aud: 'dpc' })], 'dpc');
    expect(noKey.status).toBe(403);
    expect((noKey.body as unknown as OperationOutcome).issue?.[0]?.details?.text).toMatch(
      /no encryption key.*use.*enc.*rule pseudonymize\.encryption-key/,
    );
    // Refused before anything was opened: the envelope is still good for the NDB.
    expect(resultsOf((await call([envelope])).body)[0]?.status).toBe('pseudonymized');
  });

  it('takes at most 100 envelopes per call, and at least one', async () => {
    const many = await call(Array.from({ length: 101 }, () => 'x'));
    expect(many.status).toBe(400);
    expect(many.text).toContain('at most 100');
    expect((await call([])).status).toBe(400);
  });
});
