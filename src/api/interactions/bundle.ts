/**
 * batch and transaction Bundles (FHIR R4 http.html §3.1.0.11).
 * - batch: each entry on its own; a failing entry gets its own error response.
 * - transaction: all entries in one database transaction, processed DELETE → POST → PUT →
 *   GET; `urn:uuid:` fullUrls and conditional references (`Patient?identifier=…`) are resolved
 *   first and rewritten everywhere; any failure rolls everything back and answers with one
 *   OperationOutcome naming the entry.
 * Each entry is dispatched through the same router as a plain HTTP request, so every rule
 * (validation, versioning, conditional semantics, scopes) applies unchanged.
 */
import crypto from 'node:crypto';
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import type { FhirContext } from '../context.ts';
import { errors, isOutcomeError, OperationOutcomeError, statusOf } from '../../core/outcome.ts';
import { checkConditionalQuery, checkRequestUrl } from '../request-url.ts';
import type { FhirRequest, FhirResponse, HttpMethod } from '../request.ts';
import type { Route, Router } from '../router.ts';

/** Builds a router over a context (used to bind a router to the transaction's unit of work). */
export type RouterFactory = (ctx: FhirContext) => Router;

const METHODS = new Set<HttpMethod>(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
const ORDER: Record<HttpMethod, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };
const REASON: Record<number, string> = { 200: 'OK', 201: 'Created', 204: 'No Content' };

interface Entry {
  index: number;
  method: HttpMethod;
  path: string;
  query: [string, string][];
  entry: BundleEntry;
}

function parseEntries(bundle: Bundle, baseUrl: string): Entry[] {
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) {
    throw errors.badRequest('Bundle.entry must be an array', 'invalid-bundle', 'Bundle.entry');
  }
  return (bundle.entry ?? []).map((entry, index) => {
    const at = `Bundle.entry[${index}].request`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw errors.badRequest(`Bundle.entry[${index}] must be an object`, 'invalid-bundle', `Bundle.entry[${index}]`);
    }
    const method = entry.request?.method;
    const url = entry.request?.url;
    if (!method || !METHODS.has(method))
      throw errors.badRequest(`${at}.method must be GET, HEAD, POST, PUT, PATCH or DELETE`, 'invalid-bundle', `${at}.method`);
    if (url === undefined || url === null || url === '') throw errors.badRequest(`${at}.url is required`, 'invalid-bundle', `${at}.url`);
    if (typeof url !== 'string') throw errors.badRequest(`${at}.url must be a string`, 'invalid-bundle', `${at}.url`);
    checkRequestUrl(url, `${at}.url`);
    checkConditionalQuery(entry.request?.ifNoneExist, `${at}.ifNoneExist`);
    const rel = url.startsWith(baseUrl + '/') ? url.slice(baseUrl.length + 1) : url;
    if (/^[a-z][a-z0-9+.-]*:/i.test(rel))
      throw errors.badRequest(`${at}.url must be relative to this server's base`, 'invalid-bundle', `${at}.url`);
    const q = rel.indexOf('?');
    const path = '/' + (q >= 0 ? rel.slice(0, q) : rel).replace(/^\/+/, '');
    const query = q >= 0 ? [...new URLSearchParams(rel.slice(q + 1))] : [];
    if ((method === 'POST' || method === 'PUT') && !entry.resource) {
      throw errors.badRequest(
        `Bundle.entry[${index}].resource is required for ${method}`,
        'invalid-bundle',
        `Bundle.entry[${index}].resource`,
      );
    }
    return { index, method, path, query, entry };
  });
}

function toRequest(outer: FhirRequest, e: Entry, body: unknown, inTransaction: boolean, assignedId?: string): FhirRequest {
  const r = e.entry.request;
  return {
    method: e.method,
    path: e.path,
    query: e.query,
    body,
    requestId: outer.requestId,
    principal: outer.principal,
    purposeOfUse: outer.purposeOfUse,
    remoteAddress: outer.remoteAddress,
    headers: {
      'content-type': 'application/fhir+json',
      prefer: outer.headers['prefer'],
      'if-none-exist': r?.ifNoneExist,
      'if-match': r?.ifMatch,
      'if-none-match': r?.ifNoneMatch,
    },
    internal: { assignedId, inTransaction },
  };
}

