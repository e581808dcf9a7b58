/**
 * The IG's FHIR package (package.tgz), in the FHIR NPM package format validators load
 * (https://confluence.hl7.org/display/FHIR/NPM+Package+Specification): a gzipped tar whose top
 * folder is `package/`, holding package.json (name, version, fhirVersions, dependencies),
 * .index.json (every resource file with its resourceType, id, url, version, kind, type) and one
 * JSON file per conformance resource — SUSHI's output in profiles/ plus the CapabilityStatement —
 * and the examples under package/example/ with their own .index.json. Byte-for-byte the same
 * for the same input (fixed mtimes, no owners, sorted entries).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import type { Resource } from '@medplum/fhirtypes';
import { create as createTar } from 'tar';

export const PACKAGE_NAME = 'medid.fhir';

export interface PackageInput {
  version: string;
  canonical: string;
  /** Conformance resources (StructureDefinition, OperationDefinition, …, CapabilityStatement). */
  resources: Resource[];
  examples: Resource[];
  /** The tarball to write. */
  out: string;
}

export interface IndexEntry {
  filename: string;
  resourceType: string;
  id?: string;
  url?: string;
  version?: string;
  kind?: string;
  type?: string;
  supplements?: string;
  content?: string;
}

function indexEntry(filename: string, r: Resource): IndexEntry {
  const x = r as unknown as Record<string, unknown>;
  const str = (k: string): string | undefined => (typeof x[k] === 'string' ? x[k] : undefined);
  const entry: IndexEntry = { filename, resourceType: r.resourceType };
  for (const k of ['id', 'url', 'version', 'kind', 'type', 'supplements', 'content'] as const) {
    const v = str(k);
    if (v !== undefined) entry[k] = v;
  }
  return entry;
}

const fileName = (r: Resource): string => `${r.resourceType}-${r.id ?? ''}.json`;

/** Writes the package; returns the paths inside the tarball, in order. */
export async function writePackage(p: PackageInput): Promise<string[]> {
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-package-'));
  try {
    const files: string[] = [];
    const put = (rel: string, value: unknown): void => {
      const f = path.join(stage, rel);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, `${JSON.stringify(value, null, 2)}\n`);
      files.push(rel);
    };
    put('package/package.json', {
      name: PACKAGE_NAME,
      version: p.version,
      type: 'IG',
      canonical: p.canonical,
      url: p.canonical,
      title: 'medid Implementation Guide',
      description:
        "Conformance resources of medid, the FHIR R4 server of Japan's medical-ID authority: profiles, extensions, operations, search parameters, naming systems, terminology and the server's CapabilityStatement.",
      fhirVersions: ['4.0.1'],
      dependencies: { 'hl7.fhir.r4.core': '4.0.1' },
      jurisdiction: 'urn:iso:std:iso:3166#JP',
      license: 'Apache-2.0',
      author: 'medid',
    });
    const resources = [...p.resources].sort((a, b) => fileName(a).localeCompare(fileName(b)));
    const examples = [...p.examples].sort((a, b) => fileName(a).localeCompare(fileName(b)));
    put('package/.index.json', { 'index-version': 1, files: resources.map((r) => indexEntry(fileName(r), r)) });
    for (const r of resources) put(`package/${fileName(r)}`, r);
    put('package/example/.index.json', { 'index-version': 1, files: examples.map((r) => indexEntry(fileName(r), r)) });
    for (const r of examples) put(`package/example/${fileName(r)}`, r);
    const tar = createTar({ cwd: stage, portable: true, mtime: new Date('2000-01-01T00:00:00Z'), noDirRecurse: true }, files);
    fs.mkdirSync(path.dirname(p.out), { recursive: true });
    await pipeline(tar, zlib.createGzip({ level: 9 }), fs.createWriteStream(p.out));
    return files;
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}
