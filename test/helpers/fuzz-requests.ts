/**
 * Fuzzed FHIR requests over real HTTP, shared by the property test (test/conformance/fuzz.test.ts)
 * and the fuzz benchmark (bench/fuzz.ts):
 *   - fast-check generators of whole requests: methods, paths (real and bogus types, odd ids,
 *     %-escapes valid and invalid, operations, _history), query strings (search parameters with
 *     garbage values, modifiers, prefixes, chains, _has, result parameters, NUL, unicode, long
 *     values), headers (Accept, Content-Type, If-Match, Prefer, purpose of use, tokens) and bodies
 *     (corpus resources as they are and mutated, Bundles, operation Parameters, non-JSON, XML);
 *   - a raw HTTP sender (node:http: paths fetch() would refuse or rewrite);
 *   - the checks every response must pass (no 5xx but 503, a parseable body, an OperationOutcome
 *     for every refusal, no answer slower than 5 s);
 *   - a model of the server's pipeline (http/fhir-routes.ts, api/router.ts, api/audit-hook.ts)
 *     that says, for each request, where it is refused at the latest and whether a refusal there
 *     is audited — so "every refusal audited" can be checked request by request.
 * Everything is generated from the seed: a failure is replayed with the same seed.
 */
import http from 'node:http';
import querystring from 'node:querystring';
import fc from 'fast-check';
import type { Resource } from '@medplum/fhirtypes';
import { narrowPurpose } from '../../src/auth/purpose.ts';
import { parseFhirJson } from '../../src/core/json.ts';
import { fhirXmlToJsonText } from '../../src/fhir/xml/read.ts';
import { bodyKind, isXmlType, negotiate } from '../../src/http/content.ts';
import { checkRequestUrl } from '../../src/api/request-url.ts';
import { insurerNumber, registerBody, registrationPatient } from './registry.ts';

// ---------------------------------------------------------------------------------------------
// Requests

export type AuthKind = 'valid' | 'none' | 'invalid' | 'malformed';

export interface FuzzRequest {
  /** Which generator made it (for statistics and reports). */
  family: string;
  method: string;
  /** The request target exactly as sent: path and query, starting with /fhir. */
  target: string;
  /** Headers other than Authorization, Content-Length and X-Request-Id. */
  headers: Record<string, string>;
  auth: AuthKind;
  body?: string;
  /** How the body's text is encoded on the wire (default utf8). */
  encoding?: 'utf8' | 'latin1' | 'utf16le';
}

/** What the generators build on: resources written by others, and ids that exist on the server. */
export interface FuzzSeeds {
  /** Corpus examples (small ones), parsed. */
  examples: readonly Resource[];
  /** Resource type → ids that exist on the server under test. */
  ids: Readonly<Record<string, readonly string[]>>;
}

const REAL_TYPES = [
  'Patient',
  'Observation',
  'Encounter',
  'Coverage',
  'Organization',
  'Practitioner',
  'PractitionerRole',
  'Condition',
  'AllergyIntolerance',
  'MedicationRequest',
  'Consent',
  'CoverageEligibilityRequest',
  'CoverageEligibilityResponse',
  'Task',
  'Binary',
  'Bundle',
  'AuditEvent',
  'Parameters',
  'OperationOutcome',
  'Endpoint',
  'Location',
  'RelatedPerson',
  'Person',
  'Group',
  'DocumentReference',
  'Questionnaire',
  'QuestionnaireResponse',
  'StructureDefinition',
  'CapabilityStatement',
  'OperationDefinition',
  'SearchParameter',
  'Provenance',
  'Claim',
  'Immunization',
  'Procedure',
  'ServiceRequest',
  'DiagnosticReport',
  'Composition',
  'List',
  'Device',
  'Account',
  'Basic',
];
const BOGUS_TYPES = [
  'patient',
  'PATIENT',
  'Patients',
  'Foo',
  'Resource',
  'DomainResource',
  'Element',
  'Extension',
  'Patient%20',
  'Patient%00',
  '%50atient',
  'Pat%zzient',
  '%E0%A4%A',
  '%ff%fe',
  '%EF%BC%B0atient',
  'Patient.json',
  'Patient;x=1',
  'A'.repeat(300),
  '',
];
/** Path segments with odd characters (already as sent: some escapes are valid, some are not). */
const ODD_SEGMENTS = [
  '.',
  '..',
  '%2e%2e',
  '%2F',
  'a%2Fb',
  '%',
  '%%',
  '%u0041',
  '%C0%AF',
  '%ED%A0%80',
  '%EF%BB%BF',
  '%00',
  '%0A',
  '%7F',
  '%C2%85',
  '~',
  '*',
  "'",
  '(x)',
  '@',
  ':',
  ';',
  ',',
  '=',
  '+',
  '$',
  '!',
  '$everything',
  '$validate',
  '$match',
  '$foo',
  '$',
  '_history',
  '_search',
  '_export',
  '_',
  'metadata',
  'A'.repeat(64),
  'A'.repeat(65),
  'a'.repeat(2000),
  encodeURIComponent('山田'),
  encodeURIComponent('ﾔﾏﾀﾞ'),
  '%F0%9F%98%80',
  '0',
  '-1',
  '1e5',
  'null',
  'undefined',
  'NaN',
  '__proto__',
  'constructor',
  '%20',
  'a%20b',
];
const OPERATIONS = [
  'validate',
  'match',
  'register',
  'export',
  'ihe-pix',
  'merge',
  'unmerge',
  'record-death',
  'record-locations',
  'break-the-glass',
  'change-medical-id',
  'submit',
  'everything',
  'meta',
  'expand',
  'lookup',
  'foo',
  '',
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS', 'PROPFIND', 'PURGE'];

const SEARCH_PARAMS: Readonly<Record<string, readonly string[]>> = {
  Patient: [
    'identifier',
    'family',
    'given',
    'name',
    'birthdate',
    'gender',
    'phone',
    'telecom',
    'address',
    'address-postalcode',
    'address-city',
    'general-practitioner',
    'organization',
    'active',
    'deceased',
    'death-date',
    'link',
    'email',
  ],
  Observation: [
    'subject',
    'patient',
    'code',
    'date',
    'status',
    'category',
    'value-quantity',
    'value-string',
    'value-concept',
    'encounter',
    'performer',
    'combo-code',
    'component-code',
    'based-on',
  ],
  Encounter: ['patient', 'subject', 'date', 'status', 'class', 'type', 'service-provider', 'participant', 'location'],
  Coverage: ['beneficiary', 'patient', 'payor', 'subscriber', 'identifier', 'status', 'type', 'policy-holder', 'class-value'],
  Organization: ['identifier', 'name', 'type', 'partof', 'active', 'address'],
  AuditEvent: ['patient', 'date', 'altid', 'subtype', 'outcome', 'agent', 'entity', 'type', 'action'],
  Condition: ['patient', 'subject', 'code', 'onset-date', 'clinical-status'],
  Consent: ['patient', 'status', 'category', 'period', 'actor'],
  Task: ['patient', 'status', 'code', 'owner', 'focus'],
};
const COMMON_PARAMS = [
  '_id',
  '_lastUpdated',
  '_tag',
  '_profile',
  '_security',
  '_text',
  '_content',
  '_list',
  '_filter',
  '_query',
  '_source',
];
const RESULT_PARAMS = [
  '_count',
  '_sort',
  '_include',
  '_revinclude',
  '_include:iterate',
  '_revinclude:iterate',
  '_summary',
  '_elements',
  '_total',
  '_format',
  '_pretty',
  '_since',
  '_at',
  '_type',
  '_contained',
  '_containedType',
  'purpose_of_use',
  '_has',
  '_has:Observation:patient:code',
  '_has:Observation:subject:status',
  '_has:Foo:bar:baz',
  '_has:Observation:patient:_has:Encounter:subject:status',
  '_has:Observation',
  '_has::::',
];
const CHAINS = [
  'subject:Patient.name',
  'subject:Patient.identifier',
  'patient.identifier',
  'patient.family',
  'patient.birthdate',
  'subject.organization.name',
  'patient.link.identifier',
  'general-practitioner.name',
  'general-practitioner:Practitioner.name',
  'organization.partof.partof.partof.name',
  'patient._id',
  'patient.',
  '.name',
  'foo.bar',
  'patient:Foo.name',
  'subject:Patient.general-practitioner:Practitioner.name',
];
const MODIFIERS = [
  '',
  '',
  '',
  ':exact',
  ':contains',
  ':missing',
  ':not',
  ':text',
  ':above',
  ':below',
  ':Patient',
  ':Observation',
  ':in',
  ':not-in',
  ':of-type',
  ':identifier',
  ':iterate',
  ':bogus',
  ':',
  '::',
  ':Patient.name',
];
const PREFIXES = ['', 'eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap', 'xx', 'EQ'];
const SEARCH_VALUES = [
  '',
  ' ',
  '2020',
  '2020-01',
  '2020-01-01',
  '2020-13-45',
  '2020-02-30T25:61:61Z',
  '2020-01-01T00:00:00+09:00',
  '1980-04-01T10:30',
  '1980-04-01T10:30:00.123456789Z',
  '-2020',
  '99999-01-01',
  '0000-00-00',
  'T',
  'male',
  'female',
  'unknown',
  'true',
  'false',
  'TRUE',
  '1',
  '0',
  '-1',
  '99999999999999999999',
  '1e400',
  '1.5',
  'NaN',
  'Infinity',
  '5.4|http://unitsofmeasure.org|mg',
  '5.4||mg',
  '5.4|',
  'http://loinc.org|8480-6',
  '|8480-6',
  'http://loinc.org|',
  '|',
  '||',
  'urn:oid:1.2.392.100495.20.3.51.11312345678|00012345',
  'urn:oid:1.2.392.200119.6.102|123456789012',
  'Patient/x',
  'Patient/',
  'Patient/../x',
  'http://other.example/Patient/1',
  '山田',
  'ﾔﾏﾀﾞ',
  'やまだ',
  '山田　太郎',
  '\u0000',
  'x\u0000y',
  "' OR 1=1 --",
  '%',
  '%25',
  '*',
  '\\',
  '\u202e',
  '\ud800',
  'a,b,c',
  ',,,',
  'name,-birthdate',
  '-',
  '-_id',
  '_lastUpdated',
  'Patient:general-practitioner',
  'Observation:subject:Patient',
  'Observation:subject',
  '*',
  '*:*',
  'Patient:*',
  'count',
  'data',
  'text',
  'accurate',
  'estimate',
  'none',
  'json',
  'xml',
  'application/fhir+xml',
  'application/fhir xml',
  'text/html',
  'ETREAT',
  'HPAYMT',
  'TREAT',
  'HSYSADMIN',
  'BOGUS',
  'id,name',
  'identifier,birthDate,name.family',
  '1000000',
  '1001',
];

const ACCEPTS = [
  'application/fhir+json',
  'application/fhir+xml',
  'application/xml',
  'text/xml',
  'application/json',
  'application/json+fhir',
  '*/*',
  'text/html',
  'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'application/fhir+json;q=0',
  'application/fhir+json;q=0, application/fhir+xml;q=0',
  'application/*;q=0.5, application/fhir+xml;q=0.9',
  'application/fhir+xml;q=1.0001',
  'application/fhir+json; fhirVersion=4.0',
  'image/png',
  ';;;',
  ',',
  '',
];
const CONTENT_TYPES = [
  'application/fhir+json',
  'application/json',
  'application/json+fhir',
  'application/fhir+json; charset=utf-8',
  'application/fhir+json; charset=utf-16',
  'application/fhir+json; fhirVersion=4.0',
  'application/fhir+xml',
  'application/xml',
  'text/xml',
  'application/fhir+xml; charset=latin1',
  'application/fhir+xml; charset="utf-8"',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'text/plain',
  'application/octet-stream',
  'application/x-ndjson',
  'APPLICATION/FHIR+JSON',
  ';',
  '',
];
const IF_MATCHES = ['W/"1"', '"1"', 'W/"2"', 'W/"999"', '*', 'W/""', 'W/"abc"', 'garbage', 'W/"1", W/"2"', '"', 'W/"-1"'];
const PREFERS = [
  'return=minimal',
  'return=representation',
  'return=OperationOutcome',
  'handling=strict',
  'handling=lenient',
  'respond-async',
  'return=minimal, handling=lenient',
  'return=bogus',
  'handling=',
  'wait=10',
  ';;;',
];
const PURPOSES = ['TREAT', 'ETREAT', 'CAREMGT', 'HPAYMT', 'ELIGVER', 'HOPERAT', 'HSYSADMIN', 'PUBHLTH', 'BOGUS', '', ' etreat '];

const NARRATIVES = [
  '<div xmlns="http://www.w3.org/1999/xhtml">ok</div>',
  '<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>',
  '<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x()">x</p></div>',
  '<div xmlns="http://www.w3.org/1999/xhtml"><img src="javascript:alert(1)"/></div>',
  '<div xmlns="http://www.w3.org/1999/xhtml"><a href="http://x">unclosed</div>',
  '<div>no namespace</div>',
  '<div xmlns="http://www.w3.org/1999/xhtml">',
  '<p xmlns="http://www.w3.org/1999/xhtml">not a div</p>',
  '<div xmlns="http://www.w3.org/1999/xhtml"><!DOCTYPE x [<!ENTITY a "b">]>&a;</div>',
  '<div xmlns="http://www.w3.org/1999/xhtml">&nbsp;&bogus;</div>',
  '<div xmlns="http://www.w3.org/1999/xhtml"><![CDATA[x]]></div>',
  `<div xmlns="http://www.w3.org/1999/xhtml">${'<span>'.repeat(300)}${'</span>'.repeat(300)}</div>`,
  '',
  'plain text',
];

/** Numbers written as JSON text a double cannot carry (precision, range, negative zero). */
const RAW_NUMBERS = [
  '1e400',
  '-1e400',
  '1e-400',
  '123456789012345678901234567890',
  '0.1000000000000000055511151231257827',
  '20.00',
  '-0',
  '1E2',
  '9007199254740993',
  '2147483648',
  '-2147483649',
  '1.7976931348623157e308',
  '0.0000001',
];

/** A JSON number given as its text: JSON.stringify writes it as it is. */
class RawNumber {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

interface RawJsonApi {
  rawJSON(text: string): unknown;
}

/** JSON text of a generated value, with raw numbers written as their text. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof RawNumber ? (JSON as unknown as RawJsonApi).rawJSON(v.text) : v));
}

/** Percent-encodes a string as UTF-8; a lone surrogate (which encodeURIComponent refuses) becomes an invalid CESU-8 escape. */
export function encodeValue(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c >= 0xd800 && c <= 0xdfff)
      out += `%${(0xe0 | (c >> 12)).toString(16)}%${(0x80 | ((c >> 6) & 0x3f)).toString(16)}%${(0x80 | (c & 0x3f)).toString(16)}`;
    else out += encodeURIComponent(ch);
  }
  return out;
}

