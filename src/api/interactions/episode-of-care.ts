/**
 * EpisodeOfCare read and search, with the service-use episodes. A valid eligibility confirmation
 * records that an organization served a person (R9) as a row, not as a FHIR resource (a version
 * per visit would multiply the confirmation's writes): each (person, organization) row *is* an
 * EpisodeOfCare, rendered when read — by `$record-locations`, and here, so that
 * `EpisodeOfCare?patient=…` finds what `$record-locations` finds.
 *
 * A search answers the stored EpisodeOfCare resources (the generic search, every rule) and, on its
 * first page, the person's service-use episodes, decided exactly as `$record-locations` decides
 * them: the caller may locate records (medical institutions and the authority, for treatment; the
 * person signed in, their own whole),
 * may read the Patient, and the person's Consents for record location allow the organization.
 * Service-use episodes answer `patient` (required), `status`, `date` and `organization`; a search
 * with any other criterion, or under constrained EpisodeOfCare scopes, gets the stored ones only.
 * Their ids (`su.<医療機関コード>.<patient id>`) read back through `EpisodeOfCare/[id]`.
 */
import type { Bundle, BundleEntry, EpisodeOfCare, Organization } from '@medplum/fhirtypes';
import { constraintsFor } from '../../auth/guard.ts';
import type { Need } from '../../auth/guard.ts';
import { parseJson, stringifyJson } from '../../core/json.ts';
import { errors } from '../../core/outcome.ts';
import { EXTENSIONS, ID_SYSTEMS } from '../../core/systems.ts';
import type { Criterion, DateValue } from '../../fhir/search/model.ts';
import { parseSearch } from '../../fhir/search/parse.ts';
import { assertMayLocateRecords } from '../../privacy/access-rules.ts';
import { recordLocationsOf } from '../../privacy/record-locations.ts';
import type { RecordLocations } from '../../privacy/record-locations.ts';
import type { FhirContext } from '../context.ts';
import { header, rowsFor } from '../request.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import type { Route } from '../router.ts';
import { readResource } from './crud.ts';
import { search } from './search.ts';

const TYPE = 'EpisodeOfCare';
const STATUS_SYSTEM = 'http://hl7.org/fhir/episode-of-care-status';
const ID_RE = /^su\.(\d{10})\.([A-Za-z0-9\-.]{1,50})$/;

type ServiceUse = RecordLocations['uses'][number];

export const serviceEpisodeId = (orgCode: string, patientId: string): string => `su.${orgCode}.${patientId}`;

/** A service use as the EpisodeOfCare it is: one per person and organization, first to last confirmed day. */
export function serviceEpisode(u: ServiceUse, patientId: string, org: Organization | undefined): EpisodeOfCare {
  return {
    resourceType: TYPE,
    id: serviceEpisodeId(u.orgCode, patientId),
    extension: [{ url: EXTENSIONS.serviceUseVisits, valueInteger: u.visits }],
    status: 'finished',
    patient: { reference: `Patient/${patientId}` },
    managingOrganization: {
      ...(org?.id ? { reference: `Organization/${org.id}` } : {}),
      identifier: { system: ID_SYSTEMS.medicalInstitutionCode, value: u.orgCode },
    },
    period: { start: u.firstDay, end: u.lastDay },
  };
}

const codeOf = (o: Organization): string | undefined => o.identifier?.find((i) => i.system === ID_SYSTEMS.medicalInstitutionCode)?.value;

/**
 * The service-use episodes of these persons that the caller may see, decided as
 * `$record-locations` decides them; none when it may not locate records at all.
 */
async function serviceEpisodes(ctx: FhirContext, req: FhirRequest, patientIds: readonly string[]): Promise<EpisodeOfCare[]> {
  // A person signed in sees their own service use whole (R22); others locate records for treatment only.
  const forThePerson = req.principal?.person !== undefined;
  try {
    if (!forThePerson) assertMayLocateRecords(req.principal?.org, req.purposeOfUse);
  } catch {
    return [];
  }
  // Constrained EpisodeOfCare scopes are criteria on stored resources; rendered ones are left out.
  if (constraintsFor(req.principal, TYPE, 's') !== undefined || constraintsFor(req.principal, TYPE, 'r') !== undefined) return [];
  const visible = await ctx.uow.resources.readMany('Patient', [...new Set(patientIds)], rowsFor(req, 'read'));
  const today = ctx.clock.now().toISOString().slice(0, 10);
  const out: EpisodeOfCare[] = [];
  for (const p of visible) {
    const found = await recordLocationsOf(ctx.uow, p.id, today, forThePerson);
    const byCode = new Map(found.organizations.map((o) => [codeOf(o), o]));
    out.push(...found.uses.map((u) => serviceEpisode(u, p.id, byCode.get(u.orgCode))));
  }
  return out;
}

const DAY = 86_400_000;

/** FHIR date prefixes (search.html#prefix) on the period [start, end + 1 day), as the SQL does on stored ranges. */
function dateMatches(v: DateValue, lo: number, hi: number): boolean {
  const eq = lo >= v.lo && hi <= v.hi;
  switch (v.prefix) {
    case 'eq':
      return eq;
    case 'ne':
      return !eq;
    case 'gt':
      return hi > v.hi;
    case 'lt':
      return lo < v.lo;
    case 'ge':
      return hi > v.hi || eq;
    case 'le':
      return lo < v.lo || eq;
    case 'sa':
      return lo >= v.hi;
    case 'eb':
      return hi <= v.lo;
    case 'ap': {
      const delta = Math.max(DAY, 0.1 * Math.abs(Date.now() - v.lo));
      return lo < v.hi + delta && hi > v.lo - delta;
    }
  }
}

