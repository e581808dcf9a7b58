/**
 * Request/response examples of every operation, recorded from medid itself: the app on a given
 * database (in-memory PGlite), a fixed clock, synthetic persons (山田 太郎 and family, test
 * numbers), real HTTP calls. Server-drawn values (resource ids, medical IDs) are replaced by
 * deterministic ones in order of appearance, tokens by `$TOKEN`, so a recording is the same
 * every run: `npm run ig:exchanges` writes them to ig/exchanges/, the IG renders them, and
 * test/e2e/ig-exchanges.test.ts records again and fails when they differ.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { syncBuiltinESMExports } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Parameters, Patient, Resource, Task } from '@medplum/fhirtypes';
import { CompactEncrypt, CompactSign, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { createApp, kindPurposes } from '../src/app.ts';
import { checkRegistration } from '../src/auth/clients.ts';
import { generateSigningJwks, serverKeysFromJwks } from '../src/auth/keys.ts';
import { createLogger } from '../src/core/logger.ts';
import type { Organization } from '../src/core/principal.ts';
import { ID_SYSTEMS, NAME_REPRESENTATION, SYSTEMS } from '../src/core/systems.ts';
import { loadDefinitions } from '../src/fhir/definitions/index.ts';
import { verhoeffCheckDigit } from '../src/identifiers/check-digits.ts';
import { parseInsurerNumber } from '../src/identifiers/insurer-number.ts';
import type { Db } from '../src/store/db.ts';
import { FilePseudonymKeys } from '../src/pseudonym/file-keys.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The base URL the examples show: a local `npm start`. */
export const SHOWN_BASE = 'http://localhost:8080/fhir';
/** 2026-04-10 12:00 JST. */
const NOW = new Date('2026-04-10T03:00:00Z');

export interface Caller {
  /** Who calls, in words. */
  label: string;
  clientId: string;
  organization: Organization;
  scope: string;
  purposeOfUse: string;
}

export interface Exchange {
  title: string;
  caller: Caller;
  request: { method: string; url: string; headers: Record<string, string>; body?: unknown };
  response: { status: number; headers: Record<string, string>; body?: unknown };
}

/** ig/exchanges/<OperationDefinition id>.json */
export interface OperationExamples {
  operation: string;
  definition: string;
  note?: string;
  exchanges: Exchange[];
}

export interface Recording {
  operations: OperationExamples[];
}

/** Response headers worth showing (no dates, request ids or lengths). */
const SHOWN_HEADERS = ['content-type', 'location', 'content-location', 'etag', 'last-modified', 'retry-after', 'x-progress', 'expires'];

function insurerNumber(body7: string): string {
  for (let d = 0; d <= 9; d++) if (parseInsurerNumber(`${body7}${d}`).ok) return `${body7}${d}`;
  throw new Error(`no check digit for ${body7}`);
}

const JPC = 'http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPerson';
const INSURER = '06138093';
const OTHER_INSURER = insurerNumber('0127001');
const HOSPITAL = '1311111111';
const CLINIC = '1322222222';

function person(p: {
  kanji: [string, string];
  kana: [string, string];
  birthDate: string;
  gender: Patient['gender'];
  insurer: string;
  symbol: string;
  number: string;
  branch: string;
}): Patient {
  return {
    resourceType: 'Patient',
    identifier: [{ system: ID_SYSTEMS.insuredMemberId, value: `${p.insurer}:${p.symbol}:${p.number}:${p.branch}` }],
    name: [
      { extension: [{ url: NAME_REPRESENTATION, valueCode: 'IDE' }], family: p.kanji[0], given: [p.kanji[1]] },
      { extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], family: p.kana[0], given: [p.kana[1]] },
    ],
    gender: p.gender,
    birthDate: p.birthDate,
  };
}

const TARO = person({
  kanji: ['山田', '太郎'],
  kana: ['ヤマダ', 'タロウ'],
  birthDate: '1980-04-01',
  gender: 'male',
  insurer: INSURER,
  symbol: '1',
  number: '1001',
  branch: '00',
});
const HANAKO = person({
  kanji: ['山田', '花子'],
  kana: ['ヤマダ', 'ハナコ'],
  birthDate: '1982-06-15',
  gender: 'female',
  insurer: INSURER,
  symbol: '1',
  number: '1001',
  branch: '01',
});

/** Replaces server-drawn values with deterministic ones, in order of first appearance. */
class Canonicalizer {
  private readonly ids = new Map<string, string>();
  private readonly mids = new Map<string, string>();
  private readonly jwes = new Map<string, string>();
  private readonly jwss = new Map<string, string>();
  private readonly lps = new Map<string, string>();
  private readonly dps = new Map<string, string>();

  private mask(seen: Map<string, string>, name: string, raw: string): string {
    const v = seen.get(raw) ?? `$${name}_${seen.size + 1}`;
    seen.set(raw, v);
    return v;
  }

