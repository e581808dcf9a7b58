/**
 * What FHIR handlers work with: the repository (bound to a connection or a transaction), the
 * definitions, and the few settings that shape responses. Built once by createApp; bundles
 * make a copy bound to their transaction.
 */
import type { Clock } from '../clock.ts';
import type { Repository } from '../repo/repository.ts';
import type { Validator } from '../repo/validator.ts';
import type { FhirDefinitions } from './definitions/index.ts';
import type { IdentifierNormalizer } from './search/index-rows.ts';

export interface FhirContext {
  repo: Repository;
  defs: FhirDefinitions;
  validator: Validator;
  clock: Clock;
  normalizeIdentifier: IdentifierNormalizer;
  baseUrl: string;
  defaultCount: number;
  maxCount: number;
  /** `Type/id` of medid's published conformance resources (read-only through the API). */
  published: ReadonlySet<string>;
}
