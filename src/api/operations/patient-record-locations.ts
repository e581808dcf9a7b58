/**
 * Patient/[id]/$record-locations (R11): the organizations that served the person, with their
 * endpoints, as a `collection` Bundle of EpisodeOfCare (one per organization, period = first to
 * last confirmed day), Organization and Endpoint entries. The answer and who may ask are the
 * privacy service's (privacy/record-locations.ts); this is its FHIR shape. Audited.
 */
import { can } from '../../auth/guard.ts';
import { rowsFor } from '../request.ts';
import type { Bundle, BundleEntry, EpisodeOfCare } from '@medplum/fhirtypes';
import { ID_SYSTEMS, operationUrl } from '../../core/systems.ts';
import { serviceEpisode } from '../interactions/episode-of-care.ts';
import { assertMayLocateRecords } from '../../privacy/access-rules.ts';
import { recordLocationsOf } from '../../privacy/record-locations.ts';
import { defineOperation } from './operation.ts';

export const patientRecordLocations = defineOperation<{ patientId: string }>({
  url: operationUrl('Patient-record-locations'),
  input: (call) => ({ patientId: call.id as string }),
  async handle(ctx, { patientId }, call) {
    assertMayLocateRecords(call.req.principal?.org, call.req.purposeOfUse);
    // 404 / 410 as for a read: a person outside the caller's reach (or opted out) is not found.
    await ctx.uow.resources.read('Patient', patientId, rowsFor(call.req, 'read'));
    const found = await recordLocationsOf(ctx.uow, patientId, ctx.clock.now().toISOString().slice(0, 10));
    // The same EpisodeOfCare that EpisodeOfCare/[id] and EpisodeOfCare?patient= answer.
    const byCode = new Map(
      found.organizations.map((o) => [o.identifier?.find((i) => i.system === ID_SYSTEMS.medicalInstitutionCode)?.value, o]),
    );
    const episodes: EpisodeOfCare[] = found.uses.map((u) => serviceEpisode(u, patientId, byCode.get(u.orgCode)));
    const entries: BundleEntry[] = [
      ...episodes.map((e) => ({ fullUrl: `${ctx.baseUrl}/EpisodeOfCare/${e.id ?? ''}`, resource: e })),
      // Directory entries only to a token that may read them (scopes).
      ...(can(call.req.principal, 'Organization', 'r') ? found.organizations : []).map((o) => ({
        fullUrl: `${ctx.baseUrl}/Organization/${o.id ?? ''}`,
        resource: o,
      })),
      ...(can(call.req.principal, 'Endpoint', 'r') ? found.endpoints : []).map((e) => ({
        fullUrl: `${ctx.baseUrl}/Endpoint/${e.id ?? ''}`,
        resource: e,
      })),
    ];
    const body: Bundle = { resourceType: 'Bundle', type: 'collection', timestamp: ctx.clock.now().toISOString(), entry: entries };
    return {
      status: 200,
      body,
      disclosed: [{ resourceType: 'Patient', id: patientId, patients: [patientId] }],
      query: `organizations=${found.organizations.length}${found.deniedAll ? '&consent=deny-all' : ''}`,
    };
  },
});
