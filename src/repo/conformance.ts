/**
 * Publishes medid's conformance resources (read from profiles/ by fhir/definitions) into the
 * store, so they are served like any resource — readable and searchable. Each is written at
 * its id; an unchanged file makes no new version. Several nodes starting at once publish the
 * same resources: a write another node made first (a unique key it took) is read back and
 * compared again, so each change is stored once.
 */
import type { Resource } from '@medplum/fhirtypes';
import { isOutcomeError } from '../core/outcome.ts';
import type { Repository } from './repository.ts';

/** Tries a write again after another node took the same key first. */
const ATTEMPTS = 3;

/** The store's answer to a unique key another writer took first (409 `duplicate`). */
function tookFirst(e: unknown): boolean {
  return isOutcomeError(e) && (e.outcome.issue?.some((i) => i.details?.coding?.some((c) => c.code === 'duplicate')) ?? false);
}

/** Writes each published resource at its id; returns how many this call changed. */
export async function publishConformance(repo: Repository, resources: readonly Resource[]): Promise<number> {
  let written = 0;
  for (const r of resources) {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await repo.update(r.resourceType, r.id as string, r);
        if (res.created || res.stored.versionId > 1) written++;
        break;
      } catch (e) {
        if (!tookFirst(e) || attempt >= ATTEMPTS) throw e;
      }
    }
  }
  return written;
}