/**
 * A string put on the request line as it is where it can be: printable ASCII raw (invalid
 * %-escapes included), the rest %-encoded. (Bytes 0x7F–0xFF, which node:http would send raw, are
 * refused by Node's own HTTP parser before the application sees them: RAW_BYTE_TARGETS.)
 */
function rawish(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    out += c >= 0x21 && c <= 0x7e ? ch : c === 0x20 ? '+' : encodeValue(ch);
  }
  return out;
}

/** The largest request head generated (Node refuses a head over 16 KiB with 431; the token and the rest take about 1 KiB). */
const MAX_HEAD = 14_000;

/** The size of a request's head without the Authorization header, roughly. */
function headSize(r: Pick<FuzzRequest, 'method' | 'target' | 'headers'>): number {
  return r.method.length + r.target.length + Object.entries(r.headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
}

/**
 * Request targets Node's HTTP parser refuses before the application sees them: raw bytes
 * 0x7F–0xFF (sent as Latin-1: 400), a head over 16 KiB (431).
 */
const RAW_BYTE_TARGETS = [
  `/fhir/Patient?name=${'x'.repeat(17_000)}`,
  '/fhir/Pati\u00e9nt',
  '/fhir/Patient/a\u007fb',
  '/fhir/Patient?name=\u00ff\u00fe',
  '/fhir/Patient/\u0085',
];

/** A header value node:http accepts (tab, printable ASCII, Latin-1). */
function headerSafe(s: string): string {
  return s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
}

// ---------------------------------------------------------------------------------------------
// Generators

function pick<T>(xs: readonly T[], n: number): T {
  return xs[n % xs.length];
}

const typeArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant('Patient') },
  { weight: 10, arbitrary: fc.constantFrom(...REAL_TYPES) },
  { weight: 2, arbitrary: fc.constantFrom(...BOGUS_TYPES) },
);

function idArb(seeds: FuzzSeeds, type: string): fc.Arbitrary<string> {
  const known = seeds.ids[type] ?? [];
  const anyKnown = Object.values(seeds.ids).flat();
  return fc.oneof(
    { weight: known.length > 0 ? 8 : 0, arbitrary: fc.constantFrom(...(known.length > 0 ? known : ['x'])) },
    { weight: anyKnown.length > 0 ? 2 : 0, arbitrary: fc.constantFrom(...(anyKnown.length > 0 ? anyKnown : ['x'])) },
    { weight: 3, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9\-.]{1,64}$/) },
    { weight: 3, arbitrary: fc.constantFrom(...ODD_SEGMENTS) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }).map(encodeValue) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 10 }).map(rawish) },
  );
}

const vidArb = fc.oneof(
  fc.constantFrom('1', '2', '3', '0', '-1', '999999999999', '1.0', 'x', '%00', '', '1e3', '00001'),
  fc.nat({ max: 5 }).map(String),
);

type Shape =
  | 'type'
  | 'instance'
  | 'history-instance'
  | 'vread'
  | 'history-type'
  | 'history-system'
  | 'search-post'
  | 'op-type'
  | 'op-instance'
  | 'op-system'
  | 'root'
  | 'metadata'
  | 'export-status'
  | 'segments';

interface PathSpec {
  shape: Shape;
  type: string;
  id: string;
  path: string;
  op?: string;
}

