/**
 * Resource validation, the one check both a write and $validate run, so they always agree:
 * 1. the content rules every write applies first (identifier normalization, My Number): their
 *    refusals are 422;
 * 2. the base R4 StructureDefinition (structure, cardinality, types, invariants) through
 *    @medplum/core's validator, plus what it leaves out (datatype-rules.ts): 400;
 * 3. every medid profile the resource claims in meta.profile, or one nominated: 422.
 * Base failures are 400 (the resource is not valid FHIR); profile and content failures 422 (valid
 * FHIR that breaks a rule medid publishes), as FHIR's http.html distinguishes them.
 */
import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { TypedValueWithPath } from '@medplum/core';
import type { OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import type { FhirDefinitions } from '../fhir/definitions/index.ts';
import { errors, isOutcomeError, issue } from '../core/outcome.ts';
import { SYSTEMS } from '../core/systems.ts';
import { datatypeIssues, requiredBindingIssues } from './datatype-rules.ts';
import { judgeMedplumIssue } from './medplum-issues.ts';
import { shapeIssues } from './shape-check.ts';

/** A rule run on every resource before validation: returns it normalized, or throws a 422 outcome. */
export type ContentRule = (r: Resource) => Resource;

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

const STRUCTURE_FAULT = (r: Resource): OperationOutcomeIssue =>
  issue({
    code: 'structure',
    medid: 'invalid-resource',
    text: 'The resource does not have the structure R4 defines for it',
    expression: r.resourceType,
  });

function run(
  resource: Resource,
  profile: StructureDefinition | undefined,
  tokens?: Record<string, TypedValueWithPath[]>,
): OperationOutcomeIssue[] {
  try {
    return validateResource(resource, profile ? { profile } : { collect: { tokens: tokens ?? {} } });
  } catch (e) {
    if (e instanceof OperationOutcomeError) {
      return e.outcome.issue ?? [];
    }
    // medplum's crawler throws plain Errors on some malformed shapes (a _element that is not an
    // object, a primitive where an array of them is due): the resource is invalid, not the server.
    return [STRUCTURE_FAULT(resource)];
  }
}

/** At most this many issues are reported: a 100 kB string where an object belongs is one fault, not 100,000. */
const MAX_ISSUES = 50;

function capped(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  if (issues.length <= MAX_ISSUES) return issues;
  return [
    ...issues.slice(0, MAX_ISSUES),
    issue({
      severity: 'error',
      code: 'too-costly',
      medid: 'invalid-resource',
      text: `${issues.length - MAX_ISSUES} more issues were found and not listed`,
    }),
  ];
}

export class Validator {
  private readonly defs: FhirDefinitions;
  private readonly contentRules: readonly ContentRule[];

  constructor(defs: FhirDefinitions, contentRules: readonly ContentRule[] = []) {
    this.defs = defs;
    this.contentRules = contentRules;
  }

  /** A write's body: a resource of the type, normalized by the content rules, valid (else 4xx). */
  prepare(body: unknown, type: string): Resource {
    this.assertResource(body, type);
    let r: Resource = body;
    for (const rule of this.contentRules) r = rule(r);
    this.assertValid(r);
    return r;
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
  check(given: Resource, nominated?: string): ValidationReport {
    const report: ValidationReport = { base: [], profile: [], info: [] };
    let resource = given;
    for (const rule of this.contentRules) {
      try {
        resource = rule(resource);
      } catch (e) {
        if (!isOutcomeError(e)) throw e;
        report.profile.push(...(e.outcome.issue ?? []));
      }
    }
    const shape = shapeIssues(resource as unknown as Record<string, unknown>);
    if (shape.length > 0) {
      // Profiles would walk the same misplaced strings: the shape faults are the answer.
      report.base.push(...shape.map((i) => tag(i, 'invalid-resource')));
      return report;
    }
    for (const i of this.baseIssues(resource)) {
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
      for (const i of run(resource, sd).flatMap((x) => judgeMedplumIssue(x, resource))) {
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

  /** Issues against the base R4 definitions alone: structure, types, invariants, required codes. */
  baseIssues(resource: Resource): OperationOutcomeIssue[] {
    const shape = shapeIssues(resource as unknown as Record<string, unknown>);
    if (shape.length > 0) return shape;
    const tokens: Record<string, TypedValueWithPath[]> = {};
    const medplum = run(resource, undefined, tokens).flatMap((i) => judgeMedplumIssue(i, resource));
    let ours: OperationOutcomeIssue[];
    try {
      ours = [...datatypeIssues(resource, this.defs.terminology), ...requiredBindingIssues(tokens, this.defs.terminology)];
    } catch {
      // The same shapes can trip the crawler here; medplum has named the structural fault already.
      ours = medplum.length > 0 ? [] : [STRUCTURE_FAULT(resource)];
    }
    return capped([...medplum, ...ours]);
  }

  /** An operation's input resource (a $match query, a $register record) is at least valid R4 (else 400). */
  assertStructure(resource: Resource): void {
    const e = this.baseIssues(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');
    if (e.length > 0)
      throw errors.invalid(
        e.map((i) => tag(i, 'invalid-resource')),
        400,
      );
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
