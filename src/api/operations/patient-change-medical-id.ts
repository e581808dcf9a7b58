/**
 * Patient/[id]/$change-medical-id (R6): a new medical ID for the person, for one of two reasons
 * (privacy-design.md §3):
 * - `lost-card` (default, case 1): same person key, every pseudonym unchanged; the old ID stays on
 *   the Patient as `use: old`;
 * - `break-linkage` (case 2, the authority's decision with a recorded `note`): a new person key
 *   too, so every domain pseudonym changes; earlier IDs are retired and leave the Patient; the
 *   old→new link is kept only sealed to the oversight key, or not at all (MEDID_BREAK_LINKAGE_LINK).
 * The note may describe the person's circumstances: it is stored with the decision only — never
 * in the audit record (which keeps the reason code), a log line, an error or the response.
 */
import type { Parameters } from '@medplum/fhirtypes';
import { errors } from '../../core/outcome.ts';
import { operationUrl } from '../../core/systems.ts';
import type { Lifecycle } from '../../registry/lifecycle.ts';
import type { FhirRequest } from '../request.ts';
import { disclosePatients } from './patient-parameters.ts';
import { defineOperation } from './operation.ts';
import { assertAuthorityStaff } from '../../privacy/access-rules.ts';
import type { OperationHandler } from './operation.ts';

export const CHANGE_REASONS = ['lost-card', 'break-linkage'] as const;
export type ChangeReason = (typeof CHANGE_REASONS)[number];

/** Longest note accepted (characters). */
export const NOTE_MAX = 2000;

interface ChangeInput {
  patientId: string;
  reason: string | undefined;
  note: string | undefined;
  /** Whether `note` came in the URL (where proxies and access logs keep it): refused. */
  noteInUrl: boolean;
}

const isReason = (r: string | undefined): r is ChangeReason => (CHANGE_REASONS as readonly string[]).includes(r ?? '');

/** The reason as the audit record keeps it: a known code, never text the caller typed. */
function auditedReason(req: FhirRequest): string {
  const body = req.body as Parameters | undefined;
  const inBody = body?.resourceType === 'Parameters' && Array.isArray(body.parameter);
  const param = inBody ? body.parameter?.find((p) => typeof p === 'object' && p !== null && p.name === 'reason') : undefined;
  const given: unknown = param ? param.valueCode : req.query.find(([k]) => k === 'reason')?.[1];
  if (!param && given === undefined) return 'reason=lost-card';
  return `reason=${typeof given === 'string' && isReason(given) ? given : 'invalid'}`;
}

// Tabs and line breaks are text; other control characters (a NUL cannot even be stored) are not.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

function checkedNote(note: string | undefined): string {
  const n = note?.trim() ?? '';
  if (n === '')
    throw errors.badRequest(
      'Parameter note is required with reason break-linkage: the recorded reason for the decision',
      'invalid-parameter',
      'note',
      'required',
    );
  if (n.length > NOTE_MAX) throw errors.badRequest(`Parameter note: at most ${NOTE_MAX} characters`, 'invalid-parameter', 'note');
  if (CONTROL.test(n)) throw errors.badRequest('Parameter note: control characters are not accepted', 'invalid-parameter', 'note');
  return n;
}

export function patientChangeMedicalId(lc: Lifecycle, medicalIdSystem: string): OperationHandler {
  return defineOperation<ChangeInput>({
    url: operationUrl('Patient-change-medical-id'),
    selfCommitting: true,
    input: (call) => ({
      patientId: call.id as string,
      reason: call.input.string('reason'),
      note: call.input.string('note'),
      noteInUrl: call.req.query.some(([k]) => k === 'note'),
    }),
    // Failures are audited with the reason code only (a note in the query would otherwise be kept).
    auditQuery: auditedReason,
    async handle(_ctx, input, call) {
      assertAuthorityStaff(call.req.principal?.org, '$change-medical-id');
      if (input.noteInUrl)
        throw errors.badRequest('Parameter note goes in the Parameters body, never in the URL', 'invalid-parameter', 'note');
      const reason = input.reason ?? 'lost-card';
      if (!isReason(reason))
        throw errors.badRequest(`Parameter reason must be one of ${CHANGE_REASONS.join(', ')}`, 'invalid-parameter', 'reason');
      if (reason === 'lost-card') {
        if (input.note !== undefined)
          throw errors.badRequest('Parameter note is recorded with reason break-linkage only', 'invalid-parameter', 'note');
        const r = await lc.changeMedicalId(input.patientId);
        const body: Parameters = {
          resourceType: 'Parameters',
          parameter: [
            { name: 'medicalId', valueIdentifier: { use: 'official', system: medicalIdSystem, value: r.new } },
            { name: 'previous', valueIdentifier: { use: 'old', system: medicalIdSystem, value: r.old } },
            { name: 'patient', resource: r.patient },
          ],
        };
        return { status: 200, body, disclosed: disclosePatients(input.patientId), query: 'reason=lost-card' };
      }
      const r = await lc.breakLinkage(input.patientId, checkedNote(input.note));
      const body: Parameters = {
        resourceType: 'Parameters',
        parameter: [
          { name: 'medicalId', valueIdentifier: { use: 'official', system: medicalIdSystem, value: r.new } },
          { name: 'previous', valueIdentifier: { use: 'old', system: medicalIdSystem, value: r.old } },
          { name: 'patient', resource: r.patient },
          { name: 'link', valueCode: r.sealed ? 'sealed' : 'none' },
        ],
      };
      return {
        status: 200,
        body,
        disclosed: disclosePatients(input.patientId),
        // The decision's record id ties the audit entry to the note, which stays in the registry.
        query: `reason=break-linkage&decision=${r.record}`,
      };
    },
  });
}
