/**
 * CoverageEligibilityRequest/$submit: online eligibility confirmation at the point of care
 * (R5, R8, R9). The request carries the card — insurer (identifier 保険者番号), a contained
 * Coverage with JP Core's 記号/番号/枝番 extensions (or the 被保険者個人識別子), a contained Patient
 * with the birth date — and `servicedDate`. The answer is a CoverageEligibilityResponse with the
 * OQS validity code, the coverage period and, for a medical institution only, the Patient
 * reference. The confirmation is the eligibility service's (eligibility/confirm.ts): a valid one
 * by a medical institution records that it served the person that day (an audited write that
 * commits in the confirmation's audit statement), and a disagreement with the registry is noted
 * in the answer. This file reads the card from the request and shapes the answer.
 */
import type { Coverage, CoverageEligibilityRequest, CoverageEligibilityResponse, Extension, Patient, Resource } from '@medplum/fhirtypes';
import { errors } from '../../core/outcome.ts';
import { EXTENSIONS, ID_SYSTEMS, operationUrl, SYSTEMS } from '../../core/systems.ts';
import type { Card, EligibilityDesk } from '../../eligibility/confirm.ts';
import { serviceUsesToRecord } from '../../eligibility/service-use.ts';
import { lossReasonOf, VALIDITY_DISPLAY } from '../../eligibility/validity.ts';
import type { EligibilityDecision } from '../../eligibility/validity.ts';
import { parseInsuredMemberParts } from '../../identifiers/insured-member-id.ts';
import { parseInsurerNumber } from '../../identifiers/insurer-number.ts';
import { isCalendarDay } from '../../jp/date.ts';
import { defineOperation } from './operation.ts';
import type { OperationHandler } from './operation.ts';

function contained<T extends Resource>(req: CoverageEligibilityRequest, ref: string | undefined, type: T['resourceType']): T | undefined {
  if (!ref?.startsWith('#')) return undefined;
  return req.contained?.find((r) => r.id === ref.slice(1) && r.resourceType === type) as T | undefined;
}

const ext = (c: Coverage | undefined, name: string): string | undefined =>
  c?.extension?.find((e) => e.url === `${EXTENSIONS.jpCoverageInsuredPerson}${name}`)?.valueString;

/** The card as the request carries it, checked: a bad check digit is a 400 naming the element. */
function cardOf(req: CoverageEligibilityRequest, today: string): Card {
  const cov = contained<Coverage>(req, req.insurance?.[0]?.coverage?.reference, 'Coverage');
  const memberId = cov?.identifier?.find((i) => i.system === ID_SYSTEMS.insuredMemberId)?.value;
  let insurer = req.insurer?.identifier?.value;
  let symbol = ext(cov, 'Symbol');
  let number = ext(cov, 'Number');
  let branch = ext(cov, 'SubNumber');
  if (memberId !== undefined) {
    const p = parseInsuredMemberParts(memberId);
    if (!p.ok)
      throw errors.badRequest(p.message, 'invalid-identifier', 'CoverageEligibilityRequest.insurance[0].coverage.identifier.value');
    ({ insurerNumber: insurer, symbol, number } = p.parts);
    branch = p.parts.subnumber === '' ? undefined : p.parts.subnumber;
  }
  if (!insurer)
    throw errors.badRequest(
      "The card's insurer number (保険者番号) is required in CoverageEligibilityRequest.insurer.identifier",
      'invalid-parameter',
      'CoverageEligibilityRequest.insurer.identifier.value',
      'required',
    );
  const ins = parseInsurerNumber(insurer);
  if (!ins.ok)
    throw errors.badRequest(
      ins.message,
      'invalid-identifier',
      memberId !== undefined
        ? 'CoverageEligibilityRequest.insurance[0].coverage.identifier.value'
        : 'CoverageEligibilityRequest.insurer.identifier.value',
    );
  if (!number)
    throw errors.badRequest(
      "The card's 番号 is required (JP_Coverage_InsuredPersonNumber on the contained Coverage)",
      'invalid-parameter',
      'CoverageEligibilityRequest.insurance[0].coverage',
      'required',
    );
  const patient = contained<Patient>(req, req.patient?.reference, 'Patient');
  if (!patient?.birthDate)
    throw errors.badRequest(
      'The birth date is required (birthDate of the contained Patient the request names)',
      'invalid-parameter',
      'CoverageEligibilityRequest.patient',
      'required',
    );
  if (!isCalendarDay(patient.birthDate))
    throw errors.badRequest(
      `birthDate must be a full calendar date (YYYY-MM-DD), as printed on the card`,
      'invalid-parameter',
      'CoverageEligibilityRequest.contained.birthDate',
    );
  const parts = parseInsuredMemberParts(`${ins.value}:${symbol ?? ''}:${number}:${branch ?? ''}`);
  if (!parts.ok) throw errors.badRequest(parts.message, 'invalid-identifier', 'CoverageEligibilityRequest.insurance[0].coverage');
  const day = req.servicedDate ?? today;
  // A real day, not only its shape: it is compared with coverage periods and stored as the
  // day of service (a 2026-02-30 would fail the audit statement it travels in).
  if (!isCalendarDay(day))
    throw errors.badRequest(
      `servicedDate "${day}" must be a calendar date (YYYY-MM-DD): eligibility is by the day`,
      'invalid-parameter',
      'CoverageEligibilityRequest.servicedDate',
    );
  return {
    insurer: parts.parts.insurerNumber,
    symbol: parts.parts.symbol,
    number: parts.parts.number,
    branch: parts.parts.subnumber || undefined,
    birthDate: patient.birthDate,
    day,
    patient,
  };
}