function responseEntry(res: FhirResponse, fullUrl?: string): string {
  const h = res.headers ?? {};
  const response: Record<string, string> = { status: `${res.status} ${REASON[res.status] ?? ''}`.trim() };
  if (h['Location']) response['location'] = h['Location'];
  if (h['ETag']) response['etag'] = h['ETag'];
  if (h['Last-Modified']) response['lastModified'] = new Date(h['Last-Modified']).toISOString();
  const parts: string[] = [];
  if (fullUrl) parts.push(`"fullUrl":${JSON.stringify(fullUrl)}`);
  if (res.body) {
    if ('ndjson' in res.body) throw errors.badRequest('Bulk Data files cannot be fetched inside a Bundle', 'invalid-bundle');
    const json = 'json' in res.body ? res.body.json : JSON.stringify(res.body);
    const isOutcome = !('json' in res.body) && res.body.resourceType === 'OperationOutcome' && res.status >= 400;
    if (isOutcome) {
      parts.push(`"response":${JSON.stringify({ ...response, outcome: res.body })}`);
      return `{${parts.join(',')}}`;
    }
    parts.push(`"resource":${json}`);
  }
  parts.push(`"response":${JSON.stringify(response)}`);
  return `{${parts.join(',')}}`;
}

function errorResponse(e: unknown): FhirResponse {
  if (isOutcomeError(e)) return { status: statusOf(e.outcome), body: e.outcome };
  throw e;
}

function bundleJson(type: 'batch-response' | 'transaction-response', entries: string[]): FhirResponse {
  return {
    status: 200,
    body: { json: `{"resourceType":"Bundle","id":"${crypto.randomUUID()}","type":"${type}","entry":[${entries.join(',')}]}` },
  };
}

async function runBatch(ctx: FhirContext, router: Router, req: FhirRequest, entries: Entry[]): Promise<FhirResponse> {
  const out: string[] = [];
  for (const e of entries) {
    try {
      const res = await router.dispatch(toRequest(req, e, e.entry.resource, false));
      out.push(responseEntry(res, fullUrlOf(ctx.baseUrl, res, e.path)));
    } catch (err) {
      out.push(responseEntry(errorResponse(err)));
    }
  }
  return bundleJson('batch-response', out);
}

function fullUrlOf(baseUrl: string, res: FhirResponse, path: string): string | undefined {
  const loc = res.headers?.['Location'];
  if (loc) return loc.replace(/\/_history\/[^/]+$/, '');
  return /^\/[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(path) && res.status < 300 ? `${baseUrl}${path}` : undefined;
}

/** Replaces every Reference.reference found in `map` (or resolvable as a condition). */
async function rewriteReferences(value: unknown, map: Map<string, string>, resolve: (ref: string) => Promise<string>): Promise<unknown> {
  if (Array.isArray(value)) return Promise.all(value.map((v) => rewriteReferences(v, map, resolve)));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'reference' && typeof v === 'string') {
      out[k] = map.get(v) ?? (/^[A-Z][A-Za-z]+\?/.test(v) ? await resolve(v) : v);
    } else {
      out[k] = await rewriteReferences(v, map, resolve);
    }
  }
  return out;
}