  private uuid(raw: string): string {
    let v = this.ids.get(raw);
    if (!v) {
      const h = crypto
        .createHash('sha256')
        .update(`medid-ig-example-${this.ids.size + 1}`)
        .digest('hex');
      v = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[parseInt(h[16] ?? '0', 16) % 4] ?? '8'}${h.slice(17, 20)}-${h.slice(20, 32)}`;
      this.ids.set(raw, v);
    }
    return v;
  }

  private medicalId(raw: string): string {
    let v = this.mids.get(raw);
    if (!v) {
      const h = crypto
        .createHash('sha256')
        .update(`medid-ig-medical-id-${this.mids.size + 1}`)
        .digest();
      const body = `1${String(h.readUInt32BE(0) % 1_000_000).padStart(6, '0')}${String(h.readUInt32BE(4) % 1_000_000).padStart(6, '0')}`;
      v = `${body}${verhoeffCheckDigit(body)}`;
      this.mids.set(raw, v);
    }
    return v;
  }

  text(s: string): string {
    // Compact JWEs (sealed envelopes, sealed pseudonyms) differ on every run (ephemeral ECDH keys): $JWE_1, $JWE_2, …;
    // so do ECDSA signatures (officers' approvals: $JWS_n) and a linkage order's project pseudonyms (a random key: $LP_n).
    return (
      s
        .replace(/eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, (m) =>
          this.mask(this.jwes, 'JWE', m),
        )
        .replace(/eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, (m) => this.mask(this.jwss, 'JWS', m))
        .replace(/\bp\.[0-9A-Z]{26}\b/g, (m) => this.mask(this.lps, 'LP', m))
        // Domain pseudonyms derive from person keys the registrar draws at random: $DP_n.
        .replace(/\bv\d{1,4}\.[0-9A-Z]{26}\b/g, (m) => this.mask(this.dps, 'DP', m))
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (m) => this.uuid(m))
        .replace(/(?<!\d)1\d{13}(?!\d)/g, (m) => (verhoeffCheckDigit(m.slice(0, 13)) === Number(m[13]) ? this.medicalId(m) : m))
    );
  }

  value<T>(v: T): T {
    if (typeof v === 'string') return this.text(v) as T;
    if (Array.isArray(v)) return v.map((x: unknown) => this.value(x)) as T;
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.value(x)])) as T;
    return v;
  }
}

/**
 * Seeds the random sources the server draws ids from (resource and bundle ids, medical IDs), so
 * that two recordings are the same, orders by id included. Returns the function that restores them.
 */
function seedRandomness(): () => void {
  const saved = { randomUUID: crypto.randomUUID, randomInt: crypto.randomInt };
  let n = 0;
  const next = (): Buffer => crypto.createHash('sha256').update(`medid-ig-seed-${++n}`).digest();
  const uuid = (): `${string}-${string}-${string}-${string}-${string}` => {
    const h = next().toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };
  const int = (a: number, b?: number): number => {
    const [min, max] = b === undefined ? [0, a] : [a, b];
    return min + (next().readUInt32BE(0) % (max - min));
  };
  Object.assign(crypto, { randomUUID: uuid, randomInt: int });
  syncBuiltinESMExports();
  return () => {
    Object.assign(crypto, saved);
    syncBuiltinESMExports();
  };
}

/** Records every exchange on a migrated, empty database (closed by the caller). */
export async function recordExchanges(db: Db): Promise<Recording> {
  const restore = seedRandomness();
  try {
    return await record(db);
  } finally {
    restore();
  }
}

async function record(db: Db): Promise<Recording> {
  const defs = await loadDefinitions(path.join(ROOT, 'profiles'));
  const app = createApp({
    config: { baseUrl: SHOWN_BASE, audit: true, registrySweepSeconds: 0 },
    db,
    defs,
    logger: createLogger('silent'),
    keys: await serverKeysFromJwks(await generateSigningJwks()),
    registrySecret: Buffer.alloc(32, 7),
    pseudonymKeys: new FilePseudonymKeys(Buffer.alloc(32, 8)),
    clock: { now: () => NOW },
  });
  await app.publishConformance();
  const server = http.createServer(app.express);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const actual = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  const recorded: { operation: string; exchange: Exchange }[] = [];
  const tokens = new Map<Caller, string>();
  const tokenOf = async (c: Caller): Promise<string> => {
    let t = tokens.get(c);
    if (!t) {
      t = (await app.tokens.issue(c.clientId, c.label, c.organization, c.scope, 3600, c.purposeOfUse)).accessToken;
      tokens.set(c, t);
    }
    return t;
  };

  /** One HTTP call; recorded under `operation` when given. */
  const call = async <T = Resource>(
    caller: Caller,
    method: string,
    url: string,
    o: { body?: unknown; headers?: Record<string, string>; operation?: string; title?: string; expect?: number } = {},
  ): Promise<T> => {
    const shownUrl = url.startsWith('http') ? url : `${SHOWN_BASE}/${url}`;
    const headers: Record<string, string> = {
      Authorization: 'Bearer $TOKEN',
      Accept: 'application/fhir+json',
      ...(o.body !== undefined ? { 'Content-Type': 'application/fhir+json' } : {}),
      ...o.headers,
    };
    const res = await fetch(shownUrl.replace(SHOWN_BASE, actual), {
      method,
      headers: { ...headers, Authorization: `Bearer ${await tokenOf(caller)}` },
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
    });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    const body: unknown = text === '' ? undefined : /[/+]json\b/.test(type) ? JSON.parse(text) : text;
    if (res.status !== (o.expect ?? 200)) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 800)}`);
    if (o.operation) {
      const shown: Record<string, string> = {};
      for (const h of SHOWN_HEADERS) {
        const v = res.headers.get(h);
        if (v !== null) shown[h.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => `${d}${c.toUpperCase()}`)] = v;
      }
      recorded.push({
        operation: o.operation,
        exchange: {
          title: o.title ?? '',
          caller,
          request: { method, url: shownUrl, headers, ...(o.body !== undefined ? { body: o.body } : {}) },
          response: { status: res.status, headers: shown, ...(body !== undefined ? { body } : {}) },
        },
      });
    }
    return body as T;
  };

  const authority: Caller = {
    label: 'the authority’s operations desk',
    clientId: 'authority-desk',
    organization: { kind: 'authority', code: 'medid' },
    scope: 'system/*.cruds',
    purposeOfUse: 'HOPERAT',
  };
  const insurer: Caller = {
    label: `insurer ${INSURER} (a test health-insurance society)`,
    clientId: `insurer-${INSURER}`,
    organization: { kind: 'insurer', code: INSURER },
    scope: 'system/Patient.cru system/Coverage.cru',
    purposeOfUse: 'HPAYMT',
  };
  const hospitalScope = 'system/CoverageEligibilityRequest.c system/Patient.rs system/Organization.rs system/Endpoint.rs';
  const hospital: Caller = {
    label: `テスト中央病院 (a test hospital, 医療機関コード ${HOSPITAL})`,
    clientId: 'test-central-hospital',
    organization: { kind: 'medical-institution', code: HOSPITAL },
    scope: hospitalScope,
    purposeOfUse: 'TREAT',
  };
  const clinic: Caller = {
    ...hospital,
    label: 'テスト西町クリニック',
    clientId: 'test-clinic',
    organization: { kind: 'medical-institution', code: CLINIC },
  };
  const emergency: Caller = { ...hospital, label: `${hospital.label}, emergency room`, scope: 'system/Patient.rs', purposeOfUse: 'BTG' };

  try {
    // ---- $register: an insurer's members (one record refused: a mistyped insurer number)
    const registered = await call<Parameters>(insurer, 'POST', 'Patient/$register', {
      operation: 'Patient-register',
      title: 'An insurer registers two members (a record with a mistyped insurer number is refused, the rest load)',
      body: {
        resourceType: 'Parameters',
        parameter: [
          {
            name: 'registration',
            part: [
              { name: 'record', valueString: 'line-1' },
              { name: 'patient', resource: TARO },
            ],
          },
          {
            name: 'registration',
            part: [
              { name: 'record', valueString: 'line-2' },
              { name: 'patient', resource: HANAKO },
            ],
          },
          {
            name: 'registration',
            part: [
              { name: 'record', valueString: 'line-3' },
              {
                name: 'patient',
                resource: person({
                  kanji: ['山田', '次郎'],
                  kana: ['ヤマダ', 'ジロウ'],
                  birthDate: '2010-01-20',
                  gender: 'male',
                  insurer: '06138094',
                  symbol: '1',
                  number: '1001',
                  branch: '02',
                }),
              },
            ],
          },
        ],
      },
    });
    const results = (registered.parameter ?? []).filter((p) => p.name === 'result');
    const idOf = (i: number): string => results[i]?.part?.find((p) => p.name === 'patient')?.valueReference?.reference ?? '';
    const midOf = (i: number): string => results[i]?.part?.find((p) => p.name === 'medicalId')?.valueIdentifier?.value ?? '';
    const taro = idOf(0);
    const hanako = idOf(1);
    const taroMid = midOf(0);

    // Set-up the pages do not show: more persons, coverage, the directory.
    const others = await call<Parameters>(authority, 'POST', 'Patient/$register', {
      body: {
        resourceType: 'Parameters',
        parameter: [
          person({
            kanji: ['田中', '一郎'],
            kana: ['タナカ', 'イチロウ'],
            birthDate: '1975-11-03',
            gender: 'male',
            insurer: INSURER,
            symbol: '2',
            number: '2001',
            branch: '00',
          }),
          person({
            kanji: ['田中', '一郎'],
            kana: ['タナカ', 'イチロウ'],
            birthDate: '1975-11-30',
            gender: 'male',
            insurer: OTHER_INSURER,
            symbol: '7',
            number: '3001',
            branch: '00',
          }),
          person({
            kanji: ['鈴木', '三郎'],
            kana: ['スズキ', 'サブロウ'],
            birthDate: '1940-02-11',
            gender: 'male',
            insurer: INSURER,
            symbol: '3',
            number: '4001',
            branch: '00',
          }),
          person({
            kanji: ['佐藤', '次郎'],
            kana: ['サトウ', 'ジロウ'],
            birthDate: '1990-09-09',
            gender: 'male',
            insurer: INSURER,
            symbol: '3',
            number: '5001',
            branch: '00',
          }),
        ].map((patient) => ({ name: 'registration', part: [{ name: 'patient', resource: patient }] })),
      },
    });
    const other = (others.parameter ?? [])
      .filter((p) => p.name === 'result')
      .map((r) => r.part?.find((p) => p.name === 'patient')?.valueReference?.reference ?? '');
    const [ichiro, duplicate, saburo, jiro] = other;
    if (!taro || !hanako || !ichiro || !duplicate || !saburo || !jiro) throw new Error('set-up: a registration failed');
    await call(authority, 'PUT', `Coverage?identifier=${encodeURIComponent(`${ID_SYSTEMS.insuredMemberId}|${INSURER}:1:1001:00`)}`, {
      expect: 201,
      body: {
        resourceType: 'Coverage',
        status: 'active',
        identifier: [{ system: ID_SYSTEMS.insuredMemberId, value: `${INSURER}:1:1001:00` }],
        extension: [
          { url: `${JPC}Symbol`, valueString: '1' },
          { url: `${JPC}Number`, valueString: '1001' },
          { url: `${JPC}SubNumber`, valueString: '00' },
        ],
        beneficiary: { reference: taro },
        payor: [{ identifier: { system: ID_SYSTEMS.insurerNumber, value: INSURER } }],
        period: { start: '2020-04-01' },
      },
    });
    for (const [code, name] of [
      [HOSPITAL, 'テスト中央病院'],
      [CLINIC, 'テスト西町クリニック'],
    ] as const) {
      const org = await call(authority, 'POST', 'Organization', {
        expect: 201,
        body: {
          resourceType: 'Organization',
          identifier: [{ system: ID_SYSTEMS.medicalInstitutionCode, value: code }],
          active: true,
          name,
          type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov' }] }],
          address: [{ state: '東京都' }],
        },
      });
      await call(authority, 'POST', 'Endpoint', {
        expect: 201,
        body: {
          resourceType: 'Endpoint',
          status: 'active',
          connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'hl7-fhir-rest' },
          name: `${name} FHIR`,
          managingOrganization: { reference: `Organization/${org.id ?? ''}` },
          payloadType: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type', code: 'any' }] }],
          address: `https://fhir.${code}.example/fhir`,
        },
      });
    }

    // ---- $submit: the card at the reception desk
    const eligibility = (day: string) => ({
      resourceType: 'CoverageEligibilityRequest',
      status: 'active',
      purpose: ['validation'],
      created: `${day}T09:00:00+09:00`,
      contained: [
        { resourceType: 'Patient', id: 'p', birthDate: TARO.birthDate },
        {
          resourceType: 'Coverage',
          id: 'c',
          status: 'active',
          beneficiary: { reference: '#p' },
          payor: [{ identifier: { system: ID_SYSTEMS.insurerNumber, value: INSURER } }],
          extension: [
            { url: `${JPC}Symbol`, valueString: '1' },
            { url: `${JPC}Number`, valueString: '1001' },
            { url: `${JPC}SubNumber`, valueString: '00' },
          ],
        },
      ],
      patient: { reference: '#p' },
      servicedDate: day,
      insurer: { identifier: { system: ID_SYSTEMS.insurerNumber, value: INSURER } },
      insurance: [{ coverage: { reference: '#c' } }],
    });
    await call(clinic, 'POST', 'CoverageEligibilityRequest/$submit', { body: eligibility('2026-04-03') });
    await call(hospital, 'POST', 'CoverageEligibilityRequest/$submit', {
      operation: 'CoverageEligibilityRequest-submit',
      title: 'A hospital confirms a patient’s insurance card at reception (オンライン資格確認)',
      body: eligibility('2026-04-10'),
    });

    // ---- $record-locations, $match, $ihe-pix: the hospital now has a care relationship with 山田 太郎
    await call(hospital, 'GET', `${taro}/$record-locations`, {
      operation: 'Patient-record-locations',
      title: 'The hospital asks where else 山田 太郎 has been seen, and how to reach those institutions',
    });
    await call(hospital, 'POST', 'Patient/$match', {
      operation: 'Patient-match',
      title: 'The hospital finds its patient by kana name, sex and birth date',
      body: {
        resourceType: 'Parameters',
        parameter: [
          {
            name: 'resource',
            resource: {
              resourceType: 'Patient',
              name: [{ extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], family: 'ﾔﾏﾀﾞ', given: ['ﾀﾛｳ'] }],
              gender: 'male',
              birthDate: '1980-04-01',
            },
          },
          { name: 'count', valueInteger: 3 },
        ],
      },
    });
    await call(hospital, 'GET', `Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${ID_SYSTEMS.medicalId}|${taroMid}`)}`, {
      operation: 'Patient-ihe-pix',
      title: 'The hospital cross-references a medical ID to the person’s other identifiers (IHE PIXm)',
    });

    // ---- $feed-network-id: 山田 太郎 is enrolled in a regional network (his Consent names it)
    const network: Caller = {
      label: 'テスト地域医療連携ネットワーク (a test regional network, code test-net)',
      clientId: 'test-regional-network',
      organization: { kind: 'regional-network', code: 'test-net' },
      scope: 'system/Patient.ru',
      purposeOfUse: 'TREAT',
    };
    const networkSystem = `${ID_SYSTEMS.networkPatientIdPrefix}test-net`;
    await call(authority, 'POST', 'Consent', {
      expect: 201,
      body: {
        resourceType: 'Consent',
        status: 'active',
        scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
        patient: { reference: taro },
        policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
        provision: {
          type: 'permit',
          actor: [
            {
              role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
              reference: { identifier: { system: ID_SYSTEMS.regionalNetwork, value: 'test-net' } },
            },
          ],
        },
      },
    });
    await call(network, 'POST', 'Patient/$feed-network-id', {
      operation: 'Patient-feed-network-id',
      title: 'The regional network feeds its own patient id for 山田 太郎 (IHE PIXm’s identity feed, ITI-104)',
      body: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'localIdentifier', valueIdentifier: { system: networkSystem, value: 'TN-000123' } },
          { name: 'patientIdentifier', valueIdentifier: { system: ID_SYSTEMS.medicalId, value: taroMid } },
        ],
      },
    });
    await call(network, 'GET', `Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${networkSystem}|TN-000123`)}`, {
      operation: 'Patient-ihe-pix',
      title: 'The network cross-references its own id to the medical ID',
    });

    // ---- $break-the-glass: 山田 花子 has no care relationship with the hospital
    await call(emergency, 'POST', `${hanako}/$break-the-glass`, {
      operation: 'Patient-break-the-glass',
      title: 'An emergency room opens the record of an unconscious patient it has no relationship with',
      body: { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: '意識障害で救急搬送、既往歴の確認' }] },
    });

    // ---- $export: the insurer's persons with their medical IDs (Bulk Data pattern)
    const exportOp = 'Patient-export';
    await call(insurer, 'GET', 'Patient/$export', {
      operation: exportOp,
      title: '1. The insurer starts an export of its members with their medical IDs',
      headers: { Prefer: 'respond-async' },
      expect: 202,
    });
    const kickoff = recorded.at(-1)?.exchange.response.headers['Content-Location'] ?? '';
    await Promise.all([...app.exportJobs.running]);
    const manifest = await call<{ output: { url: string }[] }>(insurer, 'GET', kickoff, {
      operation: exportOp,
      title: '2. It polls the status URL until the files are ready',
    });
    await call(insurer, 'GET', manifest.output[0]?.url ?? '', {
      operation: exportOp,
      title: '3. It downloads each file (NDJSON: minimal Patients, one per line)',
      // Accept: application/fhir+ndjson is answered 406 today (the edge negotiates JSON only).
      headers: { Accept: '*/*' },
    });

    // ---- the medical ID's lifecycle, by the authority
    await call(authority, 'POST', `${jiro}/$change-medical-id`, {
      operation: 'Patient-change-medical-id',
      title: 'The authority issues 佐藤 次郎 a new medical ID at his request; the old one keeps finding him',
      body: { resourceType: 'Parameters' },
    });
    await call(authority, 'POST', `${saburo}/$record-death`, {
      operation: 'Patient-record-death',
      title: 'The authority records the death of 鈴木 三郎',
      body: { resourceType: 'Parameters', parameter: [{ name: 'date', valueDate: '2026-04-09' }] },
    });
    const mergeParams = (withTarget: boolean) => ({
      resourceType: 'Parameters',
      parameter: [
        { name: 'source-patient', valueReference: { reference: duplicate } },
        ...(withTarget ? [{ name: 'target-patient', valueReference: { reference: ichiro } }] : []),
      ],
    });
    await call(authority, 'POST', 'Patient/$merge', {
      operation: 'Patient-merge',
      title: 'The authority merges a duplicate of 田中 一郎 (registered by another insurer with a mistyped birth date) into him',
      body: mergeParams(true),
    });
    await call(authority, 'POST', 'Patient/$unmerge', {
      operation: 'Patient-unmerge',
      title: 'The authority undoes that merge within the undo window',
      body: mergeParams(false),
    });

    // ---- $pseudonymize: the hospital sends the NDB data about 山田 太郎 with a work number and a
    // sealed envelope (his insured number, sealed to medid); the NDB forwards the envelope.
    const ndb: Caller = {
      label: 'NDB (a utilizing database, pseudonym domain ndb)',
      clientId: 'ndb-analysis',
      organization: { kind: 'database', code: 'ndb' },
      scope: 'system/Patient.r',
      purposeOfUse: 'HRESCH',
    };
    const hospitalKey = await generateKeyPair('ES384', { extractable: true });
    const ndbSig = await generateKeyPair('ES384', { extractable: true });
    const ndbEnc = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true });
    const register = async (c: Caller, keys: JWK[]): Promise<void> =>
      app.clients.register(
        checkRegistration(
          { client_id: c.clientId, name: c.label, jwks: { keys }, scope: c.scope, organization: c.organization },
          'client',
          kindPurposes,
        ),
      );
    await register(hospital, [{ ...(await exportJWK(hospitalKey.publicKey)), kid: 'hospital-2026', use: 'sig', alg: 'ES384' }]);
    await register(ndb, [
      { ...(await exportJWK(ndbSig.publicKey)), kid: 'ndb-sig-2026', use: 'sig', alg: 'ES384' },
      { ...(await exportJWK(ndbEnc.publicKey)), kid: 'ndb-enc-2026', use: 'enc', alg: 'ECDH-ES+A256KW' },
    ]);
    const medidKey = ((await (await fetch(`${actual}/.well-known/medid-envelope-jwks`)).json()) as { keys: JWK[] }).keys[0];
    const at = Math.floor(NOW.getTime() / 1000);
    const claims = {
      iss: hospital.clientId,
      aud: 'ndb',
      work: 'NDB-20260410-000123',
      iat: at,
      exp: at + 3600,
      insured: `${INSURER}:1:1001:00`,
    };
    const signed = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'ES384', kid: 'hospital-2026', typ: 'medid-envelope+jwt' })
      .sign(hospitalKey.privateKey);
    const envelope = await new CompactEncrypt(new TextEncoder().encode(signed))
      .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: medidKey.kid, cty: 'JWT' })
      .encrypt(await importJWK(medidKey, 'ECDH-ES+A256KW'));
    const pseudonymize = { resourceType: 'Parameters', parameter: [{ name: 'envelope', valueString: envelope }] };
    await call(ndb, 'POST', '$pseudonymize', {
      operation: 'pseudonymize',
      title:
        'The NDB forwards the sealed envelope the hospital sent with its data and receives its pseudonym of the person, sealed to its own key ($JWE_n stand for compact JWEs, which differ on every run)',
      body: pseudonymize,
    });
    await call(ndb, 'POST', '$pseudonymize', {
      operation: 'pseudonymize',
      title: 'The same envelope again: refused, naming the rule (a work number is redeemed once)',
      body: pseudonymize,
    });

    // ---- Linkage (R19): the authority files an order linking the NDB and the cancer registry for one
    // study; two officers sign it; each database converts its own pseudonym of 山田 太郎; it closes.
    const officer = async (id: string, label: string): Promise<{ caller: Caller; key: CryptoKey }> => {
      const caller: Caller = {
        label,
        clientId: id,
        organization: { kind: 'authority', code: 'medid' },
        scope: 'system/Task.u',
        purposeOfUse: 'HOPERAT',
      };
      const k = await generateKeyPair('ES384', { extractable: true });
      await register(caller, [{ ...(await exportJWK(k.publicKey)), kid: `${id}-2026`, use: 'sig', alg: 'ES384' }]);
      return { caller, key: k.privateKey };
    };
    const custodian = await officer('officer-data-custodian', 'the authority’s data custodian (an officer)');
    const ethics = await officer('officer-ethics-board', 'the ethics board’s delegate (an officer)');
    const gan: Caller = {
      ...ndb,
      label: 'the national cancer registry (pseudonym domain gan-toroku)',
      clientId: 'gan-toroku-analysis',
      organization: { kind: 'database', code: 'gan-toroku' },
    };
    const linkOp = (code: string): string => `Task-${code}`;
    const order = await call<Task>(authority, 'POST', 'Task/$linkage-order', {
      operation: linkOp('linkage-order'),
      title: 'The authority files a linkage order between the NDB and the cancer registry: inert until two officers sign it',
      expect: 201,
      body: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'domain', valueCode: 'ndb' },
          { name: 'domain', valueCode: 'gan-toroku' },
          { name: 'project', valueString: '大腸がん術後の医療費に関する研究' },
          { name: 'purpose', valueCode: 'HRESCH' },
          { name: 'legalBasis', valueString: '厚生労働大臣による第三者提供の承認（2026年4月）' },
          { name: 'start', valueDate: '2026-04-10' },
          { name: 'end', valueDate: '2027-03-31' },
        ],
      },
    });
    const canonicalOrder = order.input?.find((i) => i.type.coding?.[0]?.code === 'canonical-order')?.valueString ?? '{}';
    const sign = (o: { caller: Caller; key: CryptoKey }): Promise<string> =>
      new CompactSign(
        new TextEncoder().encode(JSON.stringify({ iss: o.caller.clientId, iat: at, order: JSON.parse(canonicalOrder) as unknown })),
      )
        .setProtectedHeader({ alg: 'ES384', kid: `${o.caller.clientId}-2026`, typ: 'medid-linkage-approval+jwt' })
        .sign(o.key);
    for (const [n, o] of [custodian, ethics].entries())
      await call(o.caller, 'POST', `Task/${order.id ?? ''}/$approve`, {
        operation: linkOp('approve'),
        title: `${n + 1}. ${o.caller.label} signs the order's canonical text with its own key ($JWS_n stand for compact JWS, which differ on every run)${n === 1 ? ': the second approval activates it' : ''}`,
        body: { resourceType: 'Parameters', parameter: [{ name: 'approval', valueString: await sign(o) }] },
      });
    const { rows: taroKey } = await db.query<{ kid: Buffer }>('SELECT kid FROM registry.person WHERE patient_id = $1', [
      taro.slice('Patient/'.length),
    ]);
    for (const [c, domain] of [
      [ndb, 'ndb'],
      [gan, 'gan-toroku'],
    ] as const) {
      const own = await app.pseudonyms.pseudonymOf(taroKey[0]?.kid, domain);
      await call(c, 'POST', `Task/${order.id ?? ''}/$link`, {
        operation: linkOp('link'),
        title: `${c.label} converts its own pseudonyms to the order's project pseudonyms ($DP_n and $LP_n: they differ on every run, person keys and the order's key being random) — the same person, the same project pseudonym`,
        body: { resourceType: 'Parameters', parameter: [{ name: 'pseudonym', valueString: own }] },
      });
    }
    await call(authority, 'POST', `Task/${order.id ?? ''}/$close`, {
      operation: linkOp('close'),
      title: 'The study has its data: the authority closes the order, and its key is destroyed for good',
      body: { resourceType: 'Parameters', parameter: [{ name: 'reason', valueCode: 'completed' }] },
    });

    // ---- $validate
    const example = {
      ...TARO,
      meta: { profile: ['http://medid.example.org/fhir/StructureDefinition/medid-patient'] },
      identifier: [{ system: ID_SYSTEMS.insuredMemberId, value: `${INSURER}:1:1001:00` }],
    };
    await call(hospital, 'POST', 'Patient/$validate', {
      operation: 'Resource-validate',
      title: 'A client checks a Patient against medid’s Patient profile before sending it',
      body: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: example }] },
    });
    const { birthDate: _dropped, ...noBirthDate } = example;
    await call(hospital, 'POST', 'Patient/$validate', {
      operation: 'Resource-validate',
      title: 'The same Patient without a birth date: the profile’s rule fails, named by element',
      body: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: noBirthDate }] },
    });

    // ---- Cards at the desk beyond the insurance card (issue 18): a public-assistance recipient's
    // 公費 numbers, and a My Number card registered for health-insurance use, then read at reception.
    const WELFARE = '12131017'; // 生活保護 (法別 12), a test welfare office
    const CERTIFICATE = { system: ID_SYSTEMS.jpkiUserCertificate, value: '3A:7F:00:12:9B:C4:5E:01' };
    const more = await call<Parameters>(authority, 'POST', 'Patient/$register', {
      body: {
        resourceType: 'Parameters',
        parameter: [
          {
            name: 'registration',
            part: [
              { name: 'record', valueString: 'sato' },
              {
                name: 'patient',
                resource: {
                  ...person({
                    kanji: ['佐藤', '花子'],
                    kana: ['サトウ', 'ハナコ'],
                    birthDate: '1951-12-03',
                    gender: 'female',
                    insurer: INSURER,
                    symbol: '',
                    number: '',
                    branch: '',
                  }),
                  identifier: [{ system: ID_SYSTEMS.publicPayerMemberId, value: `${WELFARE}::1234567:` }],
                },
              },
            ],
          },
          {
            name: 'registration',
            part: [
              { name: 'record', valueString: 'ichiro' },
              {
                name: 'patient',
                resource: {
                  ...person({
                    kanji: ['山田', '一郎'],
                    kana: ['ヤマダ', 'イチロウ'],
                    birthDate: '1975-09-09',
                    gender: 'male',
                    insurer: INSURER,
                    symbol: '1',
                    number: '1002',
                    branch: '00',
                  }),
                  identifier: [
                    { system: ID_SYSTEMS.insuredMemberId, value: `${INSURER}:1:1002:00` },
                    { system: ID_SYSTEMS.myNumber, value: '123456789018' },
                  ],
                },
              },
            ],
          },
        ],
      },
    });
    const patientOf = (record: string): string =>
      more.parameter
        ?.find((x) => x.name === 'result' && x.part?.some((y) => y.name === 'record' && y.valueString === record))
        ?.part?.find((y) => y.name === 'patient')?.valueReference?.reference ?? '';
    await call(authority, 'PUT', `Coverage?identifier=${encodeURIComponent(`${ID_SYSTEMS.publicPayerMemberId}|${WELFARE}::1234567:`)}`, {
      expect: 201,
      body: {
        resourceType: 'Coverage',
        status: 'active',
        identifier: [{ system: ID_SYSTEMS.publicPayerMemberId, value: `${WELFARE}::1234567:` }],
        class: [
          {
            type: { coding: [{ system: SYSTEMS.coverageClassType, code: 'card-class' }] },
            value: 'medical-aid',
            name: '医療券・調剤券（生活保護）',
          },
        ],
        subscriberId: '1234567',
        beneficiary: { reference: patientOf('sato') },
        payor: [{ identifier: { system: ID_SYSTEMS.publicPayerNumber, value: WELFARE } }],
        period: { start: '2023-10-01' },
      },
    });
    await call(authority, 'PUT', `Coverage?identifier=${encodeURIComponent(`${ID_SYSTEMS.insuredMemberId}|${INSURER}:1:1002:00`)}`, {
      expect: 201,
      body: {
        resourceType: 'Coverage',
        status: 'active',
        identifier: [{ system: ID_SYSTEMS.insuredMemberId, value: `${INSURER}:1:1002:00` }],
        extension: [
          { url: `${JPC}Symbol`, valueString: '1' },
          { url: `${JPC}Number`, valueString: '1002' },
          { url: `${JPC}SubNumber`, valueString: '00' },
        ],
        beneficiary: { reference: patientOf('ichiro') },
        payor: [{ identifier: { system: ID_SYSTEMS.insurerNumber, value: INSURER } }],
        period: { start: '2021-04-01' },
      },
    });
    await call(hospital, 'POST', 'CoverageEligibilityRequest/$submit', {
      operation: 'CoverageEligibilityRequest-submit',
      title:
        'A hospital confirms a public-assistance recipient’s 医療券: 公費負担者番号 as the insurer, 受給者番号 as the Coverage’s subscriberId (JP Core)',
      body: {
        resourceType: 'CoverageEligibilityRequest',
        status: 'active',
        purpose: ['validation'],
        created: '2026-04-10T09:30:00+09:00',
        contained: [
          { resourceType: 'Patient', id: 'p', birthDate: '1951-12-03' },
          {
            resourceType: 'Coverage',
            id: 'c',
            status: 'active',
            beneficiary: { reference: '#p' },
            payor: [{ identifier: { system: ID_SYSTEMS.publicPayerNumber, value: WELFARE } }],
            subscriberId: '1234567',
          },
        ],
        patient: { reference: '#p' },
        servicedDate: '2026-04-10',
        insurer: { identifier: { system: ID_SYSTEMS.publicPayerNumber, value: WELFARE } },
        insurance: [{ coverage: { reference: '#c' } }],
      },
    });
    await call(authority, 'POST', 'Patient/$register-card', {
      operation: 'Patient-register-card',
      title:
        'The authority registers 山田 一郎’s My Number card for health-insurance use (利用登録): the certificate’s serial, its last day, and the My Number J-LIS associates with it (a test number; kept only as a keyed MAC)',
      body: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'certificate', valueIdentifier: CERTIFICATE },
          { name: 'myNumber', valueString: '123456789018' },
          { name: 'notAfter', valueDate: '2030-09-09' },
        ],
      },
    });
    await call(hospital, 'POST', 'CoverageEligibilityRequest/$submit', {
      operation: 'CoverageEligibilityRequest-submit',
      title:
        'At reception, a My Number card (マイナ保険証): the card reader presents the certificate after the holder’s PIN or face check, and the answer is every coverage of theirs that day',
      body: {
        resourceType: 'CoverageEligibilityRequest',
        status: 'active',
        purpose: ['validation'],
        created: '2026-04-10T10:00:00+09:00',
        contained: [{ resourceType: 'Patient', id: 'p', identifier: [CERTIFICATE] }],
        patient: { reference: '#p' },
        servicedDate: '2026-04-10',
        insurer: { display: 'マイナ保険証: the card names the person, medid the insurer' },
      },
    });

    // ---- Registry, complete: a newborn under a provisional name, held registrations and their resolution.
    // (Last, so the examples before keep their ids.)
    const registration = (record: string, patient: Patient) => ({
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'registration',
          part: [
            { name: 'record', valueString: record },
            { name: 'patient', resource: patient },
          ],
        },
      ],
    });
    await call(insurer, 'POST', 'Patient/$register', {
      operation: 'Patient-register',
      title:
        'The insurer registers a newborn not yet named under a provisional name (its parent’s family name, use temp, no given name): the medical ID is issued from birth',
      body: registration('line-4', {
        resourceType: 'Patient',
        identifier: [{ system: ID_SYSTEMS.insuredMemberId, value: `${INSURER}:1:1001:03` }],
        name: [
          { use: 'temp', extension: [{ url: NAME_REPRESENTATION, valueCode: 'IDE' }], family: '山田' },
          { use: 'temp', extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], family: 'ヤマダ' },
        ],
        gender: 'female',
        birthDate: '2026-04-08',
      }),
    });
    const held = await call<Parameters>(insurer, 'POST', 'Patient/$register', {
      operation: 'Patient-register',
      title:
        'A record whose insured number names a registered person with another birth date is held for review: the person is not changed',
      body: registration('line-5', { ...TARO, birthDate: '1980-04-10' }),
    });
    const heldTask = (held.parameter ?? []).find((p) => p.name === 'result')?.part?.find((p) => p.name === 'task')
      ?.valueReference?.reference;
    await call(insurer, 'POST', `${heldTask ?? ''}/$resolve`, {
      operation: 'Task-resolve',
      title:
        'The insurer decides its held record: it is 山田 太郎, and the file’s birth date was a typo — only the record’s numbers are bound (apply = identifiers)',
      body: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'person', valueReference: { reference: taro } },
          { name: 'apply', valueCode: 'identifiers' },
        ],
      },
    });
    const namesake = await call<Parameters>(authority, 'POST', 'Patient/$register', {
      body: registration(
        'line-6',
        person({
          kanji: ['佐藤', '次郎'],
          kana: ['サトウ', 'ジロウ'],
          birthDate: '1990-09-09',
          gender: 'male',
          insurer: OTHER_INSURER,
          symbol: '8',
          number: '8001',
          branch: '00',
        }),
      ),
    });
    const namesakeTask = (namesake.parameter ?? []).find((p) => p.name === 'result')?.part?.find((p) => p.name === 'task')
      ?.valueReference?.reference;
    await call(authority, 'POST', `${namesakeTask ?? ''}/$resolve`, {
      operation: 'Task-resolve',
      title:
        'The authority decides a namesake of 佐藤 次郎 held for review (same kana name, birth date and sex, no number in common): another person, who receives a medical ID',
      body: { resourceType: 'Parameters', parameter: [{ name: 'new-person', valueBoolean: true }] },
    });

    // ---- Usage metering (R26): the hospital's own usage this month so far, counted from its AuditEvents
    await call(
      { ...hospital, scope: 'system/MeasureReport.r' },
      'GET',
      'Measure/medid-usage/$evaluate-measure?periodStart=2026-04&periodEnd=2026-04',
      {
        operation: 'Measure-evaluate-measure',
        title: 'The hospital reads its usage of April 2026 (JST) so far: confirmations, $match calls, persons read, billable and refused',
      },
    );

    return canonical(recorded, defs.operations);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await app.drained();
  }
}

function canonical(recorded: { operation: string; exchange: Exchange }[], operations: readonly { id?: string; url?: string }[]): Recording {
  const c = new Canonicalizer();
  const byOp = new Map<string, Exchange[]>();
  for (const r of recorded) byOp.set(r.operation, [...(byOp.get(r.operation) ?? []), c.value(r.exchange)]);
  return {
    operations: [...byOp].map(([operation, exchanges]) => ({
      operation,
      definition: operations.find((o) => o.id === operation)?.url ?? '',
      exchanges,
    })),
  };
}
