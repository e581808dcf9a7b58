/**
 * The searchset Bundle, written as JSON text around the stored resource JSON so a page of
 * results is never parsed and re-serialized (unless _summary or _elements asks for a subset).
 */
import crypto from 'node:crypto';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { SearchResult } from '../../repo/search.ts';
import { needsSubset, subset } from '../../fhir/subset.ts';
import { parseJson, stringifyJson } from '../../core/json.ts';
import { encodeCursor } from '../../fhir/search/cursor.ts';
import type { SearchRequest } from '../../fhir/search/model.ts';

function url(base: string, path: string, params: readonly [string, string][]): string {
  const qs = new URLSearchParams(params as [string, string][]).toString();
  return qs ? `${base}/${path}?${qs}` : `${base}/${path}`;
}

function entry(base: string, type: string, id: string, content: string, mode: 'match' | 'include', req: SearchRequest): string {
  const body = needsSubset(req.summary, req.elements)
    ? stringifyJson(subset(parseJson(content) as Resource, req.summary, req.elements))
    : content;
  return `{"fullUrl":${JSON.stringify(`${base}/${type}/${id}`)},"resource":${body},"search":{"mode":"${mode}"}}`;
}

export function searchsetJson(base: string, path: string, req: SearchRequest, result: SearchResult, now: Date): string {
  const links: string[] = [];
  const self = req.cursor ? [...req.linkParams, ['_cursor', encodeCursor(req.cursor)] as [string, string]] : req.linkParams;
  links.push(JSON.stringify({ relation: 'self', url: url(base, path, self) }));
  if (req.count > 0) {
    links.push(JSON.stringify({ relation: 'first', url: url(base, path, req.linkParams) }));
    if (result.previous) {
      links.push(
        JSON.stringify({ relation: 'previous', url: url(base, path, [...req.linkParams, ['_cursor', encodeCursor(result.previous)]]) }),
      );
    }
    if (result.next) {
      links.push(JSON.stringify({ relation: 'next', url: url(base, path, [...req.linkParams, ['_cursor', encodeCursor(result.next)]]) }));
    }
  }
  const entries: string[] = [];
  for (const m of result.matches) entries.push(entry(base, m.resourceType, m.id, m.content, 'match', req));
  for (const i of result.included) entries.push(entry(base, i.resourceType, i.id, i.content, 'include', req));
  if (result.warnings.length > 0) entries.push(outcomeEntry(result.warnings));
  const head = `{"resourceType":"Bundle","id":"${crypto.randomUUID()}","meta":{"lastUpdated":"${now.toISOString()}"},"type":"searchset"`;
  const total = result.total !== undefined ? `,"total":${result.total}` : '';
  const entryPart = entries.length ? `,"entry":[${entries.join(',')}]` : '';
  return `${head}${total},"link":[${links.join(',')}]${entryPart}}`;
}

function outcomeEntry(issues: OperationOutcomeIssue[]): string {
  return JSON.stringify({ resource: { resourceType: 'OperationOutcome', issue: issues }, search: { mode: 'outcome' } });
}
