/**
 * $validate (type and instance level): validates content against the base definition, the
 * profiles it claims and an optional nominated profile, returning every issue with its
 * expression. A 200 means validation ran; whether the resource is valid is in the outcome.
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { MEDID_CANONICAL } from '../canonical.ts';
import type { FhirContext } from '../context.ts';
import { errors } from '../outcome.ts';
import type { OperationHandler } from './registry.ts';

export const validateOperation: OperationHandler = {
  url: `${MEDID_CANONICAL}/OperationDefinition/Resource-validate`,
  async handle(ctx: FhirContext, call) {
    const mode = call.input.string('mode');
    if (mode !== undefined && !['create', 'update', 'delete'].includes(mode)) {
      throw errors.badRequest(`Parameter mode: "${mode}" must be create, update or delete`, 'invalid-parameter', 'mode');
    }
    if ((mode === 'update' || mode === 'delete') && call.level !== 'instance') {
      throw errors.badRequest(`mode=${mode} needs the instance form [type]/[id]/$validate`, 'invalid-parameter', 'mode');
    }
    const issues: OperationOutcomeIssue[] = [];
    if (mode === 'delete') {
      await ctx.repo.read(call.resourceType as string, call.id as string);
    } else {
      const resource = call.input.resource('resource');
      if (!resource) throw errors.badRequest('Parameter resource is required unless mode is delete', 'invalid-parameter', 'resource', 'required');
      ctx.validator.assertResource(resource, call.resourceType);
      if (mode === 'update' && resource.id !== call.id) {
        issues.push({ severity: 'error', code: 'invalid', details: { text: `The resource id "${resource.id ?? ''}" does not match the URL id "${call.id ?? ''}"` }, expression: ['id'] });
      }
      const report = ctx.validator.check(resource, call.input.string('profile'));
      issues.push(...report.base, ...report.profile, ...report.info);
    }
    if (issues.length === 0) {
      issues.push({ severity: 'information', code: 'informational', details: { text: 'Validation found no issues' } });
    }
    return { status: 200, body: { resourceType: 'OperationOutcome', issue: issues } };
  },
};
