/**
 * CoverageEligibilityRequest/$submit: online eligibility confirmation at the point of care
 * (R5, R8, R9). The request carries the card — insurer (identifier 保険者番号), a contained
 * Coverage with JP Core's 記号/番号/枝番 extensions (or the 被保険者個人識別子), a contained Patient
 * with the birth date — and `servicedDate`. The answer is a CoverageEligibilityResponse with the
 * OQS validity code, the coverage period and, for a medical institution only, the Patient
 * reference. A valid confirmation by a medical institution records that it served the person
 * that day (an upsert that commits in the same statement as the confirmation's audit record).
 * When the request's medical ID or kana name disagrees with the registry the answer says so, a
 * Task asks the insurer to check, and the person gets a Communication.
 */
import type { Coverage, CoverageEligibilityRequest, CoverageEligibilityResponse, Extension, Patient, Resource } from '@medplum/fhirtypes';
import { decide, lossReasonOf, VALIDITY_DISPLAY } from '../../eligibility/decide.ts';
import type { EligibilityDecision } from '../../eligibility/decide.ts';
import type { MismatchDesk } from '../../eligibility/mismatch.ts';
import { parseInsuredMemberParts } from '../../identifiers/insured-member-id.ts';
import { parseInsurerNumber } from '../../identifiers/insurer-number.ts';
import { ID_SYSTEMS } from '../../identifiers/systems.ts';
import { normalizeDate } from '../../registry/record.ts';
import { coveragesByCard } from '../../store/eligibility.ts';
import { MEDID_CANONICAL } from '../canonical.ts';
import type { FhirContext } from '../context.ts';
import { errors } from '../outcome.ts';
import type { OperationHandler } from './registry.ts';

export const VALIDITY_SYSTEM = `${MEDID_CANONICAL}/CodeSystem/qualification-validity`;
export const VALIDITY_EXT = `${MEDID_CANONICAL}/StructureDefinition/eligibility-validity`;
const JPC = 'http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPerson';
const LOSS_REASON_EXT = `${MEDID_CANONICAL}/StructureDefinition/coverage-loss-reason`;

interface Card { insurer: string; symbol: string; number: string; branch: string | undefined; birthDate: string; day: string; patient: Patient | undefined }

function contained<T extends Resource>(req: CoverageEligibilityRequest, ref: string | undefined, type: T['resourceType']): T | undefined {
  if (!ref?.startsWith('#')) return undefined;
  return req.contained?.find((r) => r.id === ref.slice(1) && r.resourceType === type) as T | undefined;
}

/** A real calendar day written YYYY-MM-DD (2026-02-30 is not one): the registry's date check, in its canonical form only. */
const isCalendarDay = (s: string): boolean => normalizeDate(s) === s;

const ext = (c: Coverage | undefined, name: string): string | undefined => c?.extension?.find((e) => e.url === `${JPC}${name}`)?.valueString;

/** The card as the request carries it, checked: a bad check digit is a 400 naming the element. */
export function cardOf(req: CoverageEligibilityRequest, today: string): Card {
  const cov = contained<Coverage>(req, req.insurance?.[0]?.coverage?.reference, 'Coverage');
  const memberId = cov?.identifier?.find((i) => i.system === ID_SYSTEMS.insuredMemberId)?.value;
  let insurer = req.insurer?.identifier?.value;
  let symbol = ext(cov, 'Symbol');
  let number = ext(cov, 'Number');
  let branch = ext(cov, 'SubNumber');
  if (memberId !== undefined) {
    const p = parseInsuredMemberParts(memberId);
    if (!p.ok) throw errors.badRequest(p.message, 'invalid-identifier', 'CoverageEligibilityRequest.insurance[0].coverage.identifier.value');
    ({ insurerNumber: insurer, symbol, number } = p.parts);
    branch = p.parts.subnumber === '' ? undefined : p.parts.subnumber;
  }
  if (!insurer) throw errors.badRequest('The card\'s insurer number (保険者番号) is required in CoverageEligibilityRequest.insurer.identifier', 'invalid-parameter', 'CoverageEligibilityRequest.insurer.identifier.value', 'required');
  const ins = parseInsurerNumber(insurer);
  if (!ins.ok) throw errors.badRequest(ins.message, 'invalid-identifier', memberId !== undefined ? 'CoverageEligibilityRequest.insurance[0].coverage.identifier.value' : 'CoverageEligibilityRequest.insurer.identifier.value');
  if (!number) throw errors.badRequest('The card\'s 番号 is required (JP_Coverage_InsuredPersonNumber on the contained Coverage)', 'invalid-parameter', 'CoverageEligibilityRequest.insurance[0].coverage', 'required');
  const patient = contained<Patient>(req, req.patient?.reference, 'Patient');
  if (!patient?.birthDate) throw errors.badRequest('The birth date is required (birthDate of the contained Patient the request names)', 'invalid-parameter', 'CoverageEligibilityRequest.patient', 'required');
  if (!isCalendarDay(patient.birthDate)) throw errors.badRequest(`birthDate "${patient.birthDate}" must be a full calendar date (YYYY-MM-DD), as printed on the card`, 'invalid-parameter', 'CoverageEligibilityRequest.contained.birthDate');
  const parts = parseInsuredMemberParts(`${ins.value}:${symbol ?? ''}:${number}:${branch ?? ''}`);
  if (!parts.ok) throw errors.badRequest(parts.message, 'invalid-identifier', 'CoverageEligibilityRequest.insurance[0].coverage');
  const day = req.servicedDate ?? today;
  // A real day, not only its shape: it is compared with coverage periods and stored as the
  // day of service (a 2026-02-30 would fail the audit statement it travels in).
  if (!isCalendarDay(day)) throw errors.badRequest(`servicedDate "${day}" must be a calendar date (YYYY-MM-DD): eligibility is by the day`, 'invalid-parameter', 'CoverageEligibilityRequest.servicedDate');
  return { insurer: parts.parts.insurerNumber, symbol: parts.parts.symbol, number: parts.parts.number, branch: parts.parts.subnumber || undefined, birthDate: patient.birthDate, day, patient };
}

