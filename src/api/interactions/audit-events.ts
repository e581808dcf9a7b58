/**
 * AuditEvent through the API: read and search only, from the append-only audit log. No
 * create, update, delete or history: the log is written by the server alone and never
 * rewritten. Searches run newest first over the log's own indexes.
 */
import type { AuditEvent, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import type { AuditReach } from '../../core/access.ts';
import type { AuditEntry, AuditQuery, AuditTrail } from '../../audit/audit-trail.ts';
import type { FhirContext } from '../context.ts';
import { errors } from '../../core/outcome.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import type { Route } from '../router.ts';
import { parseDateRange } from '../../fhir/search/date-range.ts';
import { splitEscaped, unescape } from '../../fhir/search/parse-values.ts';
import { parseReference } from '../../fhir/search/reference.ts';
import { FHIR_CORE } from '../../core/systems.ts';

const TYPE = 'AuditEvent';

interface ParamDoc {
  name: string;
  type: 'token' | 'reference' | 'date';
  documentation: string;
}
const PARAMS: ParamDoc[] = [
  { name: '_id', type: 'token', documentation: 'Logical id' },
  { name: 'patient', type: 'reference', documentation: 'The patient the event is about (Patient/id or id)' },
  { name: 'entity', type: 'reference', documentation: 'The resource read, written or operated on (Type/id)' },
  { name: 'date', type: 'date', documentation: 'When recorded (prefixes eq, ge, gt, le, lt)' },
  { name: 'altid', type: 'token', documentation: 'The client_id of the calling application' },
  { name: 'action', type: 'token', documentation: 'C | R | U | D | E' },
  {
    name: 'subtype',
    type: 'token',
    documentation: 'read, vread, search-type, create, update, delete, history-*, login, or an operation ($validate)',
  },
  { name: 'outcome', type: 'token', documentation: '0 success | 4 minor failure | 8 serious failure' },
];

function codesOf(name: string, value: string): string[] {
  return splitEscaped(value, ',')
    .map(unescape)
    .map((v) => {
      const bar = v.lastIndexOf('|');
      const code = bar >= 0 ? v.slice(bar + 1) : v;
      if (code === '') throw errors.badRequest(`Search parameter ${name}: empty value`, 'invalid-search-value', name);
      return code;
    });
}

function parseAuditQuery(ctx: FhirContext, query: readonly [string, string][]): { q: AuditQuery; links: [string, string][] } {
  const q: AuditQuery = { limit: ctx.defaultCount };
  const links: [string, string][] = [];
  const refs = (name: string, v: string, type?: string): string[] =>
    splitEscaped(v, ',')
      .map(unescape)
      .map((x) => {
        const r = parseReference(x, ctx.baseUrl);
        if (r && (!type || r.type === type)) return type ? r.id : `${r.type}/${r.id}`;
        if (type && /^[A-Za-z0-9\-.]{1,64}$/.test(x)) return x;
        throw errors.badRequest(
          `Search parameter ${name}: "${x}" is not a reference${type ? ` to ${type}` : ''}`,
          'invalid-search-value',
          name,
        );
      });
  for (const [name, value] of query) {
    switch (name) {
      case '_id':
        q.ids = codesOf(name, value)
          .map(Number)
          .filter((n) => Number.isSafeInteger(n) && n > 0);
        break;
      case 'patient':
        q.patients = refs(name, value, 'Patient');
        break;
      case 'entity':
        q.entities = refs(name, value);
        break;
      case 'altid':
        q.clients = codesOf(name, value);
        break;
      case 'action':
        q.actions = codesOf(name, value);
        break;
      case 'subtype':
        q.subtypes = codesOf(name, value);
        break;
      case 'outcome':
        q.outcomes = codesOf(name, value)
          .map(Number)
          .filter((n) => [0, 4, 8, 12].includes(n));
        break;
      case 'date': {
        const m = /^(eq|ge|gt|le|lt)?(.+)$/.exec(value);
        const r = m ? parseDateRange(m[2]) : undefined;
        if (!m || !r)
          throw errors.badRequest(
            `Search parameter date: "${value}" is not a date with an optional prefix eq, ge, gt, le or lt`,
            'invalid-search-value',
            'date',
          );
        const iso = (ms: number): string => new Date(ms).toISOString();
        const prefix = m[1] ?? 'eq';
        q.recorded = [
          ...(q.recorded ?? []),
          prefix === 'eq'
            ? { from: iso(r.lo), to: iso(r.hi) }
            : prefix === 'ge'
              ? { from: iso(r.lo) }
              : prefix === 'gt'
                ? { from: iso(r.hi) }
                : prefix === 'le'
                  ? { to: iso(r.hi) }
                  : { to: iso(r.lo) },
        ];
        break;
      }
      case '_count': {
        if (!/^\d+$/.test(value))
          throw errors.badRequest(`Search parameter _count: "${value}" is not a non-negative integer`, 'invalid-search-value', '_count');
        q.limit = Math.min(Number(value), ctx.maxCount);
        break;
      }
      case '_cursor':
        if (!/^\d+$/.test(value))
          throw errors.badRequest('Search parameter _cursor: not a cursor this server issued', 'invalid-search-value', '_cursor');
        q.beforeSeq = Number(value);
        continue;
      case '_format':
      case '_pretty':
      case '_total':
        break;
      default:
        throw errors.badRequest(
          `Search parameter ${name}: AuditEvent supports ${PARAMS.map((p) => p.name).join(', ')}, _count`,
          'unknown-search-parameter',
          name,
          'not-supported',
        );
    }
    links.push([name, value]);
  }
  return { q, links };
}

function entryOf(base: string, e: AuditEntry): string {
  return `{"fullUrl":${JSON.stringify(`${base}/${TYPE}/${e.seq}`)},"resource":${JSON.stringify(e.event)},"search":{"mode":"match"}}`;
}

/**
 * The access policy for the audit log: the authority reads all of it; a person signed in reads
 * the events about them (who accessed their records, their own sign-ins); every other caller
 * the events its own client caused (reach `own`). Compiled into the query.
 */
export function auditReach(req: FhirRequest): AuditReach | undefined {
  const p = req.principal;
  if (p?.person !== undefined) return { patientId: p.person };
  return p?.org?.kind === 'authority' ? undefined : { clientId: p?.clientId ?? '' };
}

/**
 * What a person is shown of an event about them: who (application and organization), why,
 * when, what and the outcome — not the caller's network address, token id or query text (a
 * search's text may name others searched for with them).
 */
function forPerson(e: AuditEvent, self: string): AuditEvent {
  const me = `Patient/${self}`;
  return {
    ...e,
    // Another person who tried to reach this one (their own sign-in, refused) is not named.
    agent: e.agent.map(({ network: _n, policy: _p, ...a }) =>
      a.who?.reference?.startsWith('Patient/') && a.who.reference !== me ? { ...a, who: { display: 'another signed-in person' } } : a,
    ),
    entity: (e.entity ?? []).filter((x) => x.query === undefined && x.what?.identifier === undefined),
  };
}

async function searchAudit(ctx: FhirContext, trail: AuditTrail, req: FhirRequest, query: [string, string][]): Promise<FhirResponse> {
  const { q, links } = parseAuditQuery(ctx, query);
  const reach = auditReach(req);
  if (reach?.clientId !== undefined) q.clients = q.clients === undefined || q.clients.includes(reach.clientId) ? [reach.clientId] : [];
  if (reach?.patientId !== undefined)
    q.patients = q.patients === undefined || q.patients.includes(reach.patientId) ? [reach.patientId] : [];
  const { entries: page, more, total } = await trail.search(ctx.uow, q);
  const url = (cursor?: number): string => {
    const p = new URLSearchParams(links);
    if (cursor !== undefined) p.set('_cursor', String(cursor));
    return `${ctx.baseUrl}/${TYPE}${p.size ? `?${p.toString()}` : ''}`;
  };
  const linkJson = [JSON.stringify({ relation: 'self', url: url(q.beforeSeq) })];
  const last = page[page.length - 1];
  if (more && last) linkJson.push(JSON.stringify({ relation: 'next', url: url(last.seq) }));
  const entries = page.map((e) =>
    entryOf(ctx.baseUrl, reach?.patientId !== undefined ? { ...e, event: forPerson(e.event, reach.patientId) } : e),
  );
  return {
    status: 200,
    body: {
      json: `{"resourceType":"Bundle","type":"searchset","total":${total},"link":[${linkJson.join(',')}]${entries.length ? `,"entry":[${entries.join(',')}]` : ''}}`,
    },
    disclosed: page.map((e) => ({ resourceType: TYPE, id: String(e.seq), patients: e.patientId ? [e.patientId] : [] })),
    query: new URLSearchParams(query).toString(),
  };
}

async function readAudit(ctx: FhirContext, trail: AuditTrail, req: FhirRequest, id: string): Promise<FhirResponse> {
  const seq = /^\d{1,15}$/.test(id) ? Number(id) : 0;
  const reach = auditReach(req);
  const e = await trail.read(ctx.uow, seq, reach);
  if (!e) throw errors.notFound(`${TYPE}/${id} is not known`);
  return {
    status: 200,
    headers: { ETag: 'W/"1"', 'Last-Modified': new Date(e.recorded).toUTCString() },
    body: reach?.patientId !== undefined ? forPerson(e.event, reach.patientId) : e.event,
    disclosed: [{ resourceType: TYPE, id: String(e.seq), versionId: 1, patients: e.patientId ? [e.patientId] : [] }],
  };
}

export function auditEventRoutes(ctx: FhirContext, trail: AuditTrail): Route[] {
  const r = [{ type: TYPE, permission: 'r' as const }];
  const s = [{ type: TYPE, permission: 's' as const }];
  return [
    {
      method: 'GET',
      pattern: `/${TYPE}/:id`,
      name: 'read',
      type: TYPE,
      access: () => r,
      handler: (req, params) => readAudit(ctx, trail, req, params['id']),
    },
    {
      method: 'GET',
      pattern: `/${TYPE}/:id/_history/:vid`,
      name: 'vread',
      type: TYPE,
      access: () => r,
      handler: (req, params) =>
        params['vid'] === '1'
          ? readAudit(ctx, trail, req, params['id'])
          : Promise.reject(errors.notFound('AuditEvents have one version only')),
    },
    {
      method: 'GET',
      pattern: `/${TYPE}`,
      name: 'search-type',
      type: TYPE,
      access: () => s,
      handler: (req) => searchAudit(ctx, trail, req, req.query),
    },
    {
      method: 'POST',
      pattern: `/${TYPE}/_search`,
      name: 'search-type',
      type: TYPE,
      access: () => s,
      handler: (req) =>
        searchAudit(ctx, trail, req, [...req.query, ...(typeof req.body === 'string' ? [...new URLSearchParams(req.body)] : [])]),
    },
  ];
}

/** How AuditEvent appears in the CapabilityStatement (read and search only). */
export function auditEventCapability(): CapabilityStatementRestResource {
  return {
    type: TYPE,
    profile: `${FHIR_CORE.structureDefinition}AuditEvent`,
    documentation: 'Written by the server only (IHE BALP); append-only, never updated or deleted.',
    interaction: [{ code: 'read' }, { code: 'vread' }, { code: 'search-type' }],
    versioning: 'no-version',
    readHistory: false,
    updateCreate: false,
    conditionalCreate: false,
    conditionalUpdate: false,
    conditionalDelete: 'not-supported',
    searchParam: PARAMS.map((p) => ({ name: p.name, type: p.type, documentation: p.documentation })),
  };
}
