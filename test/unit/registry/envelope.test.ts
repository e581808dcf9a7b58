/**
 * The sealed envelope's checklist (registry/envelope.ts), in process: the authority's key
 * (privacy/envelope-keys.ts) and auth's signature check (auth/client-signature.ts) as wired in
 * app.ts, the client directory and the registry's tables as stubs. Every refusal names its rule
 * and never repeats the identifier it was sealed with.
 */
import crypto from 'node:crypto';
import { generateKeyPair } from 'jose';
import type { JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyClientJws } from '../../../src/auth/client-signature.ts';
import type { Client } from '../../../src/auth/clients.ts';
import type { Organization } from '../../../src/core/principal.ts';
import { ID_SYSTEMS } from '../../../src/core/systems.ts';
import { IdentifierCatalog } from '../../../src/identifiers/catalog.ts';
import { FileEnvelopeKeys } from '../../../src/privacy/envelope-keys.ts';
import { EnvelopeDesk } from '../../../src/registry/envelope.ts';
import type { EnvelopeResult, EnvelopeStore } from '../../../src/registry/envelope.ts';
import type { KeyedPerson } from '../../../src/registry/person-keys.ts';
import { newClientKeys } from '../../helpers/clients.ts';
import type { TestClient } from '../../helpers/clients.ts';
import { envelopeClaims, newEncryptionKey, sealEnvelope } from '../../helpers/envelopes.ts';
import type { EnvelopeClaims, SealOptions } from '../../helpers/envelopes.ts';

const NOW = new Date('2026-04-10T03:00:00Z');
const T = NOW.getTime() / 1000;
const INSURED = '06138093:1:1001:00';
const MID = '10000000000009';
/** 生活保護: 公費負担者番号::受給者番号: (R17). */
const PUBLIC_PAYER = '12131017::1234567:';

const person = (status: KeyedPerson['status'], mergedInto: Buffer | null = null): KeyedPerson => ({
  patientId: crypto.randomUUID(),
  kid: crypto.randomBytes(16),
  status,
  mergedInto,
});

