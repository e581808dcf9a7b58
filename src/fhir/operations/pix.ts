/**
 * Patient/$ihe-pix (IHE PIXm ITI-83): a regional network or hospital gives one identifier it
 * knows and gets the person's identifiers in the other domains it may see (R12). Status codes as
 * PIXm says: unknown identifier in a known domain 404, unknown source domain 400, a target
 * domain that is unknown (or not the caller's to see) 403.
 *
 * Domains are the person identifiers medid keeps: the medical ID, insured member ids, public-payer
 * member ids and facility-local ids (one domain per facility). Who sees which (one policy
 * function, `maySee`): the medical ID and public-payer ids any caller with the scope; insured
 * member ids the authority, medical institutions (they read the card) and an insurer for its own
 * numbers only; a facility-local id the authority and that facility only. My Number never.
 */
import type { Identifier, Parameters, Patient } from '@medplum/fhirtypes';
import type { Organization } from '../../auth/principal.ts';
import { facilityCodeOf } from '../../identifiers/facility-patient-id.ts';
import { ID_SYSTEMS } from '../../identifiers/systems.ts';
import { MEDID_CANONICAL } from '../canonical.ts';
import type { FhirContext } from '../context.ts';
import { errors } from '../outcome.ts';
import type { OperationHandler } from './registry.ts';

export interface PixDeps {
  medicalIdSystem: string;
}

/** Whether `system` is a person-identifier domain medid keeps. */
export function isPatientDomain(system: string, medicalIdSystem: string): boolean {
  return system === medicalIdSystem || system === ID_SYSTEMS.insuredMemberId || system === ID_SYSTEMS.publicPayerMemberId || facilityCodeOf(system) !== undefined;
}

/** Whether the caller's organization may see this identifier. */
export function maySee(org: Organization | undefined, id: Identifier, medicalIdSystem: string): boolean {
  const system = id.system ?? '';
  if (system === ID_SYSTEMS.myNumber) return false;
  if (org === undefined || org.kind === 'authority') return true;
  if (system === medicalIdSystem || system === ID_SYSTEMS.publicPayerMemberId) return org.kind !== 'database';
  if (system === ID_SYSTEMS.insuredMemberId) return org.kind === 'medical-institution' || (org.kind === 'insurer' && (id.value ?? '').startsWith(`${org.code}:`));
  const facility = facilityCodeOf(system);
  return facility !== undefined && org.kind === 'medical-institution' && facility === org.code;
}

const pixError = (status: 400 | 403 | 404, text: string, expression: string) =>
  status === 400 ? errors.badRequest(text, 'invalid-parameter', expression, 'code-invalid') : status === 403 ? errors.forbidden(text) : errors.notFound(text);

export function pixOperation(d: PixDeps): OperationHandler {
  return {
    url: `${MEDID_CANONICAL}/OperationDefinition/Patient-ihe-pix`,
    async handle(ctx: FhirContext, call) {
      const org = call.req.principal?.org;
      const raw = call.input.string('sourceIdentifier') ?? '';
      const bar = raw.indexOf('|');
      if (bar <= 0 || bar === raw.length - 1) throw errors.badRequest('sourceIdentifier must be a token system|value', 'invalid-parameter', 'sourceIdentifier', 'required');
      const system = raw.slice(0, bar);
      const value = raw.slice(bar + 1);
      if (!isPatientDomain(system, d.medicalIdSystem)) throw pixError(400, 'sourceIdentifier Assigning Authority not found', 'sourceIdentifier');
      const targets = call.input.all('targetSystem').flatMap((t) => String(t).split(',')).filter((t) => t !== '');
      for (const t of targets) {
        if (!isPatientDomain(t, d.medicalIdSystem)) throw pixError(403, `targetSystem ${t} is not a domain medid cross-references`, 'targetSystem');
        if (!mayDomain(org, t, d.medicalIdSystem)) throw pixError(403, `targetSystem ${t} is not a domain this client may see`, 'targetSystem');
      }
      if (!mayDomain(org, system, d.medicalIdSystem)) throw pixError(403, 'sourceIdentifier is in a domain this client may not query', 'sourceIdentifier');
      const found = await ctx.repo.findMatches('Patient', new URLSearchParams({ identifier: `${system}|${value}` }).toString());
      const active = found.filter((r) => !((JSON.parse(r.content as string) as Patient).link ?? []).some((l) => l.type === 'replaced-by'));
      const hit = active[0] ?? found[0];
      if (!hit) throw pixError(404, 'sourceIdentifier Patient Identifier not found', 'sourceIdentifier');
      const patient = JSON.parse(hit.content as string) as Patient;
      const normalized = ctx.normalizeIdentifier(system, value);
      const out = (patient.identifier ?? []).filter((id) => id.system && id.value && !(id.system === system && ctx.normalizeIdentifier(system, id.value) === normalized))
        .filter((id) => isPatientDomain(id.system as string, d.medicalIdSystem) && maySee(org, id, d.medicalIdSystem))
        .filter((id) => targets.length === 0 || targets.includes(id.system as string));
      const body: Parameters = {
        resourceType: 'Parameters',
        parameter: [
          ...out.map((id) => ({ name: 'targetIdentifier', valueIdentifier: { system: id.system, value: id.value, ...(id.use ? { use: id.use } : {}), ...(id.period ? { period: id.period } : {}) } })),
          { name: 'targetId', valueReference: { reference: `Patient/${hit.id}` } },
        ],
      };
      return { status: 200, body, disclosed: [{ resourceType: 'Patient', id: hit.id, versionId: hit.versionId, patients: [hit.id] }] };
    },
  };
}

/** Whether the caller may query or receive a domain at all (an insurer: insured numbers, its own). */
function mayDomain(org: Organization | undefined, system: string, medicalIdSystem: string): boolean {
  if (org === undefined || org.kind === 'authority') return true;
  if (system === ID_SYSTEMS.insuredMemberId) return org.kind === 'medical-institution' || org.kind === 'insurer';
  if (system === medicalIdSystem || system === ID_SYSTEMS.publicPayerMemberId) return org.kind !== 'database';
  const facility = facilityCodeOf(system);
  return facility !== undefined && org.kind === 'medical-institution' && facility === org.code;
}
