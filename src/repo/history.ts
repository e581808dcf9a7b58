/**
 * History at instance, type and system level (FHIR R4 http.html §3.1.0.12): one page of versions,
 * newest first, deletions included, and the total.
 */
import { errors } from '../core/outcome.ts';
import type { StoredResource } from '../fhir/stored-resource.ts';
import { countHistory, history } from '../store/resources.ts';
import type { HistoryQuery } from '../store/resources.ts';
import type { UnitOfWork } from './unit-of-work.ts';

export type { HistoryQuery };

export interface HistoryPage {
  /** Versions of this page; `seq` is the version's sequence (the paging cursor). */
  versions: StoredResource[];
  /** Whether older versions follow. */
  more: boolean;
  total: number;
}

/** One page of history. An instance history of a resource that never existed is 404, not an empty page. */
export async function readHistory(uow: UnitOfWork, q: HistoryQuery): Promise<HistoryPage> {
  if (q.id !== undefined && q.resourceType !== undefined) {
    const rows = await history(uow.db, { resourceType: q.resourceType, id: q.id, limit: 1, access: q.access });
    if (rows.length === 0) throw errors.notFound(`${q.resourceType}/${q.id} is not known`);
  }
  const rows = q.limit === 0 ? [] : await history(uow.db, { ...q, limit: q.limit + 1 });
  const versions = rows.slice(0, q.limit);
  const more = rows.length > q.limit;
  const total =
    q.beforeVseq === undefined && !more && q.limit > 0
      ? versions.length
      : await countHistory(uow.db, { resourceType: q.resourceType, id: q.id, since: q.since, at: q.at, access: q.access });
  return { versions, more, total };
}