async function runTransaction(ctx: FhirContext, makeRouter: RouterFactory, req: FhirRequest, entries: Entry[]): Promise<FhirResponse> {
  return ctx.uow.transaction(async (tx) => {
    const router = makeRouter({ ...ctx, uow: tx });
    const repo = tx.resources;
    const map = new Map<string, string>();
    const assigned = new Map<number, string>();
    const existing = new Map<number, string>();
    // 1. Give every created resource its identity, so references to it can be rewritten.
    for (const e of entries) {
      const fullUrl = e.entry.fullUrl;
      const type = e.path.split('/')[1];
      if (e.method === 'POST') {
        const cond = e.entry.request?.ifNoneExist;
        const found = cond ? await repo.findMatches(type, cond) : [];
        if (found.length > 1) throw atEntry(e, errors.multipleMatches(`ifNoneExist matched ${found.length} ${type} resources`));
        const id = found[0]?.id ?? crypto.randomUUID();
        (found[0] ? existing : assigned).set(e.index, id);
        if (fullUrl) map.set(fullUrl, `${type}/${id}`);
      } else if (e.method === 'PUT' && fullUrl) {
        const id = e.path.split('/')[2];
        if (id) map.set(fullUrl, `${type}/${id}`);
      }
    }
    const resolveCondition = async (ref: string): Promise<string> => {
      const [type, criteria] = ref.split('?') as [string, string];
      if (!ctx.defs.isResourceType(type))
        throw errors.badRequest('A conditional reference names an unknown resource type', 'invalid-reference');
      const found = await repo.findMatches(type, criteria);
      if (found.length !== 1)
        throw errors.preconditionFailed(
          // The criteria are not repeated: they hold identifier values.
          `A conditional reference to ${type} matched ${found.length} resources; it must match exactly one`,
          'invalid-reference',
        );
      const target = `${type}/${found[0]?.id ?? ''}`;
      map.set(ref, target);
      return target;
    };
    // 2. Execute in FHIR's order; answer in the request's order.
    const results = new Array<string>(entries.length);
    for (const e of [...entries].sort((a, b) => ORDER[a.method] - ORDER[b.method] || a.index - b.index)) {
      try {
        const body = e.entry.resource ? await rewriteReferences(e.entry.resource, map, resolveCondition) : undefined;
        const prior = existing.get(e.index);
        let res: FhirResponse;
        let path = e.path;
        if (prior !== undefined) {
          // ifNoneExist matched: nothing is created; the entry answers 200 with the match.
          path = `${e.path}/${prior}`;
          res = { ...(await router.dispatch({ ...toRequest(req, e, undefined, true), method: 'GET', path, query: [] })), status: 200 };
        } else {
          res = await router.dispatch(toRequest(req, e, body, true, assigned.get(e.index)));
        }
        results[e.index] = responseEntry(res, fullUrlOf(ctx.baseUrl, res, path));
      } catch (err) {
        throw atEntry(e, err);
      }
    }
    return bundleJson('transaction-response', results);
  });
}

/**
 * Refuses, before anything runs, a transaction whose entries include a route that does its work
 * outside the request's transaction (Route.selfCommitting: $register, $export, the medical ID's
 * lifecycle): it would escape the Bundle's atomicity. Such requests go alone, or in a batch.
 */
function assertTransactional(router: Router, entries: readonly Entry[]): void {
  for (const e of entries) {
    const m = router.match(e.method, e.path);
    if (m.route?.selfCommitting) {
      throw errors.badRequest(
        `Bundle.entry[${e.index}] (${e.method} ${e.path}): ${m.route.name} commits its own work and cannot be part of a transaction Bundle; send it on its own or in a batch Bundle`,
        'invalid-bundle',
        `Bundle.entry[${e.index}].request.url`,
      );
    }
  }
}

/** Prefixes an entry's error with where it happened, keeping its status. */
function atEntry(e: Entry, err: unknown): unknown {
  if (!isOutcomeError(err)) return err;
  const o = err.outcome;
  return new OperationOutcomeError({
    ...o,
    issue: (o.issue ?? []).map((i) => ({
      ...i,
      details: { ...i.details, text: `Bundle.entry[${e.index}] (${e.method} ${e.path}): ${i.details?.text ?? ''}` },
      expression: i.expression?.map((x) => (x.startsWith('Bundle.') ? x : `Bundle.entry[${e.index}].resource.${x}`)) ?? [
        `Bundle.entry[${e.index}]`,
      ],
    })),
  });
}

export function bundleRoute(ctx: FhirContext, makeRouter: RouterFactory, router: () => Router): Route {
  return {
    method: 'POST',
    pattern: '/',
    name: 'transaction',
    handler: async (req) => {
      const body = req.body as Bundle | undefined;
      ctx.validator.assertResource(body, 'Bundle');
      if (body.type !== 'batch' && body.type !== 'transaction') {
        throw errors.badRequest(
          `Bundle.type must be batch or transaction to POST to the base, not ${body.type ?? 'absent'}`,
          'invalid-bundle',
          'Bundle.type',
        );
      }
      if (req.internal?.inTransaction) throw errors.badRequest('A bundle cannot contain another batch or transaction', 'invalid-bundle');
      const entries = parseEntries(body, ctx.baseUrl);
      if (entries.some((e) => e.path === '/'))
        throw errors.badRequest('A bundle entry cannot post another bundle to the base', 'invalid-bundle');
      if (body.type === 'batch') return runBatch(ctx, router(), req, entries);
      assertTransactional(router(), entries);
      return runTransaction(ctx, makeRouter, req, entries);
    },
  };
}