function validityExtension(d: EligibilityDecision): Extension {
  return { url: VALIDITY_EXT, valueCoding: { system: VALIDITY_SYSTEM, code: d.validity, display: VALIDITY_DISPLAY[d.validity] } };
}

export function eligibilityOperation(o: { mismatches: MismatchDesk }): OperationHandler {
  return {
    url: `${MEDID_CANONICAL}/OperationDefinition/CoverageEligibilityRequest-submit`,
    async handle(ctx: FhirContext, call) {
      const req = (call.input.resource('resource') ?? call.req.body) as CoverageEligibilityRequest | undefined;
      if (req?.resourceType !== 'CoverageEligibilityRequest') throw errors.badRequest('$submit takes a CoverageEligibilityRequest', 'invalid-parameter', 'CoverageEligibilityRequest');
      const card = cardOf(req, ctx.clock.now().toISOString().slice(0, 10));
      const prefix = `${card.insurer}:${card.symbol}:${card.number}:`;
      const found = await coveragesByCard(ctx.repo.db, ID_SYSTEMS.insuredMemberId, card.branch === undefined ? { prefix } : { exact: `${prefix}${card.branch}` });
      const decision = decide(found.coverages.map((c) => ({ id: c.id, patientId: c.patientId, coverage: JSON.parse(c.content) as Coverage, card: c.kind === 'card' })), found.birthDates, card.birthDate, card.day);
      const org = call.req.principal?.org;
      const provider = org?.kind === 'medical-institution' ? org.code : undefined;
      const disclose = org === undefined || org.kind === 'authority' || provider !== undefined;
      const notes: string[] = [];
      // Only a request that says who it thinks the person is can disagree (no extra read otherwise).
      const claims = card.patient !== undefined && ((card.patient.identifier?.length ?? 0) > 0 || (card.patient.name?.length ?? 0) > 0);
      if (decision.patientId !== undefined && card.patient && claims) {
        notes.push(...await o.mismatches.check(ctx, decision.patientId, card.patient, card.insurer, provider));
      }
      const cov = decision.coverage?.coverage;
      const reason = cov ? lossReasonOf(cov) : undefined;
      const res: CoverageEligibilityResponse = {
        resourceType: 'CoverageEligibilityResponse', status: 'active', purpose: ['validation'], created: ctx.clock.now().toISOString(),
        ...(disclose && decision.patientId ? { patient: { reference: `Patient/${decision.patientId}` } } : { patient: { display: 'the person on the card (not disclosed)' } }),
        servicedDate: card.day, request: { identifier: { system: `${MEDID_CANONICAL}/sid/request-id`, value: call.req.requestId } },
        outcome: decision.validity === '4' || decision.validity === '5' ? 'error' : 'complete',
        disposition: VALIDITY_DISPLAY[decision.validity] + (notes.length ? `; ${notes.join('; ')}` : ''),
        insurer: { identifier: { system: ID_SYSTEMS.insurerNumber, value: card.insurer } },
        extension: [validityExtension(decision), ...(reason ? [{ url: LOSS_REASON_EXT, valueCoding: { system: `${MEDID_CANONICAL}/CodeSystem/coverage-loss-reason`, code: reason } }] : [])],
        ...(cov ? {
          insurance: [{
            coverage: disclose && decision.coverage ? { reference: `Coverage/${decision.coverage.id}` } : { display: 'the card\'s coverage' },
            inforce: decision.validity === '1',
            ...(cov.period ? { benefitPeriod: cov.period } : {}),
          }],
        } : {}),
        ...(decision.validity === '4' || decision.validity === '5' ? { error: [{ code: { coding: [{ system: VALIDITY_SYSTEM, code: decision.validity, display: VALIDITY_DISPLAY[decision.validity] }] } }] } : {}),
      };
      const patientId = decision.patientId;
      return {
        status: 200, body: res,
        // The answer is about the person even when their reference is withheld: audited either way.
        disclosed: patientId ? [{ resourceType: 'Patient', id: patientId, patients: [patientId] }] : [],
        query: `validity=${decision.validity}`,
        // A valid confirmation by a medical institution: this organization served this person
        // today. Written with the audit record, in its statement (see AuditLog.record).
        serviceUses: decision.validity === '1' && patientId !== undefined && provider !== undefined ? [{ patientId, orgCode: provider, day: card.day }] : [],
      };
    },
  };
}
