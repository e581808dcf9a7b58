/**
 * History at instance, type and system level: a `history` Bundle, newest first, deletions
 * included, paged by version sequence (`_count`, `_since`, `_at`).
 */
import crypto from 'node:crypto';
import { constraintsFor } from '../../auth/guard.ts';
import type { StoredResource } from '../../fhir/stored-resource.ts';
import { readHistory } from '../../repo/history.ts';
import type { HistoryQuery } from '../../repo/history.ts';
import type { FhirContext } from '../context.ts';
import { errors } from '../../core/outcome.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import { rowsFor } from '../request.ts';
import type { Route } from '../router.ts';
import { parseDateRange } from '../../fhir/search/date-range.ts';

function instantParam(name: string, value: string, edge: 'lo' | 'hi'): string {
  const r = parseDateRange(value);
  if (!r) throw errors.badRequest(`${name}: "${value}" is not a FHIR instant or date`, 'invalid-search-value', name);
  return new Date(edge === 'lo' ? r.lo : r.hi - 1).toISOString();
}

function entryJson(base: string, v: StoredResource): string {
  const fullUrl = JSON.stringify(`${base}/${v.resourceType}/${v.id}`);
  const url = JSON.stringify(`${v.resourceType}/${v.id}${v.versionId > 1 || v.deleted ? `/_history/${v.versionId}` : ''}`);
  const method = v.deleted ? 'DELETE' : v.versionId === 1 ? 'POST' : 'PUT';
  const status = v.deleted ? '204' : v.versionId === 1 ? '201' : '200';
  const response = `{"status":"${status}","etag":"W/\\"${v.versionId}\\"","lastModified":"${v.lastUpdated.toISOString()}"}`;
  const resource = v.deleted || v.content === null ? '' : `"resource":${v.content},`;
  return `{"fullUrl":${fullUrl},${resource}"request":{"method":"${method}","url":${method === 'POST' ? JSON.stringify(v.resourceType) : url}},"response":${response}}`;
}

async function historyBundle(
  ctx: FhirContext,
  req: FhirRequest,
  path: string,
  scope: Pick<HistoryQuery, 'resourceType' | 'id'>,
): Promise<FhirResponse> {
  // History cannot apply fine-grained scope constraints, so it needs unconstrained access.
  const perm = scope.id !== undefined ? 'r' : 's';
  if (constraintsFor(req.principal, scope.resourceType ?? '*', perm) !== undefined && scope.resourceType !== undefined) {
    throw errors.forbidden(`Insufficient scope: history of ${scope.resourceType} needs an unconstrained ${perm} scope`);
  }
  const q: HistoryQuery = { ...scope, limit: ctx.defaultCount, access: rowsFor(req, 'read') };
  const keep: [string, string][] = [];
  for (const [k, v] of req.query) {
    if (k === '_count') {
      if (!/^\d+$/.test(v)) throw errors.badRequest(`_count: "${v}" is not a non-negative integer`, 'invalid-search-value', '_count');
      q.limit = Math.min(Number(v), ctx.maxCount);
      keep.push([k, v]);
    } else if (k === '_since') {
      q.since = instantParam(k, v, 'lo');
      keep.push([k, v]);
    } else if (k === '_at') {
      q.at = instantParam(k, v, 'hi');
      keep.push([k, v]);
    } else if (k === '_cursor') {
      if (!/^\d+$/.test(v)) throw errors.badRequest('_cursor: not a cursor this server issued', 'invalid-search-value', '_cursor');
      q.beforeVseq = Number(v);
    } else if (k !== '_format' && k !== '_pretty') {
      throw errors.badRequest(`History parameter ${k} is not supported (use _count, _since or _at)`, 'unknown-search-parameter', k);
    }
  }
  const { versions: page, more, total } = await readHistory(ctx.uow, q);
  const link = (cursor?: number): string => {
    const params = new URLSearchParams(keep);
    if (cursor !== undefined) params.set('_cursor', String(cursor));
    const qs = params.toString();
    return `${ctx.baseUrl}${path}${qs ? `?${qs}` : ''}`;
  };
  const links = [JSON.stringify({ relation: 'self', url: link(q.beforeVseq) })];
  const last = page[page.length - 1];
  if (more && last) links.push(JSON.stringify({ relation: 'next', url: link(last.seq) }));
  const entries = page.map((v) => entryJson(ctx.baseUrl, v));
  const json = `{"resourceType":"Bundle","id":"${crypto.randomUUID()}","type":"history","total":${total},"link":[${links.join(',')}]${entries.length ? `,"entry":[${entries.join(',')}]` : ''}}`;
  return {
    status: 200,
    body: { json },
    query: new URLSearchParams(req.query).toString(),
    disclosed: page.map((v) => ({ resourceType: v.resourceType, id: v.id, versionId: v.versionId, patients: v.compartment })),
  };
}

export function historyRoutes(ctx: FhirContext): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/_history',
      name: 'history-system',
      access: () => [{ type: '*', permission: 's' }],
      handler: (req) => historyBundle(ctx, req, '/_history', {}),
    },
    {
      method: 'GET',
      pattern: '/:type/_history',
      name: 'history-type',
      access: (_req, params) => [{ type: params['type'], permission: 's' }],
      handler: (req, params) => historyBundle(ctx, req, `/${params['type']}/_history`, { resourceType: params['type'] }),
    },
    {
      method: 'GET',
      pattern: '/:type/:id/_history',
      name: 'history-instance',
      access: (_req, params) => [{ type: params['type'], permission: 'r' }],
      handler: (req, params) =>
        historyBundle(ctx, req, `/${params['type']}/${params['id']}/_history`, { resourceType: params['type'], id: params['id'] }),
    },
  ];
}