function pathArb(seeds: FuzzSeeds): fc.Arbitrary<PathSpec> {
  const withType = typeArb.chain((type) =>
    fc
      .tuple(
        fc.constantFrom<Shape>(
          'type',
          'type',
          'type',
          'instance',
          'instance',
          'instance',
          'history-instance',
          'vread',
          'history-type',
          'search-post',
          'op-type',
          'op-type',
          'op-instance',
        ),
        idArb(seeds, type),
        vidArb,
        fc.constantFrom(...OPERATIONS),
        fc.constantFrom('', '', '', '', '/', '//'),
      )
      .map(([shape, id, vid, op, trail]): PathSpec => {
        const t = `/fhir/${type}`;
        const path = {
          type: t,
          instance: `${t}/${id}`,
          'history-instance': `${t}/${id}/_history`,
          vread: `${t}/${id}/_history/${vid}`,
          'history-type': `${t}/_history`,
          'search-post': `${t}/_search`,
          'op-type': `${t}/$${op}`,
          'op-instance': `${t}/${id}/$${op}`,
        }[shape as 'type'];
        return { shape, type, id, path: path + trail, op };
      }),
  );
  const other = fc.oneof(
    fc.constant<PathSpec>({ shape: 'history-system', type: '', id: '', path: '/fhir/_history' }),
    fc.constantFrom('/fhir', '/fhir/', '/fhir//').map((path): PathSpec => ({ shape: 'root', type: '', id: '', path })),
    fc
      .constantFrom('/fhir/metadata', '/fhir/metadata/', '/fhir/.well-known/smart-configuration')
      .map((path): PathSpec => ({ shape: 'metadata', type: '', id: '', path })),
    fc.constantFrom(...OPERATIONS).map((op): PathSpec => ({ shape: 'op-system', type: '', id: '', op, path: `/fhir/$${op}` })),
    fc
      .tuple(fc.oneof(fc.uuid(), fc.constantFrom(...ODD_SEGMENTS)), fc.option(fc.constantFrom('0', '1', 'x', '-1', '99')))
      .map(([id, n]): PathSpec => ({ shape: 'export-status', type: '', id, path: `/fhir/_export/${id}${n === null ? '' : `/${n}`}` })),
    fc
      .array(fc.oneof(fc.constantFrom(...ODD_SEGMENTS), typeArb), { minLength: 1, maxLength: 6 })
      .map((segs): PathSpec => ({ shape: 'segments', type: segs[0] ?? '', id: segs[1] ?? '', path: `/fhir/${segs.join('/')}` })),
  );
  return fc.oneof({ weight: 9, arbitrary: withType }, { weight: 2, arbitrary: other });
}

const valueArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom(...SEARCH_VALUES) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...PREFIXES), fc.constantFrom(...SEARCH_VALUES)).map(([p, v]) => p + v) },
  { weight: 2, arbitrary: fc.integer({ min: -5, max: 2000 }).map(String) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.nat({ max: 6000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.nat({ max: 900 }).map((n) => '山'.repeat(n)) },
  {
    weight: 1,
    arbitrary: fc.array(fc.constantFrom(...SEARCH_VALUES), { minLength: 2, maxLength: 5 }).map((xs) => xs.join(',')),
  },
);

function paramNameArb(type: string): fc.Arbitrary<string> {
  const own = SEARCH_PARAMS[type] ?? SEARCH_PARAMS['Patient'] ?? [];
  const all = Object.values(SEARCH_PARAMS).flat();
  return fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...own), fc.constantFrom(...MODIFIERS)).map(([n, m]) => n + m) },
    { weight: 2, arbitrary: fc.constantFrom(...all) },
    { weight: 3, arbitrary: fc.constantFrom(...COMMON_PARAMS) },
    { weight: 6, arbitrary: fc.constantFrom(...RESULT_PARAMS) },
    { weight: 2, arbitrary: fc.constantFrom(...CHAINS) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 12 }) },
    { weight: 1, arbitrary: fc.constantFrom('', '=', '&', '%00', '_', '__proto__', 'constructor', 'x'.repeat(300)) },
  );
}

type Encoding = 'encode' | 'raw' | 'plus';
const encodingArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Encoding>('encode') },
  { weight: 1, arbitrary: fc.constant<Encoding>('raw') },
  { weight: 1, arbitrary: fc.constant<Encoding>('plus') },
);

function encodePart(s: string, how: Encoding): string {
  if (how === 'raw') return rawish(s);
  const e = encodeValue(s);
  return how === 'plus' ? e.replace(/%20/g, '+') : e;
}

function queryArb(type: string): fc.Arbitrary<[string, string][]> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant<[string, string][]>([]) },
    { weight: 4, arbitrary: fc.array(fc.tuple(paramNameArb(type), valueArb), { minLength: 1, maxLength: 5 }) },
  );
}

function queryString(pairs: readonly [string, string][], how: Encoding, bare: boolean): string {
  if (pairs.length === 0) return '';
  return pairs
    .map(([k, v], i) => (bare && i === 0 && v === '' ? encodePart(k, how) : `${encodePart(k, how)}=${encodePart(v, how)}`))
    .join('&');
}

// Bodies -----------------------------------------------------------------------------------

type MutationKind = 'set' | 'delete' | 'wrap-array' | 'unwrap' | 'add-key' | 'swap-type' | 'stringify';

interface Mutation {
  at: number;
  kind: MutationKind;
  value: unknown;
  key: string;
}

const mutantValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, [], {}, '', [null], [[]], [{}], true, false, 0, -1, 1.5, ' '),
  fc.constantFrom(...RAW_NUMBERS).map((t) => new RawNumber(t)),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('a\u0000b', '\u0001', 'tab\tok', 'line\nbreak', '\u007f', '\u0085', '\ud800', '\udc00x', '\u202e', '\ufeff', '\u2028'),
  fc.constantFrom(...NARRATIVES).map((div) => ({ status: 'generated', div })),
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 1, max: 200 }).map((n) => nest(n)),
  fc.nat({ max: 300_000 }).map((n) => 'x'.repeat(n)),
  fc.nat({ max: 3000 }).map((n) => Array.from({ length: n }, (_v, i) => ({ system: 'urn:x', value: String(i) }))),
  fc.constantFrom('Patient/x', 'urn:uuid:00000000-0000-0000-0000-000000000000', '#contained', 'http://evil.example/Patient/1', '../x'),
  fc.constantFrom('1980-02-30', '1980', '-0001-01-01', '2020-01-01T25:00:00Z', '10000-01-01', 'T'),
);

/** A value nested n levels deep, alternating objects and arrays. */
function nest(n: number): unknown {
  let v: unknown = 'deep';
  for (let i = 0; i < n; i++) v = i % 2 ? [v] : { extension: v };
  return v;
}

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom<MutationKind>('set', 'set', 'set', 'delete', 'wrap-array', 'unwrap', 'add-key', 'swap-type', 'stringify'),
  value: mutantValueArb,
  key: fc.oneof(
    fc.constantFrom(
      'resourceType',
      'id',
      'meta',
      'text',
      'extension',
      'modifierExtension',
      'contained',
      'identifier',
      'name',
      'subject',
      'patient',
      'status',
      '_birthDate',
      '__proto__',
      'constructor',
      '',
      'fhir_comments',
      'implicitRules',
      'language',
    ),
    fc.string({ unit: 'grapheme-ascii', maxLength: 8 }),
  ),
});

/** Every (container, key) of a JSON tree, root first (depth ≤ 12). */
function slots(root: unknown): [Record<string, unknown> | unknown[], string | number][] {
  const out: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (node: unknown, depth: number): void => {
    if (depth > 12 || typeof node !== 'object' || node === null || node instanceof RawNumber) return;
    if (Array.isArray(node)) {
      node.forEach((v, i) => {
        out.push([node, i]);
        walk(v, depth + 1);
      });
    } else {
      for (const [k, v] of Object.entries(node)) {
        out.push([node as Record<string, unknown>, k]);
        walk(v, depth + 1);
      }
    }
  };
  walk(root, 0);
  return out;
}

function swapType(v: unknown): unknown {
  if (typeof v === 'string') return v.length;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 0;
  if (Array.isArray(v)) return v[0] ?? {};
  if (v && typeof v === 'object') return [v];
  return 'null';
}

function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** A deep copy of `resource` with the mutations applied at the slots they pick. */
export function mutate(resource: unknown, mutations: readonly Mutation[]): unknown {
  const root = structuredClone(resource) as Record<string, unknown>;
  // Each inserted value is a copy: fast-check may hand the same object to two mutations, and
  // inserting it into itself would make a cycle no JSON can carry.
  const fresh = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(fresh) : isPlainObject(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fresh(x)])) : v;
  for (const m of mutations) {
    const all = slots(root);
    if (m.kind === 'add-key' || all.length === 0) {
      const objects = [root, ...all.map(([c, k]) => (c as Record<string, unknown>)[k as string]).filter(isPlainObject)];
      setOwn(pick(objects, m.at), m.key, fresh(m.value));
      continue;
    }
    const [container, key] = pick(all, m.at);
    const c = container as Record<string | number, unknown>;
    const old = c[key];
    switch (m.kind) {
      case 'set':
        c[key] = fresh(m.value);
        break;
      case 'delete':
        if (Array.isArray(container)) container.splice(key as number, 1);
        else Reflect.deleteProperty(container, key);
        break;
      case 'wrap-array':
        c[key] = [old];
        break;
      case 'unwrap':
        c[key] = Array.isArray(old) ? old[0] : old;
        break;
      case 'swap-type':
        c[key] = swapType(old);
        break;
      case 'stringify':
        c[key] = old instanceof RawNumber ? old.text : JSON.stringify(old ?? null);
        break;
    }
  }
  return root;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RawNumber);
}

