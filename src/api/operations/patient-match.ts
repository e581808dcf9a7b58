/**
 * Patient/$match (FHIR R4, IHE PDQm ITI-119): a searchset Bundle of graded candidates, each
 * with search.score, the match-grade extension and medid's match-explanation extension. The
 * matching itself is src/mpi/match.ts; this file is the FHIR shape around it. POST carries the
 * Patient; GET spells it out as search-like query parameters (matchPatientFromQuery).
 */
import type { AccessPolicy } from '../../privacy/access-policy.ts';
import { rowsFor } from '../request.ts';
import type { FhirRequest } from '../request.ts';
import type { Bundle, BundleEntry, Extension, Patient } from '@medplum/fhirtypes';
import { errors } from '../../core/outcome.ts';
import { EXTENSIONS, ID_SYSTEMS, operationUrl } from '../../core/systems.ts';
import { parseJapaneseDate } from '../../jp/date.ts';
import { isKanaOnly } from '../../jp/kana.ts';
import type { Matcher, MatchResult } from '../../mpi/match.ts';
import type { FhirContext } from '../context.ts';
import { defineOperation } from './operation.ts';
import type { OperationHandler } from './operation.ts';

interface MatchInput {
  /** The Patient to match, its birth date already read as a FHIR date. */
  patient: Patient;
  count: number;
  onlyCertainMatches: boolean;
}
const DEFAULT_COUNT = 10;
const MAX_COUNT = 100;

function explanation(r: MatchResult): Extension {
  return {
    url: EXTENSIONS.matchExplanation,
    extension: [
      { url: 'weight', valueDecimal: r.weight },
      ...r.identifiers.map((s) => ({ url: 'identifier', valueUri: s === 'my-number' ? ID_SYSTEMS.myNumber : s })),
      ...r.fields.map((f) => ({
        url: 'field',
        extension: [
          { url: 'name', valueCode: f.field },
          { url: 'result', valueCode: f.level },
          { url: 'weight', valueDecimal: Math.round(f.weight * 100) / 100 },
        ],
      })),
      ...r.notes.map((n) => ({ url: 'note', valueString: n })),
    ],
  };
}

/**
 * The input Patient, with a Japanese-era or slash-separated birth date read as a FHIR date (the
 * operation's documented leniency: desks type 昭和55年4月1日), then validated as a Patient.
 */
function inputPatient(raw: unknown): Patient {
  if (typeof raw !== 'object' || raw === null || (raw as { resourceType?: unknown }).resourceType !== 'Patient') {
    throw errors.badRequest('Parameter resource must be a Patient', 'invalid-parameter', "Parameters.parameter.where(name='resource')");
  }
  const p = raw as Patient;
  if (typeof p.birthDate === 'string' && !/^\d{4}(-\d{2}(-\d{2})?)?$/.test(p.birthDate)) {
    const iso = parseJapaneseDate(p.birthDate);
    if (!iso)
      throw errors.badRequest(
        `Patient.birthDate is not a date (YYYY-MM-DD, or a Japanese era date such as 昭和55年4月1日 or S55.4.1)`,
        'invalid-parameter',
        'Patient.birthDate',
      );
    return { ...p, birthDate: iso };
  }
  return p;
}

/**
 * What the audit record keeps of a $match query: which kinds of data were given and how it
 * ended (released | ambiguous | gather-truncated | no-match), not the values — the record is
 * shown to every person returned, and the query may describe someone else.
 */
function auditQuery(p: Patient, results: readonly MatchResult[], withheld: boolean, truncated: boolean): string {
  const given = givenKinds(p);
  const disposition = truncated
    ? 'gather-truncated'
    : results.length === 0
      ? withheld
        ? 'ambiguous'
        : 'no-match'
      : results.length === 1
        ? 'released'
        : 'ambiguous';
  return new URLSearchParams({ given: given.join(','), disposition, grades: results.map((r) => r.grade).join(',') }).toString();
}

/** Which kinds of data a query Patient gives (identifier systems, never values). */
function givenKinds(p: Patient): string[] {
  // Also called on bodies that failed validation: nothing here may assume a shape.
  const ids: unknown[] = Array.isArray(p.identifier) ? p.identifier : [];
  const system = (i: unknown): string => {
    const s = typeof i === 'object' && i !== null ? (i as { system?: unknown }).system : undefined;
    return typeof s === 'string' && /^[\x21-\x7e]{1,200}$/.test(s) ? s : '?';
  };
  return [
    ...ids.map((i) => `identifier(${system(i)})`),
    ...(Array.isArray(p.name) && p.name.length ? ['name'] : []),
    ...(p.birthDate ? ['birthDate'] : []),
    ...(p.gender ? ['gender'] : []),
    ...(Array.isArray(p.address) && p.address.length ? ['address'] : []),
    ...(Array.isArray(p.telecom) && p.telecom.length ? ['telecom'] : []),
  ];
}

