/**
 * $validate (type and instance level): validates content against the base definition, the
 * profiles it claims and an optional nominated profile, returning every issue with its
 * expression. A 200 means validation ran; whether the resource is valid is in the outcome.
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { errors } from '../../core/outcome.ts';
import { operationUrl } from '../../core/systems.ts';
import type { FhirContext } from '../context.ts';
import { defineOperation } from './operation.ts';

interface ValidateInput {
  mode: 'create' | 'update' | 'delete' | undefined;
  /** Absent only with mode=delete. */
  resource: Resource | undefined;
  profile: string | undefined;
}

const MODES = new Set(['create', 'update', 'delete']);

export const resourceValidate = defineOperation<ValidateInput>({
  url: operationUrl('Resource-validate'),
  input(call) {
    const mode = call.input.string('mode');
    if (mode !== undefined && !MODES.has(mode)) {
      throw errors.badRequest(`Parameter mode: "${mode}" must be create, update or delete`, 'invalid-parameter', 'mode');
    }
    if ((mode === 'update' || mode === 'delete') && call.level !== 'instance') {
      throw errors.badRequest(`mode=${mode} needs the instance form [type]/[id]/$validate`, 'invalid-parameter', 'mode');
    }
    const resource = call.input.resource('resource');
    if (mode !== 'delete' && !resource)
      throw errors.badRequest('Parameter resource is required unless mode is delete', 'invalid-parameter', 'resource', 'required');
    return { mode: mode as ValidateInput['mode'], resource, profile: call.input.string('profile') };
  },
  async handle(ctx: FhirContext, input, call) {
    const issues: OperationOutcomeIssue[] = [];
    if (input.mode === 'delete' || !input.resource) {
      await ctx.uow.resources.read(call.resourceType as string, call.id as string);
    } else {
      const resource = input.resource;
      ctx.validator.assertResource(resource, call.resourceType);
      if (input.mode === 'update' && resource.id !== call.id) {
        issues.push({
          severity: 'error',
          code: 'invalid',
          details: { text: `The resource id "${resource.id ?? ''}" does not match the URL id "${call.id ?? ''}"` },
          expression: ['id'],
        });
      }
      const report = ctx.validator.check(resource, input.profile);
      issues.push(...report.base, ...report.profile, ...report.info);
    }
    if (issues.length === 0) {
      issues.push({ severity: 'information', code: 'informational', details: { text: 'Validation found no issues' } });
    }
    return { status: 200, body: { resourceType: 'OperationOutcome', issue: issues } };
  },
});