function examplesOf(seeds: FuzzSeeds, type: string): readonly Resource[] {
  const own = seeds.examples.filter((r) => r.resourceType === type);
  return own.length > 0 ? own : seeds.examples;
}

function exampleArb(seeds: FuzzSeeds, type: string): fc.Arbitrary<Resource> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...examplesOf(seeds, type)) },
    { weight: 1, arbitrary: fc.constantFrom(...seeds.examples) },
  );
}

/** A corpus resource, as it is (often) or mutated. */
function resourceValueArb(seeds: FuzzSeeds, type: string): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 2, arbitrary: exampleArb(seeds, type) },
    {
      weight: 5,
      arbitrary: fc.tuple(exampleArb(seeds, type), fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([r, ms]) => mutate(r, ms)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(exampleArb(seeds, type), fc.constantFrom('Foo', '', 'patient', 'Bundle', 'Parameters', 'OperationOutcome', 'AuditEvent'))
        .map(([r, rt]) => ({ ...r, resourceType: rt })),
    },
  );
}

/** Body text, its content type, and whether it is meant as XML. */
interface BodySpec {
  text: string;
  contentType: string;
}

const NON_JSON = [
  'null',
  'true',
  '[]',
  '{}',
  '"x"',
  '1',
  '{',
  '{"resourceType":',
  '\ufeff{"resourceType":"Patient"}',
  '{"resourceType":"Patient"}garbage',
  '{"resourceType":"Patient","resourceType":"Observation"}',
  '{"resourceType":"Patient","gender":"male","gender":"female"}',
  '{"resourceType":"Patient","__proto__":{"polluted":true}}',
  '{"resourceType":"Patient","constructor":{"prototype":{"polluted":true}}}',
  'NaN',
  '<Patient/>',
  'resourceType=Patient',
  '{"resourceType":"Patient","birthDate":"1980-01-01\\u0000"}',
  '{"resourceType":"Patient","name":[{"family":"\\ud800"}]}',
  `${'['.repeat(60_000)}${']'.repeat(60_000)}`,
  `{"resourceType":"Patient","extension":${'['.repeat(129)}${']'.repeat(129)}}`,
  '\u0000',
  ' ',
];

function jsonBody(valueArb: fc.Arbitrary<unknown>): fc.Arbitrary<BodySpec> {
  return valueArb.map((v) => ({ text: jsonText(v), contentType: 'application/fhir+json' }));
}

const XML_EDITS = [
  'truncate',
  'doctype',
  'namespace',
  'unknown-element',
  'bad-value',
  'nul-ref',
  'surrogate-ref',
  'latin1-decl',
  'bom',
  'prefixed',
  'duplicate-attr',
  'unclosed',
  'comment',
  'deep',
  'cdata',
  'pi',
  'huge-attr',
  'two-roots',
  'entity',
] as const;

function editXml(xml: string, edit: (typeof XML_EDITS)[number], n: number): string {
  const open = xml.indexOf('>', xml.indexOf('<', xml.startsWith('<?xml') ? 2 : 0)) + 1;
  switch (edit) {
    case 'truncate':
      return xml.slice(0, n % Math.max(1, xml.length));
    case 'doctype':
      return `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>${xml.replace(/^<\?xml[^>]*>/, '')}`;
    case 'namespace':
      return xml.replace('http://hl7.org/fhir', pick(['http://hl7.org/fhir/', 'urn:x', '', 'http://www.w3.org/1999/xhtml'], n));
    case 'unknown-element':
      return `${xml.slice(0, open)}<foo value="x"/>${xml.slice(open)}`;
    case 'bad-value':
      return xml.replace(/value="[^"]*"/, `value="${pick(['', '<', '&', '&amp;&lt;', '1e400', '\u0001', 'x'.repeat(10_000)], n)}"`);
    case 'nul-ref':
      return xml.replace(/value="[^"]*"/, 'value="&#0;"');
    case 'surrogate-ref':
      return xml.replace(/value="[^"]*"/, 'value="&#xD800;"');
    case 'latin1-decl':
      return `<?xml version="1.0" encoding="ISO-8859-1"?>${xml.replace(/^<\?xml[^>]*>/, '')}`;
    case 'bom':
      return `\ufeff${xml}`;
    case 'prefixed':
      return xml.replace(/<(\/?)([A-Za-z])/g, '<$1f:$2').replace('xmlns=', 'xmlns:f=');
    case 'duplicate-attr':
      return xml.replace(/value="([^"]*)"/, 'value="$1" value="$1"');
    case 'unclosed':
      return xml.replace(/<\/[A-Za-z]+>\s*$/, '');
    case 'comment':
      return `${xml.slice(0, open)}<!-- -- -->${xml.slice(open)}`;
    case 'deep':
      return `${xml.slice(0, open)}${'<extension url="x">'.repeat(50 + (n % 200))}${'</extension>'.repeat(50 + (n % 200))}${xml.slice(open)}`;
    case 'cdata':
      return xml.replace(/value="[^"]*"/, 'value="x"><![CDATA[<x>]]></x');
    case 'pi':
      return `${xml.slice(0, open)}<?php echo 1 ?>${xml.slice(open)}`;
    case 'huge-attr':
      return `${xml.slice(0, open)}<id value="${'a'.repeat(200_000)}"/>${xml.slice(open)}`;
    case 'two-roots':
      return `${xml}${xml.replace(/^<\?xml[^>]*>/, '')}`;
    case 'entity':
      return xml.replace(/value="[^"]*"/, 'value="&lol;"');
  }
}

function xmlBodyArb(seeds: FuzzSeeds, type: string, toXml: (r: unknown) => string | undefined): fc.Arbitrary<BodySpec> {
  const asXml = (r: unknown): string =>
    toXml(r) ?? `<${String((r as { resourceType?: unknown }).resourceType)} xmlns="http://hl7.org/fhir"/>`;
  return fc.oneof(
    { weight: 3, arbitrary: exampleArb(seeds, type).map((r) => ({ text: asXml(r), contentType: 'application/fhir+xml' })) },
    { weight: 2, arbitrary: resourceValueArb(seeds, type).map((r) => ({ text: asXml(r), contentType: 'application/fhir+xml' })) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(exampleArb(seeds, type), fc.constantFrom(...XML_EDITS), fc.nat())
        .map(([r, e, n]) => ({ text: editXml(asXml(r), e, n), contentType: 'application/fhir+xml' })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          '<Patient xmlns="http://hl7.org/fhir"><gender value="male"/></Patient>',
          '<Patient xmlns="http://hl7.org/fhir"><name><family value="山田"/></name><name><family value="ヤマダ"/></name></Patient>',
          '<Foo xmlns="http://hl7.org/fhir"/>',
          '<Patient/>',
          '<?xml version="1.0"?>',
          '',
          '<',
          '<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><script>x</script></div></text></Patient>',
          '<Patient xmlns="http://hl7.org/fhir"><birthDate value="1980-01-01"><extension url="x"><valueString value="y"/></extension></birthDate><birthDate value="1981-01-01"/></Patient>',
          '<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="resource"/><resource><Patient><gender value="male"/></Patient></resource></parameter></Parameters>',
          '<Bundle xmlns="http://hl7.org/fhir"><type value="transaction"/><entry><request><method value="POST"/><url value="Patient"/></request><resource><Patient/></resource></entry></Bundle>',
        )
        .map((text) => ({ text, contentType: 'application/fhir+xml' })),
    },
  );
}