/**
 * The audit record's query of a $match that failed (no response to say what was asked): the
 * kinds of data given, as for a success. A GET carries the person's data in its URL; none of
 * it is kept — a query that cannot even be read leaves only its parameter names.
 */
function failedAuditQuery(req: FhirRequest): string {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const body = req.body as { resourceType?: unknown; parameter?: { name?: unknown; resource?: unknown }[] } | undefined;
    // The body failed: any part of it may have any shape.
    const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
    const given =
      body?.resourceType === 'Patient'
        ? body
        : Array.isArray(body?.parameter)
          ? body.parameter.find((x) => isObject(x) && x.name === 'resource' && isObject(x.resource))?.resource
          : undefined;
    return new URLSearchParams({ given: given ? givenKinds(given as Patient).join(',') : '', disposition: 'failed' }).toString();
  }
  let kinds: string[];
  try {
    kinds = givenKinds(matchPatientFromQuery(req.query));
  } catch {
    kinds = [...new Set(req.query.map(([k]) => k))].filter((k) => /^[a-zA-Z_-]{1,40}$/.test(k)).sort();
  }
  return new URLSearchParams({ given: kinds.join(','), disposition: 'failed' }).toString();
}

/** GET Patient/$match: its query parameters, each with what it sets in the input Patient. */
const QUERY_FIELDS: Readonly<Record<string, string>> = {
  family: 'name.family (kana or kanji; a kana and a kanji name each pair with the given name in the same script)',
  given: 'name.given',
  birthdate: 'birthDate (YYYY-MM-DD or a Japanese era date)',
  gender: 'gender',
  identifier: 'identifier, as system|value (repeatable)',
  telecom: 'telecom (a phone number, or an e-mail address)',
  phone: 'telecom (a phone number)',
  'address-postalcode': 'address.postalCode',
  address: 'address.text',
  'address-state': 'address.state',
  'address-city': 'address.city',
};
/** Query parameters that are not Patient fields: the operation's own, and transport. */
const OWN = new Set(['count', 'onlyCertainMatches', '_format', '_pretty']);

const query = (name: string): string => `Patient/$match?${name}`;

/**
 * The input Patient of GET Patient/$match, from search-like query parameters (FHIR allows GET for
 * an operation only with primitive inputs, so the resource is spelled out as its fields, as PDQm
 * ITI-78 spells a Patient search). An unknown parameter is 400: a field silently ignored would
 * change who is found.
 */
export function matchPatientFromQuery(q: readonly [string, string][]): Patient {
  const unknown = q.find(([k]) => !OWN.has(k) && QUERY_FIELDS[k] === undefined);
  if (unknown) {
    throw errors.badRequest(
      `Parameter ${unknown[0]} is not known to GET Patient/$match (known: ${Object.keys(QUERY_FIELDS).join(', ')}, count, onlyCertainMatches)`,
      'invalid-parameter',
      query(unknown[0]),
    );
  }
  const all = (name: string): string[] =>
    q
      .filter(([k]) => k === name)
      .map(([, v]) => v.trim())
      .filter((v) => v !== '');
  const one = (name: string): string | undefined => {
    const v = all(name);
    if (v.length > 1) throw errors.badRequest(`Parameter ${name} may be given once`, 'invalid-parameter', query(name));
    return v[0];
  };
  const p: Patient = { resourceType: 'Patient' };
  // Names: a kana name and a kanji name, each family with the given name in its own script.
  const names: NonNullable<Patient['name']> = [];
  for (const kana of [false, true]) {
    const families = all('family').filter((v) => isKanaOnly(v) === kana);
    const givens = all('given').filter((v) => isKanaOnly(v) === kana);
    if (families.length === 0 && givens.length === 0) continue;
    const n = Math.max(families.length, 1);
    for (let i = 0; i < n; i++) names.push({ family: families[i], given: i === 0 && givens.length > 0 ? givens : undefined });
  }
  if (names.length > 0) p.name = names.map((n) => Object.fromEntries(Object.entries(n).filter(([, v]) => v !== undefined)));
  const birthDate = one('birthdate');
  if (birthDate) p.birthDate = birthDate;
  const gender = one('gender');
  if (gender) p.gender = gender as Patient['gender'];
  const identifiers = all('identifier').map((v) => {
    const bar = v.indexOf('|');
    if (bar <= 0 || bar === v.length - 1)
      throw errors.badRequest('Parameter identifier must be system|value', 'invalid-parameter', query('identifier'));
    return { system: v.slice(0, bar), value: v.slice(bar + 1) };
  });
  if (identifiers.length > 0) p.identifier = identifiers;
  const telecom = [
    ...all('telecom').map((v) => ({ system: v.includes('@') ? ('email' as const) : ('phone' as const), value: v })),
    ...all('phone').map((v) => ({ system: 'phone' as const, value: v })),
  ];
  if (telecom.length > 0) p.telecom = telecom;
  const address = { text: one('address'), state: one('address-state'), city: one('address-city'), postalCode: one('address-postalcode') };
  const given = Object.fromEntries(Object.entries(address).filter(([, v]) => v !== undefined));
  if (Object.keys(given).length > 0) p.address = [given];
  return p;
}