describe('sealed envelopes', () => {
  const keys = new FileEnvelopeKeys(crypto.randomBytes(32));
  const authority = keys.jwks.keys[0];
  const catalog = new IdentifierCatalog({
    rules: { recipientNumberCheckDigit: false, lateElderlyNumberCheckDigit: false },
    medicalIdSystem: ID_SYSTEMS.medicalId,
  });
  const clients = new Map<string, Client>();
  const alive = person('active');
  const survivor = person('active');
  const merged = person('merged', survivor.kid);
  const retired = person('retired');
  let hospital: TestClient;
  let insurer: TestClient;
  let database: TestClient;
  let disabled: TestClient;
  let mid = MID;

  const register = (c: TestClient, org: Organization, active = true, extra: JWK[] = []): void => {
    clients.set(c.clientId, {
      clientId: c.clientId,
      name: c.clientId,
      jwks: { keys: [c.publicJwk, ...extra] },
      jwksUri: undefined,
      scope: 'system/Patient.r',
      org,
      purposes: [],
      active,
    });
  };

  const seen = new Set<string>();
  const store: EnvelopeStore = {
    byIdentifier: (system, value) =>
      Promise.resolve(
        system === ID_SYSTEMS.insuredMemberId && value === INSURED
          ? alive
          : system === ID_SYSTEMS.insuredMemberId && value === '06138093:1:1002:00'
            ? retired
            : system === ID_SYSTEMS.publicPayerMemberId && value === PUBLIC_PAYER
              ? alive
              : undefined,
      ),
    byMedicalId: (m) => Promise.resolve(m === mid ? merged : undefined),
    byKey: (kid) => Promise.resolve(kid.equals(survivor.kid) ? survivor : undefined),
    recordWork: (hash) => {
      const k = hash.toString('hex');
      const fresh = !seen.has(k);
      seen.add(k);
      return Promise.resolve(fresh);
    },
  };
  const desk = new EnvelopeDesk({
    keys,
    verifySealer: async (jws, typ) => {
      const r = await verifyClientJws(jws, typ, {
        client: (id) => Promise.resolve(clients.get(id)),
        remoteJwks: { keysFor: () => Promise.reject(new Error('no jwks_uri here')) },
      });
      return r.ok ? { ok: true, sealer: { clientId: r.client.clientId, org: r.client.org }, payload: r.payload } : r;
    },
    parseIdentifier: (s, v) => catalog.parse(s, v),
    medicalIdSystem: ID_SYSTEMS.medicalId,
    store,
    now: () => NOW,
  });

  beforeAll(async () => {
    hospital = await newClientKeys('hospital', 'ES384');
    insurer = await newClientKeys('insurer', 'RS384');
    database = await newClientKeys('ndb-client', 'ES384');
    disabled = await newClientKeys('closed-clinic', 'ES384');
    const enc = await newEncryptionKey('hospital-enc');
    register(hospital, { kind: 'medical-institution', code: '1311111111' }, true, [enc.publicJwk]);
    register(insurer, { kind: 'insurer', code: '06138093' });
    register(database, { kind: 'database', code: 'ndb' });
    register(disabled, { kind: 'medical-institution', code: '1322222222' }, false);
    // A real medical ID (Verhoeff) for the merged person.
    mid = (await import('../../../src/identifiers/medical-id.ts')).newMedicalId();
  });

  const claims = (c: Partial<EnvelopeClaims> = {}): EnvelopeClaims =>
    envelopeClaims({ iss: 'hospital', aud: 'ndb', insured: INSURED, ...c }, T);
  const open = async (c: Partial<EnvelopeClaims> = {}, o: SealOptions & { by?: TestClient; aud?: string } = {}): Promise<EnvelopeResult> =>
    desk.open(await sealEnvelope(authority, o.by ?? hospital, claims(c), o), o.aud ?? 'ndb');

  it('opens a valid envelope: the work number, who sealed it and the person — the identifier in any accepted form', async () => {
    const r = await open({ insured: '０６１３８０９３：１：１００１：００', work: 'W-0001' });
    expect(r).toEqual({
      ok: true,
      work: 'W-0001',
      sealer: { clientId: 'hospital', org: { kind: 'medical-institution', code: '1311111111' } },
      person: alive,
    });
    const byInsurer = await open({ iss: 'insurer' }, { by: insurer });
    expect(byInsurer.ok).toBe(true);
  });

  it('names a public-assistance recipient by the public-payer member id', async () => {
    expect(await open({ insured: undefined, publicPayer: PUBLIC_PAYER })).toMatchObject({ ok: true, person: alive });
    expect(await open({ insured: undefined, publicPayer: '12131017::12345678:' })).toMatchObject({
      ok: false,
      rule: 'envelope.identifier',
    });
  });

  it('follows a merged person to the survivor (a medical ID of the duplicate)', async () => {
    const r = await open({ insured: undefined, medicalId: mid });
    expect(r.ok && r.person).toBe(survivor);
  });

  it('redeems a work number once', async () => {
    const envelope = await sealEnvelope(authority, hospital, claims({ work: 'W-once' }));
    expect((await desk.open(envelope, 'ndb')).ok).toBe(true);
    expect(await desk.open(envelope, 'ndb')).toMatchObject({ ok: false, rule: 'envelope.replay', work: 'W-once' });
    // A new envelope with the same work number is a replay too; for another database it is another redemption.
    expect(await desk.open(await sealEnvelope(authority, hospital, claims({ work: 'W-once' })), 'ndb')).toMatchObject({
      rule: 'envelope.replay',
    });
    expect((await desk.open(await sealEnvelope(authority, hospital, claims({ work: 'W-once', aud: 'dpc' })), 'dpc')).ok).toBe(true);
  });

  it('names the rule of every refusal, and never repeats the identifier', async () => {
    const forger = await generateKeyPair('ES384');
    const other = new FileEnvelopeKeys(crypto.randomBytes(32)).jwks.keys[0];
    const cases: [string, () => Promise<EnvelopeResult>][] = [
      ['envelope.format', () => desk.open('not.an.envelope', 'ndb')],
      ['envelope.format', () => desk.open(42, 'ndb')],
      ['envelope.format', async () => desk.open(`${await sealEnvelope(authority, hospital, claims())}${'A'.repeat(20_000)}`, 'ndb')],
      ['envelope.key', async () => desk.open(await sealEnvelope(other, hospital, claims()), 'ndb')],
      ['envelope.decrypt', async () => desk.open(await sealEnvelope(other, hospital, claims(), { outerKid: authority.kid }), 'ndb')],
      [
        'envelope.decrypt',
        async () => {
          const parts = (await sealEnvelope(authority, hospital, claims())).split('.');
          parts[3] = Buffer.from('tampered ciphertext').toString('base64url');
          return desk.open(parts.join('.'), 'ndb');
        },
      ],
      ['envelope.jws', () => open({}, { plaintext: `{"insured":"${INSURED}"}` })],
      ['envelope.typ', () => open({}, { typ: 'JWT' })],
      ['envelope.iss', () => open({ iss: 'no such id!' })],
      ['envelope.sealer', () => open({ iss: 'nobody' })],
      ['envelope.sealer-disabled', () => open({ iss: 'closed-clinic' }, { by: disabled })],
      ['envelope.signature', () => open({}, { signWith: forger.privateKey })],
      ['envelope.signing-key', () => open({}, { kid: 'hospital-enc' })],
      ['envelope.sealer-kind', () => open({ iss: 'ndb-client' }, { by: database })],
      ['envelope.aud', () => open({ aud: 'dpc' })],
      ['envelope.aud', () => open({ aud: ['ndb', 'dpc'] })],
      ['envelope.work', () => open({ work: undefined })],
      ['envelope.work', () => open({ work: 'has space' })],
      ['envelope.exp', () => open({ exp: undefined })],
      ['envelope.exp', () => open({ iat: T - 600, exp: T - 300 })],
      ['envelope.iat', () => open({ iat: T + 3600, exp: T + 3900 })],
      ['envelope.iat', () => open({ iat: undefined })],
      ['envelope.lifetime', () => open({ iat: T, exp: T + 25 * 3600 })],
      ['envelope.nbf', () => open({ nbf: T + 3600 })],
      ['envelope.identifier', () => open({ insured: undefined })],
      ['envelope.identifier', () => open({ medicalId: MID })],
      ['envelope.identifier', () => open({ insured: '06138094:1:1001:00' })],
      ['envelope.identifier', () => open({ insured: undefined, medicalId: '12345678901234' })],
      ['envelope.person-unknown', () => open({ insured: '06138093:1:9999:00' })],
      ['envelope.person-not-visible', () => open({ insured: '06138093:1:1002:00' })],
    ];
    for (const [rule, run] of cases) {
      const r = await run();
      expect(r, rule).toMatchObject({ ok: false, rule });
      if (!r.ok) {
        expect(r.text, rule).not.toMatch(/06138093|06138094|1001|9999|12345678901234/);
        expect(r.text, rule).not.toContain(MID);
      }
    }
  });

  it('gives the work number and who sealed it only once the signature verified', async () => {
    const forged = await open({ work: 'W-forged' }, { signWith: (await generateKeyPair('ES384')).privateKey });
    expect(forged).toEqual({ ok: false, rule: 'envelope.signature', text: expect.any(String) });
    expect(await open({ aud: 'dpc', work: 'W-elsewhere' })).toMatchObject({ rule: 'envelope.aud', sealer: { clientId: 'hospital' } });
    expect(await open({ insured: '06138093:1:9999:00', work: 'W-unknown' })).toMatchObject({
      rule: 'envelope.person-unknown',
      work: 'W-unknown',
    });
  });

  it('publishes the public key only: kid, use enc, alg, no private part', () => {
    expect(authority).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: expect.any(String),
      y: expect.any(String),
      kid: keys.kid,
      use: 'enc',
      alg: 'ECDH-ES+A256KW',
    });
    // The same secret gives the same key (every node), another secret another key.
    expect(new FileEnvelopeKeys(Buffer.alloc(32, 1)).jwks).toEqual(new FileEnvelopeKeys(Buffer.alloc(32, 1)).jwks);
    expect(new FileEnvelopeKeys(Buffer.alloc(32, 2)).kid).not.toBe(new FileEnvelopeKeys(Buffer.alloc(32, 1)).kid);
  });
});