function bundleBodyArb(seeds: FuzzSeeds): fc.Arbitrary<unknown> {
  const anyId = Object.entries(seeds.ids).flatMap(([t, ids]) => ids.map((id) => `${t}/${id}`));
  const ref = fc.oneof(fc.constantFrom(...(anyId.length > 0 ? anyId : ['Patient/x'])), fc.constantFrom(...ODD_SEGMENTS));
  const entry: fc.Arbitrary<unknown> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.tuple(fc.uuid(), exampleArb(seeds, 'Patient')).map(([u, r]) => ({
        fullUrl: `urn:uuid:${u}`,
        resource: r,
        request: { method: 'POST', url: r.resourceType },
      })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(ref, resourceValueArb(seeds, 'Patient')).map(([u, r]) => ({
        resource: isPlainObject(r) ? { ...r, id: u.split('/')[1] } : r,
        request: { method: 'PUT', url: u },
      })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(ref, queryArb('Patient')).map(([u, q]) => ({
        request: { method: 'GET', url: q.length > 0 ? `${u.split('/')[0] ?? ''}?${queryString(q, 'encode', false)}` : u },
      })),
    },
    { weight: 1, arbitrary: ref.map((u) => ({ request: { method: 'DELETE', url: u } })) },
    {
      weight: 1,
      arbitrary: fc.tuple(exampleArb(seeds, 'Patient'), valueArb).map(([r, v]) => ({
        resource: r,
        request: { method: 'POST', url: r.resourceType, ifNoneExist: `identifier=${encodeValue(v)}` },
      })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(exampleArb(seeds, 'Patient'), valueArb).map(([r, v]) => ({
        resource: r,
        request: { method: 'PUT', url: `${r.resourceType}?identifier=${encodeValue(v)}` },
      })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>(
        null,
        {},
        'x',
        [],
        { request: null },
        { request: { method: 'FOO', url: 5 } },
        { request: { method: 'POST' } },
        { request: { url: 'Patient' } },
        { resource: 'x', request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Observation' } },
        { request: { method: 'POST', url: 'Patient/$match' }, resource: { resourceType: 'Parameters' } },
        { request: { method: 'POST', url: 'Patient/$register' }, resource: { resourceType: 'Parameters' } },
        { request: { method: 'GET', url: 'Patient/$export' } },
        { request: { method: 'GET', url: 'metadata' } },
        { request: { method: 'GET', url: 'http://evil.example/fhir/Patient' } },
        { request: { method: 'GET', url: '../../etc/passwd' } },
        { request: { method: 'GET', url: 'Patient/%ZZ' } },
        { request: { method: 'GET', url: 'Patient?name=%00' } },
        { request: { method: 'GET', url: '' } },
        { request: { method: 'POST', url: '' }, resource: { resourceType: 'Bundle', type: 'transaction', entry: [] } },
        {
          fullUrl: 'urn:uuid:11111111-1111-1111-1111-111111111111',
          resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:missing' } },
          request: { method: 'POST', url: 'Observation' },
        },
        {
          fullUrl: 'urn:uuid:22222222-2222-2222-2222-222222222222',
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'x' },
            subject: { reference: 'urn:uuid:22222222-2222-2222-2222-222222222222' },
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ),
    },
  );
  return fc
    .tuple(
      fc.constantFrom<unknown>(
        'transaction',
        'transaction',
        'batch',
        'batch',
        'transaction-response',
        'searchset',
        'collection',
        'bogus',
        undefined,
        5,
      ),
      fc.array(entry, { maxLength: 6 }),
      fc.array(mutationArb, { maxLength: 2 }),
      fc.boolean(),
    )
    .map(([type, entries, ms, dupFullUrl]) => {
      const e =
        dupFullUrl && entries.length > 1 && isPlainObject(entries[0]) && isPlainObject(entries[1])
          ? [entries[0], { ...entries[1], fullUrl: entries[0]['fullUrl'] }, ...entries.slice(2)]
          : entries;
      const b = { resourceType: 'Bundle', ...(type === undefined ? {} : { type }), entry: e };
      return ms.length > 0 ? mutate(b, ms) : b;
    });
}

interface Part {
  name: string;
  [k: string]: unknown;
}

/** Parameters for an operation, built right and then (often) broken. */
function parametersArb(seeds: FuzzSeeds, op: string): fc.Arbitrary<unknown> {
  const patient = resourceValueArb(seeds, 'Patient');
  const anyPatientId = (seeds.ids['Patient'] ?? ['x'])[0] ?? 'x';
  let good: fc.Arbitrary<Part[]>;
  switch (op) {
    case 'match':
      good = fc
        .tuple(
          patient,
          fc.option(fc.constantFrom<unknown>(true, false, 'yes', 1)),
          fc.option(fc.constantFrom<unknown>(1, 5, 0, -1, 1e9, 1.5, '3')),
        )
        .map(([p, only, count]) => [
          { name: 'resource', resource: p },
          ...(only === null ? [] : [{ name: 'onlyCertainMatches', valueBoolean: only }]),
          ...(count === null ? [] : [{ name: 'count', valueInteger: count }]),
        ]);
      break;
    case 'register':
      good = fc
        .array(
          fc.tuple(
            fc.nat({ max: 9_999_999 }),
            fc.option(fc.string({ maxLength: 12 })),
            fc.constantFrom('1980-04-01', '2001-12-31', '1899-01-01', '2999-01-01'),
          ),
          { minLength: 1, maxLength: 4 },
        )
        .map((rs) =>
          (
            registerBody(
              rs.map(([n, rec, birthDate]) => ({
                ...(rec === null ? {} : { record: rec }),
                patient: registrationPatient({ insurer: insurerNumber('0601234'), number: String(n), birthDate }),
              })),
            ).parameter ?? []
          ).map((p): Part => ({ ...p, name: p.name ?? '' })),
        );
      break;
    case 'validate':
      good = fc
        .tuple(
          resourceValueArb(seeds, 'Patient'),
          fc.option(fc.constantFrom('create', 'update', 'delete', 'bogus', 'profile')),
          fc.option(
            fc.constantFrom(
              'http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient',
              'http://hl7.org/fhir/StructureDefinition/Patient',
              'http://example.org/none',
              'not a uri',
              '',
            ),
          ),
        )
        .map(([r, mode, profile]) => [
          { name: 'resource', resource: r },
          ...(mode === null ? [] : [{ name: 'mode', valueCode: mode }]),
          ...(profile === null ? [] : [{ name: 'profile', valueUri: profile }]),
        ]);
      break;
    case 'submit':
      good = resourceValueArb(seeds, 'CoverageEligibilityRequest').map((r) => [{ name: 'resource', resource: r }]);
      break;
    case 'ihe-pix':
      good = fc
        .tuple(valueArb, fc.option(fc.constantFrom('urn:oid:1.2.392.200119.6.102', 'urn:x', '')))
        .map(([v, t]) => [{ name: 'sourceIdentifier', valueString: v }, ...(t === null ? [] : [{ name: 'targetSystem', valueUri: t }])]);
      break;
    case 'merge':
    case 'unmerge':
      good = fc
        .tuple(
          fc.constantFrom(`Patient/${anyPatientId}`, 'Patient/x', 'Observation/1', '', 'urn:uuid:x'),
          fc.constantFrom(`Patient/${anyPatientId}`, 'Patient/y'),
        )
        .map(([a, b]) => [
          { name: 'source-patient', valueReference: { reference: a } },
          ...(op === 'merge' ? [{ name: 'target-patient', valueReference: { reference: b } }] : []),
          { name: 'preview', valueBoolean: true },
        ]);
      break;
    case 'record-death':
      good = fc.constantFrom('2020-01-01', '2999-01-01', '1800-01-01', 'x', '').map((d) => [{ name: 'date', valueDate: d }]);
      break;
    case 'break-the-glass':
      good = fc.oneof(valueArb, fc.constant('emergency')).map((r) => [{ name: 'reason', valueString: r }]);
      break;
    case 'export':
      good = fc
        .tuple(
          fc.option(fc.constantFrom('2020-01-01T00:00:00Z', 'x', '')),
          fc.option(fc.constantFrom('Patient', 'Patient,Coverage', 'Foo', '')),
        )
        .map(([since, type]) => [
          ...(since === null ? [] : [{ name: '_since', valueInstant: since }]),
          ...(type === null ? [] : [{ name: '_type', valueString: type }]),
        ]);
      break;
    default:
      good = fc.array(fc.record({ name: fc.constantFrom('resource', 'x', '', 'patient'), valueString: fc.string({ maxLength: 8 }) }), {
        maxLength: 3,
      });
  }
  const breakPart = fc.record({
    at: fc.nat(),
    how: fc.constantFrom('drop', 'dup', 'wrong-type', 'part', 'resource-value', 'no-name', 'nested', 'bogus-name'),
  });
  return fc.tuple(good, fc.array(breakPart, { maxLength: 3 }), fc.array(mutationArb, { maxLength: 2 })).map(([parts, breaks, ms]) => {
    const ps: unknown[] = [...parts];
    for (const b of breaks) {
      if (ps.length === 0) break;
      const i = b.at % ps.length;
      const p = ps[i] as Part;
      switch (b.how) {
        case 'drop':
          ps.splice(i, 1);
          break;
        case 'dup':
          ps.push(p);
          break;
        case 'wrong-type':
          ps[i] = { name: p.name, valueQuantity: { value: 1 } };
          break;
        case 'part':
          ps[i] = { name: p.name, part: [p] };
          break;
        case 'resource-value':
          ps[i] = { name: p.name, resource: 'x' };
          break;
        case 'no-name':
          ps[i] = { ...p, name: undefined };
          break;
        case 'nested':
          ps[i] = { name: p.name, part: [{ name: 'x', part: [{ name: 'y', part: [p] }] }] };
          break;
        case 'bogus-name':
          ps[i] = { ...p, name: '$$' };
          break;
      }
    }
    const body = { resourceType: 'Parameters', parameter: ps };
    return ms.length > 0 ? mutate(body, ms) : body;
  });
}

function bodyArb(seeds: FuzzSeeds, p: PathSpec, toXml: (r: unknown) => string | undefined): fc.Arbitrary<BodySpec | undefined> {
  const type = REAL_TYPES.includes(p.type) ? p.type : 'Patient';
  const op = p.op ?? '';
  const fitting: fc.Arbitrary<BodySpec> =
    p.shape === 'root'
      ? jsonBody(bundleBodyArb(seeds))
      : p.shape.startsWith('op-')
        ? jsonBody(parametersArb(seeds, op))
        : p.shape === 'search-post'
          ? fc
              .tuple(queryArb(type), encodingArb)
              .map(([q, how]) => ({ text: queryString(q, how, false), contentType: 'application/x-www-form-urlencoded' }))
          : jsonBody(
              resourceValueArb(seeds, type).map((r) => (p.shape === 'instance' && isPlainObject(r) ? { ...r, id: decodeMaybe(p.id) } : r)),
            );
  return fc.oneof(
    { weight: 14, arbitrary: fitting },
    { weight: 3, arbitrary: xmlBodyArb(seeds, type, toXml) },
    { weight: 1, arbitrary: jsonBody(bundleBodyArb(seeds)) },
    { weight: 1, arbitrary: jsonBody(parametersArb(seeds, pick(OPERATIONS, op.length))) },
    { weight: 2, arbitrary: fc.constantFrom(...NON_JSON).map((text) => ({ text, contentType: 'application/fhir+json' })) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((text) => ({ text, contentType: 'application/fhir+json' })) },
    {
      weight: 1,
      arbitrary: fc.tuple(exampleArb(seeds, type), fc.nat()).map(([r, n]) => {
        const t = jsonText(r);
        return { text: t.slice(0, n % t.length), contentType: 'application/fhir+json' };
      }),
    },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

function decodeMaybe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function sensibleMethod(shape: Shape): fc.Arbitrary<string> {
  switch (shape) {
    case 'type':
      return fc.constantFrom('GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE');
    case 'instance':
      return fc.constantFrom('GET', 'GET', 'PUT', 'PUT', 'DELETE', 'HEAD');
    case 'op-type':
    case 'op-instance':
    case 'op-system':
      return fc.constantFrom('POST', 'POST', 'GET');
    case 'search-post':
    case 'root':
      return fc.constantFrom('POST', 'POST', 'POST', 'GET');
    case 'export-status':
      return fc.constantFrom('GET', 'DELETE');
    case 'history-instance':
    case 'vread':
    case 'history-type':
    case 'history-system':
    case 'metadata':
    case 'segments':
      return fc.constant('GET');
  }
}

interface HeaderSpec {
  accept: string | null;
  contentType: string | null;
  ifMatch: string | null;
  ifNoneExist: string | null;
  ifNoneMatch: string | null;
  ifModifiedSince: string | null;
  prefer: string | null;
  purpose: string | null;
  random: [string, string] | null;
}

/** `arb` in `percent` % of cases, else null. */
function sometimes<T>(arb: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: 100 - percent, arbitrary: fc.constant(null) }, { weight: percent, arbitrary: arb });
}

const headersArb: fc.Arbitrary<HeaderSpec> = fc.record({
  accept: sometimes(fc.constantFrom(...ACCEPTS), 40),
  contentType: sometimes(fc.constantFrom(...CONTENT_TYPES), 12),
  ifMatch: sometimes(fc.constantFrom(...IF_MATCHES), 10),
  ifNoneExist: sometimes(
    fc.tuple(fc.constantFrom('identifier', 'name', 'family', '_id', 'bogus', ''), valueArb).map(([k, v]) => `${k}=${encodeValue(v)}`),
    8,
  ),
  ifNoneMatch: sometimes(fc.constantFrom('W/"1"', '*', 'x'), 5),
  ifModifiedSince: sometimes(fc.constantFrom('Wed, 21 Oct 2015 07:28:00 GMT', 'x', '2020-01-01'), 5),
  prefer: sometimes(fc.constantFrom(...PREFERS), 20),
  purpose: sometimes(fc.constantFrom(...PURPOSES), 6),
  random: sometimes(
    fc.tuple(
      fc.constantFrom('x-forwarded-for', 'x-http-method-override', 'origin', 'cookie', 'range', 'te', 'x-fhir-starter'),
      fc.string({ unit: 'grapheme-ascii', maxLength: 20 }),
    ),
    8,
  ),
});

const authArb = fc.oneof(
  { weight: 92, arbitrary: fc.constant<AuthKind>('valid') },
  { weight: 3, arbitrary: fc.constant<AuthKind>('none') },
  { weight: 3, arbitrary: fc.constant<AuthKind>('invalid') },
  { weight: 2, arbitrary: fc.constant<AuthKind>('malformed') },
);

/** Fuzzed requests of every kind. */
function fuzzedRequestArb(seeds: FuzzSeeds, toXml: (r: unknown) => string | undefined): fc.Arbitrary<FuzzRequest> {
  return pathArb(seeds).chain((p) => {
    const type = REAL_TYPES.includes(p.type) ? p.type : 'Patient';
    return fc
      .record({
        method: fc.oneof({ weight: 8, arbitrary: sensibleMethod(p.shape) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
        query: queryArb(type),
        how: encodingArb,
        bare: fc.boolean(),
        headers: headersArb,
        auth: authArb,
        body: bodyArb(seeds, p, toXml),
        bodyOnAnyMethod: fc.nat({ max: 19 }),
        encoding: fc.constantFrom<FuzzRequest['encoding']>(
          'utf8',
          'utf8',
          'utf8',
          'utf8',
          'utf8',
          'utf8',
          'utf8',
          'utf8',
          'latin1',
          'utf16le',
        ),
      })
      .map((g): FuzzRequest => {
        const sendsBody = g.method === 'POST' || g.method === 'PUT' || g.method === 'PATCH' || g.bodyOnAnyMethod === 0;
        const body = sendsBody ? g.body : undefined;
        const headers: Record<string, string> = {};
        const h = g.headers;
        if (h.accept !== null) headers['accept'] = h.accept;
        if (body) headers['content-type'] = h.contentType ?? body.contentType;
        else if (h.contentType !== null && g.bodyOnAnyMethod === 1) headers['content-type'] = h.contentType;
        if (h.ifMatch !== null) headers['if-match'] = h.ifMatch;
        if (h.ifNoneExist !== null) headers['if-none-exist'] = h.ifNoneExist;
        if (h.ifNoneMatch !== null) headers['if-none-match'] = h.ifNoneMatch;
        if (h.ifModifiedSince !== null) headers['if-modified-since'] = h.ifModifiedSince;
        if (h.prefer !== null) headers['prefer'] = h.prefer;
        if (h.purpose !== null) headers['x-purpose-of-use'] = h.purpose;
        if (h.random !== null) headers[h.random[0]] = headerSafe(h.random[1]);
        // Node's HTTP parser refuses a request head over 16 KiB (431) before the application: keep under it.
        const size = (q: string): number => headSize({ method: g.method, target: `${p.path}?${q}`, headers });
        if (size('') > MAX_HEAD) delete headers['if-none-exist'];
        let pairs = g.query;
        while (pairs.length > 0 && size(queryString(pairs, g.how, g.bare)) > MAX_HEAD) pairs = pairs.slice(0, -1);
        const q = queryString(pairs, g.how, g.bare);
        return {
          family: `fuzz:${p.shape}`,
          method: g.method,
          target: q ? `${p.path}?${q}` : p.path,
          headers,
          auth: g.auth,
          ...(body ? { body: body.text } : {}),
          ...(body && g.encoding !== 'utf8' ? { encoding: g.encoding } : {}),
        };
      });
  });
}

/** Correct requests from the corpus: create, read, update, search by values the examples hold. */
function validRequestArb(seeds: FuzzSeeds, toXml: (r: unknown) => string | undefined): fc.Arbitrary<FuzzRequest> {
  const known = Object.entries(seeds.ids).flatMap(([t, ids]) => ids.map((id) => [t, id] as const));
  const json = { 'content-type': 'application/fhir+json' };
  return fc.oneof(
    fc.tuple(fc.constantFrom(...seeds.examples), fc.boolean()).map(([r, xml]): FuzzRequest => {
      const { id: _id, meta: _meta, ...rest } = r;
      const asXml = xml ? toXml(rest) : undefined;
      return {
        family: xml ? 'valid:create-xml' : 'valid:create',
        method: 'POST',
        target: `/fhir/${r.resourceType}`,
        headers: asXml ? { 'content-type': 'application/fhir+xml', accept: 'application/fhir+xml' } : json,
        auth: 'valid',
        body: asXml ?? jsonText(rest),
      };
    }),
    fc
      .constantFrom(...(known.length > 0 ? known : [['Patient', 'x'] as const]))
      .map(([t, id]): FuzzRequest => ({ family: 'valid:read', method: 'GET', target: `/fhir/${t}/${id}`, headers: {}, auth: 'valid' })),
    fc
      .tuple(fc.constantFrom(...(known.length > 0 ? known : [['Patient', 'x'] as const])), fc.constantFrom(...seeds.examples))
      .filter(([[t], r]) => r.resourceType === t)
      .map(([[t, id], r]): FuzzRequest => ({
        family: 'valid:update',
        method: 'PUT',
        target: `/fhir/${t}/${id}`,
        headers: json,
        auth: 'valid',
        body: jsonText({ ...r, id, meta: undefined }),
      })),
    fc.tuple(fc.constantFrom(...seeds.examples), fc.nat()).map(([r, n]): FuzzRequest => {
      const q = searchFromExample(r, n);
      return { family: 'valid:search', method: 'GET', target: `/fhir/${r.resourceType}?${q}`, headers: {}, auth: 'valid' };
    }),
    fc
      .constantFrom(
        '/fhir/Patient?_count=5&_sort=-_lastUpdated',
        '/fhir/Patient?_summary=count',
        '/fhir/Observation?_include=Observation:subject&_count=3',
        '/fhir/Patient?_revinclude=Observation:subject&_count=3',
        '/fhir/Observation?subject:Patient.gender=male&_count=3',
        '/fhir/Patient?_has:Observation:subject:status=final&_count=3',
        '/fhir/Patient/_history?_count=3',
        '/fhir/_history?_count=3',
        '/fhir/metadata',
        '/fhir/AuditEvent?_count=3',
        '/fhir/Patient?_format=xml&_count=2',
        '/fhir/Patient?_elements=name,birthDate&_count=2',
      )
      .map((target): FuzzRequest => ({ family: 'valid:query', method: 'GET', target, headers: {}, auth: 'valid' })),
  );
}

/** A search a corpus example answers: its own id, a name, a code, an identifier. */
function searchFromExample(r: Resource, n: number): string {
  const o = r as unknown as Record<string, unknown>;
  const options: string[] = [];
  const ident = (o['identifier'] as { system?: string; value?: string }[] | undefined)?.[0];
  if (ident?.value) options.push(`identifier=${encodeValue(`${ident.system ?? ''}|${ident.value}`)}`);
  const name = (o['name'] as { family?: string }[] | undefined)?.[0];
  if (typeof name?.family === 'string') options.push(`family=${encodeValue(name.family)}`);
  if (typeof o['name'] === 'string') options.push(`name=${encodeValue(o['name'])}`);
  const code = (o['code'] as { coding?: { system?: string; code?: string }[] } | undefined)?.coding?.[0];
  if (code?.code) options.push(`code=${encodeValue(`${code.system ?? ''}|${code.code}`)}`);
  if (typeof o['status'] === 'string') options.push(`status=${encodeValue(o['status'])}`);
  if (typeof o['birthDate'] === 'string') options.push(`birthdate=${o['birthDate']}`);
  options.push('_count=2');
  return pick(options, n);
}

/**
 * Every request the fuzz sends: mostly fuzzed, a fifth correct ones from the corpus (and the
 * fuzzed family mutates those same examples). `toXml` writes a resource as FHIR XML
 * (undefined when it cannot: src/fhir/xml/write.ts resourceToFhirXml after loadDefinitions).
 */
export function fuzzRequestArb(seeds: FuzzSeeds, toXml: (r: unknown) => string | undefined): fc.Arbitrary<FuzzRequest> {
  const safeXml = (r: unknown): string | undefined => {
    try {
      return toXml(r);
    } catch {
      return undefined;
    }
  };
  const rawBytes = fc
    .constantFrom(...RAW_BYTE_TARGETS)
    .map((target): FuzzRequest => ({ family: 'http:raw-bytes', method: 'GET', target, headers: {}, auth: 'valid' }));
  return fc.oneof(
    { weight: 80, arbitrary: fuzzedRequestArb(seeds, safeXml) },
    { weight: 20, arbitrary: validRequestArb(seeds, safeXml) },
    { weight: 1, arbitrary: rawBytes },
  );
}

// ---------------------------------------------------------------------------------------------
// Sending

export interface FuzzResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Time to the last byte of the response (ms). */
  ms: number;
  /** Set when no complete response came (connection error, timeout). */
  error?: string;
}

/** The Authorization header a request's auth kind asks for. */
function authorization(kind: AuthKind, token: string, n: number): string | undefined {
  switch (kind) {
    case 'valid':
      return `Bearer ${token}`;
    case 'none':
      return undefined;
    case 'invalid':
      return pick([`Bearer ${token.slice(0, -6)}AAAAAA`, 'Bearer abc.def.ghi', `Bearer ${token}x`, 'Bearer eyJhbGciOiJub25lIn0.e30.'], n);
    case 'malformed':
      return pick(['Basic Zm9vOmJhcg==', 'Bearer', 'Bearer a b', `bearer  ${token} extra`, 'Bearer \u00e9'], n);
  }
}

/** Sends one request over `agent` to the server at `root` (http://host:port). */
export function sendFuzz(
  root: string,
  r: FuzzRequest,
  token: string,
  requestId: string,
  agent: http.Agent,
  timeoutMs = 30_000,
): Promise<FuzzResponse> {
  const u = new URL(root);
  const headers: Record<string, string> = { ...r.headers, 'x-request-id': requestId };
  const auth = authorization(r.auth, token, requestId.length);
  if (auth !== undefined) headers['authorization'] = auth;
  const body = r.body === undefined ? undefined : Buffer.from(r.encoding === 'utf16le' ? `\ufeff${r.body}` : r.body, r.encoding ?? 'utf8');
  if (body) headers['content-length'] = String(body.length);
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (x: Omit<FuzzResponse, 'ms'>): void => {
      if (settled) return;
      settled = true;
      resolve({ ...x, ms: performance.now() - t0 });
    };
    let req: http.ClientRequest;
    try {
      req = http.request({ host: u.hostname, port: u.port, method: r.method, path: r.target, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (e) => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), error: e.message }));
      });
    } catch (e) {
      // node:http refused to send it (a generator bug, not a server finding)
      done({ status: -1, headers: {}, body: Buffer.alloc(0), error: `not sent: ${(e as Error).message}` });
      return;
    }
    req.setTimeout(timeoutMs, () => {
      req.destroy(new Error(`no response within ${timeoutMs} ms`));
    });
    req.on('error', (e) => done({ status: 0, headers: {}, body: Buffer.alloc(0), error: e.message }));
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------------
// Checks

/** The slowest answer allowed. */
export const MAX_RESPONSE_MS = 5000;

const JSON_TYPES = ['application/fhir+json', 'application/json'];
const XML_TYPES = ['application/fhir+xml', 'application/xml', 'text/xml'];

/** The response body read as FHIR JSON (from JSON or XML), or a description of why it cannot be. */
export function readBody(res: FuzzResponse): { value: unknown } | { problem: string } {
  const ct = ((res.headers['content-type'] ?? '').split(';')[0] ?? '').trim().toLowerCase();
  const text = res.body.toString('utf8');
  try {
    if (JSON_TYPES.includes(ct)) return { value: JSON.parse(text) as unknown };
    if (XML_TYPES.includes(ct)) return { value: JSON.parse(fhirXmlToJsonText(text)) as unknown };
    if (ct === 'application/fhir+ndjson' || ct === 'application/ndjson') {
      return {
        value: text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as unknown),
      };
    }
  } catch (e) {
    return { problem: `body is not ${ct}: ${(e as Error).message.slice(0, 120)}` };
  }
  return { problem: `unexpected Content-Type "${ct}"` };
}