/** What confirms identity and nothing more: for a person outside the caller's reach (no address, no telecom). */
function minimalPatient(p: Patient, medicalIdSystem: string): Patient {
  return {
    resourceType: 'Patient',
    id: p.id,
    meta: p.meta,
    identifier: p.identifier?.filter((i) => i.system === medicalIdSystem && i.use !== 'old'),
    name: p.name,
    gender: p.gender,
    birthDate: p.birthDate,
  };
}

const GRADE_RANK: Readonly<Record<string, number>> = { certain: 3, probable: 2, possible: 1 };

export function patientMatch(matcher: Matcher, policy: AccessPolicy, medicalIdSystem: string): OperationHandler {
  return defineOperation<MatchInput>({
    url: operationUrl('Patient-match'),
    resourceFromQuery: matchPatientFromQuery,
    auditQuery: failedAuditQuery,
    input(call, ctx: FhirContext) {
      const patient = inputPatient(call.input.resource('resource') ?? call.input.all('resource')[0]);
      ctx.validator.assertStructure(patient);
      ctx.validator.assertResource(patient, 'Patient');
      const count = call.input.integer('count') ?? DEFAULT_COUNT;
      if (!Number.isInteger(count) || count < 1)
        throw errors.badRequest(
          `Parameter count: ${count} must be a positive integer`,
          'invalid-parameter',
          "Parameters.parameter.where(name='count')",
        );
      return { patient, count: Math.min(count, MAX_COUNT), onlyCertainMatches: call.input.boolean('onlyCertainMatches') ?? false };
    },
    async handle(ctx, { patient, count, onlyCertainMatches }, call) {
      const principal = call.req.principal;
      const rule = principal ? policy.matchRule(principal) : undefined;
      if (rule && !rule.purposes.has(principal?.purposeOfUse ?? '')) {
        throw errors.forbidden(
          `Access policy: $match is answered to this client for treatment only (rule ${principal?.org?.kind ?? ''}.match.purposes)`,
        );
      }
      const limit = rule ? Math.min(count, rule.maxCount) : count;
      const out = await matcher.match(ctx.uow, patient, { count: limit, onlyCertain: onlyCertainMatches });
      const graded = rule ? out.results.filter((r) => (GRADE_RANK[r.grade] ?? 0) >= (GRADE_RANK[rule.minGrade] ?? 0)) : out.results;
      // One round trip for the Patients within reach; a deleted one is left out. With a match
      // rule, persons outside reach come back reduced to what confirms identity.
      const ids = graded.map((r) => r.patientId);
      const inReach = new Map((await ctx.uow.resources.readMany('Patient', ids, rowsFor(call.req, 'identify'))).map((x) => [x.id, x]));
      const outside = rule ? ids.filter((id) => !inReach.has(id)) : [];
      const reduced = new Map((await ctx.uow.resources.readMany('Patient', outside)).map((x) => [x.id, x]));
      const byId = new Map([...reduced, ...inReach]);
      const results = graded.filter((r) => byId.has(r.patientId));
      const stored = results.map((r) => byId.get(r.patientId));
      const entries: BundleEntry[] = results.map((r, i) => ({
        fullUrl: `${ctx.baseUrl}/Patient/${r.patientId}`,
        resource: inReach.has(r.patientId)
          ? (JSON.parse(stored[i]?.content as string) as Patient)
          : minimalPatient(JSON.parse(stored[i]?.content as string) as Patient, medicalIdSystem),
        search: { mode: 'match', score: r.score, extension: [{ url: EXTENSIONS.matchGrade, valueCode: r.grade }] },
        extension: [explanation(r)],
      }));
      const warnings = [
        ...out.oversized.map(
          (o) =>
            `Blocking key ${o.key.split(':')[0] ?? ''} for this query matches ${o.size} persons, more than the limit: not searched; add an identifier, a phone or a postal code to narrow the search`,
        ),
        ...(out.withheld ? [`onlyCertainMatches: nothing returned: ${out.withheld}`] : []),
      ];
      if (warnings.length > 0) {
        entries.push({
          resource: {
            resourceType: 'OperationOutcome',
            issue: warnings.map((text) => ({ severity: 'warning', code: 'incomplete', details: { text } })),
          },
          search: { mode: 'outcome' },
        });
      }
      const body: Bundle = { resourceType: 'Bundle', type: 'searchset', total: results.length, entry: entries };
      return {
        status: 200,
        body,
        iheEvent: 'ITI-119',
        disclosed: results.map((r, i) => ({
          resourceType: 'Patient',
          id: r.patientId,
          versionId: stored[i]?.versionId,
          patients: [r.patientId],
        })),
        query: auditQuery(patient, results, out.withheld !== undefined, out.oversized.length > 0),
      };
    },
  });
}
