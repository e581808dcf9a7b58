/**
 * medid's own conformance resources (profiles/: StructureDefinitions, NamingSystems,
 * OperationDefinitions, SearchParameters, CodeSystems, ValueSets) are served like any resource
 * — readable and searchable — and are read-only through the API: the files are the source of
 * truth, written into the database at start-up (a new version only when a file changed).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import type { Repository } from '../repo/repository.ts';

export const CONFORMANCE_TYPES = ['StructureDefinition', 'NamingSystem', 'OperationDefinition', 'SearchParameter', 'CodeSystem', 'ValueSet'] as const;

export function readConformanceResources(profilesDir: string): Resource[] {
  const out: Resource[] = [];
  for (const t of CONFORMANCE_TYPES) {
    const dir = path.join(profilesDir, t);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
      out.push(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Resource);
    }
  }
  return out;
}

/** `Type/id` of every published resource, for the read-only guard. */
export function publishedKeys(resources: readonly Resource[]): ReadonlySet<string> {
  return new Set(resources.map((r) => `${r.resourceType}/${r.id ?? ''}`));
}

/** Writes each published resource at its id; unchanged files make no new version. */
export async function publishConformance(repo: Repository, resources: readonly Resource[]): Promise<number> {
  let written = 0;
  for (const r of resources) {
    const res = await repo.update(r.resourceType, r.id as string, r);
    if (res.created || res.stored.versionId > 1) written++;
  }
  return written;
}
