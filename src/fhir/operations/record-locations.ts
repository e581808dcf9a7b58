/**
 * Patient/[id]/$record-locations (R11): the organizations that served the person (from the
 * service-use history eligibility confirmations keep) with their endpoints, as a `collection`
 * Bundle of EpisodeOfCare (one per organization, period = first to last confirmed day),
 * Organization and Endpoint entries. For a caller with a treatment purpose only; the person's
 * Consents are consulted through one policy function (src/privacy/consent-policy.ts). Audited.
 */
import type { Bundle, BundleEntry, Consent, Endpoint, EpisodeOfCare, Organization } from '@medplum/fhirtypes';
import { ID_SYSTEMS } from '../../identifiers/systems.ts';
import { recordLocationPolicy } from '../../privacy/consent-policy.ts';
import { currentRequestContext } from '../../request-context.ts';
import { referringResources, resourcesByIdentifier, serviceUseOf } from '../../store/eligibility.ts';
import { MEDID_CANONICAL } from '../canonical.ts';
import type { FhirContext } from '../context.ts';
import { errors } from '../outcome.ts';
import type { OperationHandler } from './registry.ts';

const TREATMENT = new Set(['TREAT', 'ETREAT', 'CAREMGT']);

export const recordLocationsOperation: OperationHandler = {
  url: `${MEDID_CANONICAL}/OperationDefinition/Patient-record-locations`,
  async handle(ctx: FhirContext, call) {
    const purpose = currentRequestContext()?.purposeOfUse ?? 'TREAT';
    if (!TREATMENT.has(purpose)) throw errors.forbidden(`Record location is answered for treatment only (purpose of use ${purpose})`);
    const org = call.req.principal?.org;
    if (org && org.kind !== 'medical-institution' && org.kind !== 'authority') throw errors.forbidden('Record location is answered to medical institutions (treatment) only');
    const patientId = call.id as string;
    await ctx.repo.read('Patient', patientId); // 404 / 410 as for a read
    const db = ctx.repo.db;
    const day = ctx.clock.now().toISOString().slice(0, 10);
    const consents = (await referringResources(db, 'Consent', 'patient', 'Patient', [patientId])).map((r) => JSON.parse(r.content) as Consent);
    const policy = recordLocationPolicy(consents, day);
    const uses = policy.hideAll ? [] : await serviceUseOf(db, patientId);
    const orgs = (await resourcesByIdentifier(db, 'Organization', ID_SYSTEMS.medicalInstitutionCode, uses.map((u) => u.orgCode))).map((r) => JSON.parse(r.content) as Organization);
    const codeOf = (o: Organization): string | undefined => o.identifier?.find((i) => i.system === ID_SYSTEMS.medicalInstitutionCode)?.value;
    const visible = orgs.filter((o) => !policy.hiddenOrgIds.has(o.id as string) && !policy.hiddenOrgCodes.has(codeOf(o) ?? ''));
    const visibleCodes = new Set(visible.map(codeOf));
    const shownUses = uses.filter((u) => !policy.hiddenOrgCodes.has(u.orgCode) && (visibleCodes.has(u.orgCode) || !orgs.some((o) => codeOf(o) === u.orgCode)));
    const endpoints = (await referringResources(db, 'Endpoint', 'organization', 'Organization', visible.map((o) => o.id as string))).map((r) => JSON.parse(r.content) as Endpoint)
      .filter((e) => e.status === 'active');
    const episodes: EpisodeOfCare[] = shownUses.map((u) => ({
      resourceType: 'EpisodeOfCare', status: 'finished', patient: { reference: `Patient/${patientId}` },
      managingOrganization: { identifier: { system: ID_SYSTEMS.medicalInstitutionCode, value: u.orgCode } },
      period: { start: u.firstDay, end: u.lastDay },
      extension: [{ url: `${MEDID_CANONICAL}/StructureDefinition/service-use-visits`, valueInteger: u.visits }],
    }));
    const entries: BundleEntry[] = [
      ...episodes.map((e) => ({ resource: e })),
      ...visible.map((o) => ({ fullUrl: `${ctx.baseUrl}/Organization/${o.id ?? ''}`, resource: o })),
      ...endpoints.map((e) => ({ fullUrl: `${ctx.baseUrl}/Endpoint/${e.id ?? ''}`, resource: e })),
    ];
    const body: Bundle = { resourceType: 'Bundle', type: 'collection', timestamp: ctx.clock.now().toISOString(), entry: entries };
    return { status: 200, body, disclosed: [{ resourceType: 'Patient', id: patientId, patients: [patientId] }], query: `organizations=${visible.length}${policy.hideAll ? '&consent=deny-all' : ''}` };
  },
};
