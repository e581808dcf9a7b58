/**
 * What FHIR handlers work with: the unit of work (the resources, bound to a connection or to the
 * transaction a bundle runs in), the definitions, and the few settings that shape responses.
 * Built once by createApp; a transaction bundle makes a copy bound to its transaction, so every
 * entry — and every service a handler calls with `ctx.uow` — works inside it.
 */
import type { Clock } from '../core/clock.ts';
import type { FhirDefinitions } from '../fhir/definitions/index.ts';
import type { IdentifierNormalizer } from '../fhir/search/index-rows.ts';
import type { UnitOfWork } from '../repo/unit-of-work.ts';
import type { Validator } from '../repo/validator.ts';

export interface FhirContext {
  uow: UnitOfWork;
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