function validityExtension(d: EligibilityDecision): Extension {
  return {
    url: EXTENSIONS.eligibilityValidity,
    valueCoding: { system: SYSTEMS.qualificationValidity, code: d.validity, display: VALIDITY_DISPLAY[d.validity] },
  };
}

export function coverageEligibilityRequestSubmit(desk: EligibilityDesk): OperationHandler {
  return defineOperation<Card>({
    url: operationUrl('CoverageEligibilityRequest-submit'),
    input(call, ctx) {
      const req = (call.input.resource('resource') ?? call.req.body) as CoverageEligibilityRequest | undefined;
      if (req?.resourceType !== 'CoverageEligibilityRequest')
        throw errors.badRequest('$submit takes a CoverageEligibilityRequest', 'invalid-parameter', 'CoverageEligibilityRequest');
      return cardOf(req, ctx.clock.now().toISOString().slice(0, 10));
    },
    async handle(ctx, card, call) {
      const now = ctx.clock.now().toISOString();
      const { decision, disclose, notes, serviceUses } = await desk.confirm(ctx.uow, card, call.req.principal?.org, now);
      const cov = decision.coverage?.coverage;
      const reason = cov ? lossReasonOf(cov) : undefined;
      const failed = decision.validity === '4' || decision.validity === '5';
      const res: CoverageEligibilityResponse = {
        resourceType: 'CoverageEligibilityResponse',
        status: 'active',
        purpose: ['validation'],
        created: now,
        ...(disclose && decision.patientId
          ? { patient: { reference: `Patient/${decision.patientId}` } }
          : { patient: { display: 'the person on the card (not disclosed)' } }),
        servicedDate: card.day,
        request: { identifier: { system: ID_SYSTEMS.requestId, value: call.req.requestId } },
        outcome: failed ? 'error' : 'complete',
        disposition: VALIDITY_DISPLAY[decision.validity] + (notes.length ? `; ${notes.join('; ')}` : ''),
        insurer: { identifier: { system: ID_SYSTEMS.insurerNumber, value: card.insurer } },
        extension: [
          validityExtension(decision),
          ...(reason ? [{ url: EXTENSIONS.coverageLossReason, valueCoding: { system: SYSTEMS.coverageLossReason, code: reason } }] : []),
        ],
        ...(cov
          ? {
              insurance: [
                {
                  coverage:
                    disclose && decision.coverage ? { reference: `Coverage/${decision.coverage.id}` } : { display: "the card's coverage" },
                  inforce: decision.validity === '1',
                  ...(cov.period ? { benefitPeriod: cov.period } : {}),
                },
              ],
            }
          : {}),
        ...(failed
          ? {
              error: [
                {
                  code: {
                    coding: [
                      { system: SYSTEMS.qualificationValidity, code: decision.validity, display: VALIDITY_DISPLAY[decision.validity] },
                    ],
                  },
                },
              ],
            }
          : {}),
      };
      const patientId = decision.patientId;
      return {
        status: 200,
        body: res,
        // The answer is about the person even when their reference is withheld: audited either way.
        disclosed: patientId ? [{ resourceType: 'Patient', id: patientId, patients: [patientId] }] : [],
        query: `validity=${decision.validity}`,
        auditedWrites: serviceUses.length > 0 ? [serviceUsesToRecord(serviceUses)] : [],
      };
    },
  });
}
