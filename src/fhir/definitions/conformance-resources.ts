/**
 * medid's own conformance resources (profiles/: StructureDefinitions, NamingSystems,
 * OperationDefinitions, SearchParameters, CodeSystems, ValueSets, the usage Measure), read from their files. The
 * files are the source of truth: repo/conformance.ts writes them into the database at start-up,
 * and the API serves them read-only.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';

export const CONFORMANCE_TYPES = [
  'StructureDefinition',
  'NamingSystem',
  'OperationDefinition',
  'SearchParameter',
  'CodeSystem',
  'ValueSet',
  'Measure',
] as const;

export function readConformanceResources(profilesDir: string): Resource[] {
  const out: Resource[] = [];
  for (const t of CONFORMANCE_TYPES) {
    const dir = path.join(profilesDir, t);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs
      .readdirSync(dir)
      .filter((x) => x.endsWith('.json'))
      .sort()) {
      out.push(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Resource);
    }
  }
  return out;
}

/** `Type/id` of every published resource, for the read-only guard. */
export function publishedKeys(resources: readonly Resource[]): ReadonlySet<string> {
  return new Set(resources.map((r) => `${r.resourceType}/${r.id ?? ''}`));
}
