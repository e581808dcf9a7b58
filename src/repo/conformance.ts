/**
 * Publishes medid's conformance resources (read from profiles/ by fhir/definitions) into the
 * store, so they are served like any resource — readable and searchable. Each is written at
 * its id; an unchanged file makes no new version.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Repository } from './repository.ts';

/** Writes each published resource at its id; returns how many changed. */
export async function publishConformance(repo: Repository, resources: readonly Resource[]): Promise<number> {
  let written = 0;
  for (const r of resources) {
    const res = await repo.update(r.resourceType, r.id as string, r);
    if (res.created || res.stored.versionId > 1) written++;
  }
  return written;
}
