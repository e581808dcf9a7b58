/**
 * Resource validation: the base R4 StructureDefinition (structure, cardinality, types,
 * invariants) through @medplum/core's validator, then every medid profile the resource claims
 * in meta.profile. Base failures are 400 (the resource is not valid FHIR); profile failures 422
 * (valid FHIR that breaks a rule medid publishes), as FHIR's http.html distinguishes them.
 */
import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import type { FhirDefinitions } from '../fhir/definitions/index.ts';
import { errors, issue } from '../core/outcome.ts';
import { SYSTEMS } from '../core/systems.ts';

export interface ValidationReport {
  /** Issues against the base specification (400 on write). */
  base: OperationOutcomeIssue[];
  /** Issues against claimed or nominated profiles (422 on write). */
  profile: OperationOutcomeIssue[];
  /** Warnings and information: never block a write. */
  info: OperationOutcomeIssue[];
}

function tag(i: OperationOutcomeIssue, code: 'invalid-resource' | 'profile-violation'): OperationOutcomeIssue {
  return { ...i, details: { ...i.details, coding: [{ system: SYSTEMS.medidError, code }] } };
}

function run(resource: Resource, profile: StructureDefinition | undefined): OperationOutcomeIssue[] {
  try {
    return validateResource(resource, profile ? { profile } : undefined);
  } catch (e) {
    if (e instanceof OperationOutcomeError) {
      return e.outcome.issue ?? [];
    }
    throw e;
  }
}

export class Validator {
  private readonly defs: FhirDefinitions;

  constructor(defs: FhirDefinitions) {
    this.defs = defs;
  }

  /** Checks a parsed JSON value is a resource object of a known type (else 400). */
  assertResource(body: unknown, expectedType?: string): asserts body is Resource {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw errors.badRequest('The request body must be a FHIR resource (a JSON object)', 'invalid-resource', undefined, 'structure');
    }
    const rt = (body as { resourceType?: unknown }).resourceType;
    if (typeof rt !== 'string' || !this.defs.isResourceType(rt)) {
      throw errors.badRequest(
        `resourceType ${typeof rt === 'string' ? `"${rt}" is not an R4 resource type` : 'is missing'}`,
        'invalid-resource',
        'resourceType',
        'structure',
      );
    }
    if (expectedType !== undefined && rt !== expectedType) {
      throw errors.badRequest(
        `resourceType "${rt}" does not match the URL's type ${expectedType}`,
        'resource-type-mismatch',
        'resourceType',
      );
    }
  }

  /**
   * Validates against the base definition and the profiles: those claimed in meta.profile that
   * medid publishes (others are reported as information), plus an explicitly nominated one.
   */
  check(resource: Resource, nominated?: string): ValidationReport {
    const report: ValidationReport = { base: [], profile: [], info: [] };
    for (const i of run(resource, undefined)) {
      (i.severity === 'error' || i.severity === 'fatal' ? report.base : report.info).push(tag(i, 'invalid-resource'));
    }
    const urls = new Set(resource.meta?.profile ?? []);
    if (nominated) urls.add(nominated);
    for (const url of urls) {
      const sd = this.defs.profiles.get(url);
      if (!sd) {
        if (url === nominated) {
          report.profile.push(
            issue({
              code: 'not-supported',
              medid: 'unknown-profile',
              text: `Profile ${url} is not known to this server`,
              expression: 'meta.profile',
            }),
          );
        } else {
          report.info.push(
            issue({
              severity: 'information',
              code: 'informational',
              medid: 'unknown-profile',
              text: `Profile ${url} is not known to this server and was not checked`,
              expression: 'meta.profile',
            }),
          );
        }
        continue;
      }
      if (sd.type !== resource.resourceType) {
        report.profile.push(
          issue({
            code: 'invalid',
            medid: 'profile-violation',
            text: `Profile ${url} constrains ${sd.type}, not ${resource.resourceType}`,
            expression: 'meta.profile',
          }),
        );
        continue;
      }
      for (const i of run(resource, sd)) {
        if (i.severity === 'error' || i.severity === 'fatal') {
          // An error already reported against the base is not repeated for the profile.
          if (!report.base.some((b) => b.details?.text === i.details?.text && String(b.expression) === String(i.expression))) {
            report.profile.push(tag(i, 'profile-violation'));
          }
        } else {
          report.info.push(i);
        }
      }
    }
    return report;
  }

  /** Throws 400 for base errors, else 422 for profile errors. */
  assertValid(resource: Resource): void {
    const r = this.check(resource);
    if (r.base.length > 0) {
      throw errors.invalid(r.base, 400);
    }
    if (r.profile.length > 0) {
      throw errors.invalid(r.profile, 422);
    }
  }
}