/**
 * What a search asks of service-use episodes: the persons (`patient`) and a test for the rest,
 * or undefined when it asks something they cannot answer.
 */
function viewOf(criteria: readonly Criterion[]): { patients: string[]; test: (e: EpisodeOfCare) => boolean } | undefined {
  const patients: string[] = [];
  const tests: ((e: EpisodeOfCare) => boolean)[] = [];
  for (const c of criteria) {
    if (c.kind === 'reference' && (c.param.code === 'patient' || c.param.code === 'organization')) {
      if (c.values.some((v) => v.url !== undefined || v.id === undefined)) return undefined;
      const want = c.param.code === 'patient' ? 'Patient' : 'Organization';
      const ids = c.values.filter((v) => v.type === undefined || v.type === want).map((v) => v.id as string);
      if (c.param.code === 'patient') patients.push(...ids);
      else tests.push((e) => ids.some((id) => e.managingOrganization?.reference === `Organization/${id}`));
    } else if (c.kind === 'token' && c.param.code === 'status') {
      const hit = (e: EpisodeOfCare): boolean => c.values.some((v) => v.code === e.status && (v.anySystem || v.system === STATUS_SYSTEM));
      tests.push((e) => (c.not ? !hit(e) : hit(e)));
    } else if (c.kind === 'date' && c.param.code === 'date') {
      tests.push((e) => {
        const lo = Date.parse(e.period?.start ?? '');
        const hi = Date.parse(e.period?.end ?? '') + DAY;
        return c.values.some((v) => dateMatches(v, lo, hi));
      });
    } else {
      return undefined;
    }
  }
  if (patients.length === 0) return undefined;
  return { patients, test: (e) => tests.every((t) => t(e)) };
}

async function searchEpisodes(ctx: FhirContext, req: FhirRequest, query: [string, string][]): Promise<FhirResponse> {
  const stored = await search(ctx, req, TYPE, query);
  // Later pages page through the stored ones; the service-use episodes are all on the first.
  if (query.some(([k]) => k === '_cursor') || !stored.body || !('json' in stored.body)) return stored;
  const parsed = parseSearch(TYPE, query, {
    searchParams: ctx.defs.searchParams,
    isResourceType: ctx.defs.isResourceType,
    baseUrl: ctx.baseUrl,
    defaultCount: ctx.defaultCount,
    maxCount: ctx.maxCount,
    lenient: true,
    normalizeIdentifier: ctx.normalizeIdentifier,
  });
  const view = parsed.ignored.length === 0 ? viewOf(parsed.criteria) : undefined;
  if (!view) return stored;
  const episodes = (await serviceEpisodes(ctx, req, view.patients)).filter(view.test);
  if (episodes.length === 0) return stored;
  const bundle = parseJson(stored.body.json) as Bundle;
  const counting = parsed.count === 0 || parsed.summary === 'count';
  const entries: BundleEntry[] = counting
    ? []
    : episodes.map((e) => ({ fullUrl: `${ctx.baseUrl}/${TYPE}/${e.id ?? ''}`, resource: e, search: { mode: 'match' } }));
  const out: Bundle = {
    ...bundle,
    ...(bundle.total !== undefined ? { total: bundle.total + episodes.length } : {}),
    ...(entries.length > 0 || bundle.entry ? { entry: [...entries, ...(bundle.entry ?? [])] } : {}),
  };
  return {
    ...stored,
    body: { json: stringifyJson(out) },
    disclosed: [
      ...episodes.map((e) => ({ resourceType: TYPE, id: e.id ?? '', patients: [e.patient?.reference?.slice('Patient/'.length) ?? ''] })),
      ...(stored.disclosed ?? []),
    ],
  };
}

async function readEpisode(ctx: FhirContext, req: FhirRequest, id: string): Promise<FhirResponse> {
  const m = ID_RE.exec(id);
  if (m) {
    const episode = (await serviceEpisodes(ctx, req, [m[2]])).find((e) => e.id === id);
    if (episode) {
      return {
        status: 200,
        body: episode,
        disclosed: [{ resourceType: TYPE, id, patients: [m[2]] }],
      };
    }
  }
  return readResource(ctx, req, TYPE, id);
}

/** A POST _search's query: the URL's and the form body's together (as the generic search reads it). */
function postedQuery(req: FhirRequest): [string, string][] {
  const type = (header(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw errors.unsupportedMediaType('POST _search needs an application/x-www-form-urlencoded body');
  }
  return [...req.query, ...(typeof req.body === 'string' ? [...new URLSearchParams(req.body)] : [])];
}

/** Literal EpisodeOfCare routes, added before the generic ones (writes and history stay generic). */
export function episodeOfCareRoutes(ctx: FhirContext): Route[] {
  const needs = (permission: 'r' | 's') => (): Need[] => [{ type: TYPE, permission }];
  return [
    {
      method: 'GET',
      pattern: `/${TYPE}`,
      name: 'search-type',
      type: TYPE,
      access: needs('s'),
      handler: (req) => searchEpisodes(ctx, req, req.query),
    },
    {
      method: 'POST',
      pattern: `/${TYPE}/_search`,
      name: 'search-type',
      type: TYPE,
      access: needs('s'),
      handler: (req) => searchEpisodes(ctx, req, postedQuery(req)),
    },
    {
      method: 'GET',
      pattern: `/${TYPE}/:id`,
      name: 'read',
      type: TYPE,
      access: needs('r'),
      handler: (req, params) => readEpisode(ctx, req, params['id']),
    },
  ];
}