/**
 * Everything wrong with a response to a fuzzed request (empty: nothing), given where the model
 * says it is decided (`predictStage`).
 */
export function checkResponse(r: FuzzRequest, res: FuzzResponse, stage: Stage): string[] {
  const asksXml = asksForXml(r);
  const problems: string[] = [];
  if (res.error) {
    problems.push(`no complete response: ${res.error}`);
    return problems;
  }
  if (res.status >= 500 && res.status !== 503) problems.push(`status ${res.status}`);
  if (res.ms > MAX_RESPONSE_MS) problems.push(`slow: ${Math.round(res.ms)} ms`);
  // Node's HTTP parser answers a request line it cannot parse with a bare 400 (no application code runs).
  const noBody =
    r.method === 'HEAD' ||
    res.status === 204 ||
    res.status === 304 ||
    (stage === 'edge-http' && (res.status === 400 || res.status === 431));
  if (noBody) return problems;
  if (res.body.length === 0) {
    const minimal = /return=minimal/.test(r.headers['prefer'] ?? '');
    if (res.status >= 400 || !minimal) problems.push(`empty body with status ${res.status}`);
    return problems;
  }
  const read = readBody(res);
  if ('problem' in read) {
    problems.push(read.problem);
    return problems;
  }
  if (res.status >= 400) {
    const o = read.value as { resourceType?: unknown; issue?: unknown };
    if (o?.resourceType !== 'OperationOutcome' || !Array.isArray(o.issue) || o.issue.length === 0) {
      problems.push(`status ${res.status} without an OperationOutcome`);
    }
    const ct = res.headers['content-type'] ?? '';
    if (asksXml === true && res.status !== 406 && !XML_TYPES.some((t) => ct.startsWith(t))) problems.push(`asked for XML, got ${ct}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Which refusals are audited: a model of the server's pipeline

/** Where a request is decided at the latest, in the server's order. */
export type Stage =
  /** 400/431 from Node's HTTP parser (raw bytes 0x7F–0xFF in the request target, a head over 16 KiB), no body. */
  | 'edge-http'
  /** 401: a token is present but cannot be accepted (http/bearer.ts, before the body is read). */
  | 'edge-token'
  /** 400: a path segment with an invalid %-escape (Express decodes it while routing). */
  | 'edge-path'
  /** 406: neither JSON nor XML acceptable (http/content.ts negotiate). */
  | 'edge-406'
  /** 400: an invalid %-escape or a control character in the URL (http/request-url.ts). */
  | 'edge-url'
  /** 400/403: a declared purpose of use that is unknown or wider than the token's (auth/purpose.ts). */
  | 'edge-purpose'
  /** 415: a body of a type (or charset) the server does not read. */
  | 'edge-415'
  /** 400: a body that is not JSON / XML (core/json.ts, fhir/xml/read.ts). */
  | 'edge-body'
  /** 400/404/405: no route (api/router.ts), or a path segment it cannot decode. */
  | 'no-route'
  /** A public route (metadata). */
  | 'public'
  /** 401: a route that needs a token, and none was sent. */
  | 'anonymous'
  /** Routed, authenticated, but not a route whose refusals the audit hook records. */
  | 'unaudited-route'
  /** Routed, authenticated, and a refusal is audited (api/audit-hook.ts). */
  | 'audited-route';

/** Statuses each edge stage answers with. */
export const EDGE_STATUSES: Partial<Record<Stage, readonly number[]>> = {
  'edge-http': [400, 431],
  'edge-token': [401],
  'edge-path': [400],
  'edge-406': [406],
  'edge-url': [400],
  'edge-purpose': [400, 403],
  'edge-415': [415],
  'edge-body': [400],
  'no-route': [400, 404, 405],
  anonymous: [401],
};

export interface ServerModel {
  /** api/router.ts Router.match on the server's route table (it throws a 400 for a segment it cannot decode). */
  match(method: string, path: string): { route?: { name: string; type?: string; public?: boolean }; params?: Record<string, string> };
  /** Whether a resource type belongs to the Patient compartment (fhir/compartment.ts). */
  inCompartment(type: string): boolean;
  /** The purpose of use the valid token carries. */
  tokenPurpose: string;
  /** The FHIR base's path on the server, e.g. /fhir. */
  mountPath: string;
}

/** Route names whose refusals are audited (api/audit-hook.ts ACTIONS; operations too). */
const AUDITED_ROUTES = new Set([
  'read',
  'vread',
  'search-type',
  'history-instance',
  'history-type',
  'history-system',
  'create',
  'update',
  'conditional-update',
  'patch',
  'conditional-patch',
  'delete',
  'conditional-delete',
]);

function bodyBytes(r: FuzzRequest): number {
  return r.body === undefined ? 0 : Buffer.byteLength(r.encoding === 'utf16le' ? `\ufeff${r.body}` : r.body, r.encoding ?? 'utf8');
}

/** The body as the server reads it (always as UTF-8). */
function bodyAsServerReads(r: FuzzRequest): string {
  if (r.body === undefined) return '';
  const enc = r.encoding ?? 'utf8';
  return enc === 'utf8' ? r.body : Buffer.from(r.encoding === 'utf16le' ? `\ufeff${r.body}` : r.body, enc).toString('utf8');
}

/** The response type a request negotiates, or undefined when it gets 406. */
export function negotiated(r: FuzzRequest): string | undefined {
  // Express reads the query as url.parse does: between '?' and a '#'.
  const { query } = splitTarget(r.target);
  const parsed = query === undefined ? {} : querystring.parse(query);
  const format = typeof parsed['_format'] === 'string' ? parsed['_format'] : undefined;
  try {
    return negotiate(format, r.headers['accept']);
  } catch {
    return undefined;
  }
}

/** Path and query of a request target as Express sees them (a '#' starts a fragment). */
function splitTarget(target: string): { path: string; query: string | undefined } {
  const hash = target.indexOf('#');
  const t = hash < 0 ? target : target.slice(0, hash);
  const q = t.indexOf('?');
  return q < 0 ? { path: t, query: undefined } : { path: t.slice(0, q), query: t.slice(q + 1) };
}

/** Whether the request asks for XML answers (undefined: it cannot be answered at all, 406). */
export function asksForXml(r: FuzzRequest): boolean | undefined {
  const t = negotiated(r);
  return t === undefined ? undefined : isXmlType(t as never);
}

/** Where the server decides the request at the latest (see Stage), following http/fhir-routes.ts step by step. */
export function predictStage(r: FuzzRequest, m: ServerModel): Stage {
  if (/[^\x21-\x7e]/.test(r.target) || headSize(r) > 16_000) return 'edge-http';
  const rawPath = splitTarget(r.target).path;
  // SMART discovery is answered before anything else under the base (app.ts).
  if ((r.method === 'GET' || r.method === 'HEAD') && /^\/\.well-known\/smart-configuration\/?$/i.test(rawPath.slice(m.mountPath.length))) {
    return 'public';
  }
  if (r.auth === 'invalid' || r.auth === 'malformed') return 'edge-token';
  const authenticated = r.auth === 'valid';
  // Express decodes the path's segments while routing `${mount}{/*rest}`.
  for (const seg of rawPath.slice(m.mountPath.length).split('/')) {
    try {
      decodeURIComponent(seg);
    } catch {
      return 'edge-path';
    }
  }
  if (negotiated(r) === undefined) return 'edge-406';
  try {
    checkRequestUrl(r.target);
  } catch {
    return 'edge-url';
  }
  if (authenticated) {
    const given = [...new URL(r.target, 'http://x').searchParams].filter(([k]) => k === 'purpose_of_use').map(([, v]) => v);
    const hdr = r.headers['x-purpose-of-use'];
    const declared = [...given, ...(hdr === undefined ? [] : [hdr])][0]?.trim().toUpperCase();
    try {
      narrowPurpose(m.tokenPurpose, declared || undefined);
    } catch {
      return 'edge-purpose';
    }
    const length = bodyBytes(r);
    let kind;
    try {
      kind = bodyKind(r.headers['content-type'], length);
    } catch {
      return 'edge-415';
    }
    if (kind === 'json' || kind === 'json-patch' || kind === 'xml') {
      const text = bodyAsServerReads(r);
      try {
        parseFhirJson(kind === 'xml' ? fhirXmlToJsonText(text) : text);
      } catch {
        return 'edge-body';
      }
    }
  }
  const path = new URL(r.target, 'http://x').pathname.slice(m.mountPath.length) || '/';
  let match;
  try {
    match = m.match(r.method, path);
  } catch {
    return 'no-route';
  }
  const route = match.route;
  if (!route) return 'no-route';
  if (route.public) return 'public';
  if (!authenticated) return 'anonymous';
  const type = match.params?.['type'] ?? route.type;
  const action = route.name.startsWith('$') || AUDITED_ROUTES.has(route.name);
  return action && (type === undefined || m.inCompartment(type)) ? 'audited-route' : 'unaudited-route';
}

/** The purpose of use a JWT access token carries (medid's purpose_of_use claim). */
export function tokenPurposeOf(token: string, fallback: string): string {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { purpose_of_use?: unknown };
    return typeof payload.purpose_of_use === 'string' ? payload.purpose_of_use : fallback;
  } catch {
    return fallback;
  }
}

// ---------------------------------------------------------------------------------------------
// Reporting

function shorten(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s;
}

/** A request as a short, replayable description (bodies cut; the corpus holds no one's real data). */
export function describe(r: FuzzRequest, bodyChars = 400): string {
  const hs = Object.entries(r.headers)
    .map(([k, v]) => `${k}: ${shorten(v, 80)}`)
    .join('; ');
  const body =
    r.body === undefined
      ? ''
      : `\n    body (${r.encoding ?? 'utf8'}, ${r.body.length} chars): ${shorten(JSON.stringify(r.body), bodyChars)}`;
  return `${r.method} ${shorten(r.target, 300)} [auth ${r.auth}; ${hs}] (${r.family})${body}`;
}

// ---------------------------------------------------------------------------------------------
// Seeding

/** Resource types seeded from the corpus so reads, updates and references find something. */
const SEED_TYPES = ['Patient', 'Observation', 'Encounter', 'Organization', 'Practitioner', 'Condition', 'Coverage', 'Consent', 'Task'];

/**
 * Writes a few corpus examples and registered persons into the server under test and returns
 * the ids that exist there (by type).
 */
export async function seedServer(base: string, token: string, examples: readonly Resource[]): Promise<Record<string, string[]>> {
  const ids: Record<string, string[]> = {};
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' };
  const add = (t: string, id: string): void => {
    (ids[t] ??= []).push(id);
  };
  for (const t of SEED_TYPES) {
    for (const r of examples.filter((x) => x.resourceType === t).slice(0, 3)) {
      const { id: _id, meta: _meta, ...rest } = r;
      const res = await fetch(`${base}/${t}`, { method: 'POST', headers, body: JSON.stringify(rest) });
      const body = (await res.json()) as { id?: string };
      if (res.status === 201 && body.id) add(t, body.id);
    }
  }
  // A Patient under a known, odd-looking but valid id, and an Observation about it.
  const pid = 'fz-pat-1';
  const put = await fetch(`${base}/Patient/${pid}`, {
    method: 'PUT',
    headers,
    body: JSON.stringify({
      resourceType: 'Patient',
      id: pid,
      name: [{ family: '山田', given: ['太郎'] }],
      gender: 'male',
      birthDate: '1980-04-01',
    }),
  });
  await put.text();
  if (put.ok) add('Patient', pid);
  const obs = await fetch(`${base}/Observation`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${pid}` } }),
  });
  const o = (await obs.json()) as { id?: string };
  if (obs.status === 201 && o.id) add('Observation', o.id);
  // Registered persons (with a medical ID), for $match and $ihe-pix to find.
  const reg = await fetch(`${base}/Patient/$register`, {
    method: 'POST',
    headers,
    body: JSON.stringify(
      registerBody(
        [1, 2, 3].map((n) => ({
          record: `r${n}`,
          patient: registrationPatient({ insurer: insurerNumber('0601234'), number: String(n), birthDate: `198${n}-04-01` }),
        })),
      ),
    ),
  });
  const p = (await reg.json()) as { parameter?: { name: string; part?: { name: string; valueReference?: { reference?: string } }[] }[] };
  for (const x of p.parameter ?? []) {
    const ref = x.part?.find((y) => y.name === 'patient')?.valueReference?.reference;
    if (ref?.startsWith('Patient/')) add('Patient', ref.slice(8));
  }
  return ids;
}

/** Corpus examples small enough to fuzz with (bodies stay quick to send and to mutate). */
export function fuzzExamples(all: readonly { text: string; resource: Resource }[], maxChars = 12_000): Resource[] {
  return all.filter((e) => e.text.length <= maxChars).map((e) => e.resource);
}
