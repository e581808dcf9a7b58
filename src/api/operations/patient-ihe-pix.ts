/**
 * Patient/$ihe-pix (IHE PIXm ITI-83): a regional network or hospital gives one identifier it
 * knows and gets the person's identifiers in the other domains it may see (R12). Status codes as
 * PIXm says: unknown identifier in a known domain 404, unknown source domain 400, a target
 * domain that is unknown (or not the caller's to see) 403. Who may see which domain is one
 * policy (privacy/identifier-domains.ts).
 */
import type { Parameters, Patient } from '@medplum/fhirtypes';
import { errors } from '../../core/outcome.ts';
import { operationUrl } from '../../core/systems.ts';
import { isPatientDomain, maySeeIdentifier, mayUseDomain } from '../../privacy/identifier-domains.ts';
import { defineOperation } from './operation.ts';
import type { OperationHandler } from './operation.ts';

interface PixInput {
  /** sourceIdentifier as system|value. */
  source: string;
  /** targetSystem values (each may list several, comma-separated). */
  targets: string[];
}

const pixError = (status: 400 | 403 | 404, text: string, expression: string) =>
  status === 400
    ? errors.badRequest(text, 'invalid-parameter', expression, 'code-invalid')
    : status === 403
      ? errors.forbidden(text)
      : errors.notFound(text);

export function patientIhePix(o: { medicalIdSystem: string }): OperationHandler {
  return defineOperation<PixInput>({
    url: operationUrl('Patient-ihe-pix'),
    input: (call) => ({
      source: call.input.string('sourceIdentifier') ?? '',
      targets: call.input
        .all('targetSystem')
        .flatMap((t) => String(t).split(','))
        .filter((t) => t !== ''),
    }),
    async handle(ctx, input, call) {
      const org = call.req.principal?.org;
      const bar = input.source.indexOf('|');
      if (bar <= 0 || bar === input.source.length - 1)
        throw errors.badRequest('sourceIdentifier must be a token system|value', 'invalid-parameter', 'sourceIdentifier', 'required');
      const system = input.source.slice(0, bar);
      const value = input.source.slice(bar + 1);
      if (!isPatientDomain(system, o.medicalIdSystem))
        throw pixError(400, 'sourceIdentifier Assigning Authority not found', 'sourceIdentifier');
      for (const t of input.targets) {
        if (!isPatientDomain(t, o.medicalIdSystem))
          throw pixError(403, `targetSystem ${t} is not a domain medid cross-references`, 'targetSystem');
        if (!mayUseDomain(org, t, o.medicalIdSystem))
          throw pixError(403, `targetSystem ${t} is not a domain this client may see`, 'targetSystem');
      }
      if (!mayUseDomain(org, system, o.medicalIdSystem))
        throw pixError(403, 'sourceIdentifier is in a domain this client may not query', 'sourceIdentifier');
      const found = await ctx.uow.resources.findMatches('Patient', new URLSearchParams({ identifier: `${system}|${value}` }).toString());
      const active = found.filter((r) => !((JSON.parse(r.content as string) as Patient).link ?? []).some((l) => l.type === 'replaced-by'));
      const hit = active[0] ?? found[0];
      if (!hit) throw pixError(404, 'sourceIdentifier Patient Identifier not found', 'sourceIdentifier');
      const patient = JSON.parse(hit.content as string) as Patient;
      const normalized = ctx.normalizeIdentifier(system, value);
      const out = (patient.identifier ?? [])
        .filter((id) => id.system && id.value && !(id.system === system && ctx.normalizeIdentifier(system, id.value) === normalized))
        .filter((id) => isPatientDomain(id.system as string, o.medicalIdSystem) && maySeeIdentifier(org, id, o.medicalIdSystem))
        .filter((id) => input.targets.length === 0 || input.targets.includes(id.system as string));
      const body: Parameters = {
        resourceType: 'Parameters',
        parameter: [
          ...out.map((id) => ({
            name: 'targetIdentifier',
            valueIdentifier: {
              system: id.system,
              value: id.value,
              ...(id.use ? { use: id.use } : {}),
              ...(id.period ? { period: id.period } : {}),
            },
          })),
          { name: 'targetId', valueReference: { reference: `Patient/${hit.id}` } },
        ],
      };
      return { status: 200, body, disclosed: [{ resourceType: 'Patient', id: hit.id, versionId: hit.versionId, patients: [hit.id] }] };
    },
  });
}
