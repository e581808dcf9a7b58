/**
 * Executes a parsed search: one keyset page, the total when it is asked for or free, the
 * cursors for next/previous, and _include/_revinclude (with one :iterate level).
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { ALL_ROWS } from '../core/access.ts';
import type { RowAccess } from '../core/access.ts';
import { issue } from '../core/outcome.ts';
import type { Cursor, IncludeSpec, SearchRequest } from '../fhir/search/model.ts';
import { countMatches, includeTargets, revincludeSources, searchPage } from '../store/search.ts';
import type { Db } from '../store/db.ts';
import type { IncludedRow, PageRow } from '../store/search.ts';
import type { UnitOfWork } from './unit-of-work.ts';

/** Most resources added to one page by _include and _revinclude together. */
export const MAX_INCLUDES = 1000;

export interface SearchResult {
  matches: PageRow[];
  included: IncludedRow[];
  total: number | undefined;
  next: Cursor | undefined;
  previous: Cursor | undefined;
  warnings: OperationOutcomeIssue[];
}

/** Decides, per included resource, whether the caller may see it (scopes; see auth/). */
export type IncludeFilter = (row: IncludedRow) => boolean;

/**
 * `access` limits the included resources as the criteria limit the matches (the caller puts
 * the same RowAccess among its criteria): a hidden row is neither read nor counted.
 */
export async function executeSearch(
  uow: UnitOfWork,
  req: SearchRequest,
  filter: IncludeFilter = () => true,
  access: RowAccess = ALL_ROWS,
): Promise<SearchResult> {
  const db = uow.db;
  const warnings: OperationOutcomeIssue[] = req.ignored.map((i) =>
    issue({
      severity: 'warning',
      code: 'not-supported',
      medid: 'unknown-search-parameter',
      text: `Search parameter ${i.name} was ignored: ${i.reason}`,
      expression: i.name,
    }),
  );
  const wantsCount = req.total !== 'none' || req.summary === 'count' || req.count === 0;
  if (req.count === 0) {
    return {
      matches: [],
      included: [],
      total: await countMatches(db, req.resourceType, req.criteria),
      next: undefined,
      previous: undefined,
      warnings,
    };
  }
  const page = await searchPage(db, {
    resourceType: req.resourceType,
    criteria: req.criteria,
    sort: req.sort,
    cursor: req.cursor,
    limit: req.count,
  });
  const rows = page.rows;
  const first = rows[0];
  const last = rows[rows.length - 1];
  const edge = (r: PageRow, direction: Cursor['direction']): Cursor => ({ direction, seq: r.seq, values: r.keys });
  const forward = req.cursor?.direction !== 'previous';
  const next = last && (forward ? page.more : true) ? edge(last, 'next') : undefined;
  const previous = first && (forward ? req.cursor !== undefined : page.more) ? edge(first, 'previous') : undefined;

  let total: number | undefined;
  if (wantsCount) total = await countMatches(db, req.resourceType, req.criteria);
  else if (!req.cursor && !page.more) total = rows.length;

  const included = await includes(db, req, rows, warnings, filter, access);
  return { matches: rows, included, total, next, previous, warnings };
}

async function includes(
  db: Db,
  req: SearchRequest,
  matches: PageRow[],
  warnings: OperationOutcomeIssue[],
  filter: IncludeFilter,
  access: RowAccess,
): Promise<IncludedRow[]> {
  if (matches.length === 0 || (req.include.length === 0 && req.revinclude.length === 0)) return [];
  const seen = new Set(matches.map((m) => m.seq));
  const out: IncludedRow[] = [];
  let truncated = false;
  const add = (rows: IncludedRow[]): IncludedRow[] => {
    const fresh: IncludedRow[] = [];
    for (const r of rows) {
      if (seen.has(r.seq) || !filter(r)) continue;
      if (out.length >= MAX_INCLUDES) {
        truncated = true;
        break;
      }
      seen.add(r.seq);
      out.push(r);
      fresh.push(r);
    }
    return fresh;
  };
  const run = async (
    spec: IncludeSpec,
    rev: boolean,
    sources: readonly { seq: number; resourceType: string; id: string }[],
  ): Promise<IncludedRow[]> => {
    const room = MAX_INCLUDES - out.length + 1;
    if (room <= 1) {
      truncated = true;
      return [];
    }
    if (rev) {
      return add(await revincludeSources(db, spec.sourceType, spec.param, sources, room, access));
    }
    const seqs = sources.filter((s) => s.resourceType === spec.sourceType).map((s) => s.seq);
    return add(await includeTargets(db, spec.sourceType, seqs, spec.param, spec.targetType, room, access));
  };
  const level1: IncludedRow[] = [];
  for (const spec of req.include.filter((s) => !s.iterate)) level1.push(...(await run(spec, false, matches)));
  for (const spec of req.revinclude.filter((s) => !s.iterate)) level1.push(...(await run(spec, true, matches)));
  // :iterate applies once more, to everything found so far (FHIR lets servers bound the depth).
  const pool = [...matches, ...level1];
  for (const spec of req.include.filter((s) => s.iterate)) await run(spec, false, pool);
  for (const spec of req.revinclude.filter((s) => s.iterate)) await run(spec, true, pool);
  if (truncated) {
    warnings.push(
      issue({
        severity: 'warning',
        code: 'too-costly',
        medid: 'unsupported-search',
        text: `Included resources were limited to ${MAX_INCLUDES} for this page`,
      }),
    );
  }
  return out;
}
