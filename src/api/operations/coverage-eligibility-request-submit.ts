/**
 * CoverageEligibilityRequest/$submit: online eligibility confirmation at the point of care
 * (R5, R8, R9). The request presents an insurance card, a public-payer card (each with the
 * birth date) or a My Number card's certificate (eligibility-request-card.ts reads which). The
 * answer is a CoverageEligibilityResponse with the OQS validity code, and for each coverage it
 * names the period, the class of card (証区分) and — for a medical institution or the authority
 * only — the Patient and Coverage references. The confirmation is the eligibility service's
 * (eligibility/confirm.ts): a valid one by a medical institution records that it served the
 * person that day (an audited write that commits in the confirmation's audit statement), and a
 * disagreement with the registry is noted in the answer. This file shapes the answer.
 */
import type {
  Coverage,
  CoverageEligibilityRequest,
  CoverageEligibilityResponse,
  CoverageEligibilityResponseInsurance,
  Extension,
  Reference,
} from '@medplum/fhirtypes';
import { errors } from '../../core/outcome.ts';
import type { Organization } from '../../core/principal.ts';
import { EXTENSIONS, ID_SYSTEMS, operationUrl, SYSTEMS } from '../../core/systems.ts';
import { cardClassCoding } from '../../eligibility/card-class.ts';
import type { CardClass } from '../../eligibility/card-class.ts';
import type { CardConfirmation, Confirmation, EligibilityDesk } from '../../eligibility/confirm.ts';
import type { CertificateRefusal } from '../../eligibility/my-number-card.ts';
import { serviceUsesToRecord } from '../../eligibility/service-use.ts';
import { lossReasonOf, VALIDITY_DISPLAY } from '../../eligibility/validity.ts';
import type { Validity } from '../../eligibility/validity.ts';
import type { IdentifierRules } from '../../identifiers/kind.ts';
import type { FhirResponse } from '../request.ts';
import { presentedCard } from './eligibility-request-card.ts';
import type { PresentedCard } from './eligibility-request-card.ts';
import { defineOperation } from './operation.ts';
import type { OperationCall, OperationHandler } from './operation.ts';

function validityExtension(v: Validity): Extension {
  return {
    url: EXTENSIONS.eligibilityValidity,
    valueCoding: { system: SYSTEMS.qualificationValidity, code: v, display: VALIDITY_DISPLAY[v] },
  };
}

const cardClassExtension = (c: CardClass): Extension => ({ url: EXTENSIONS.cardClass, valueCoding: cardClassCoding(c) });

const lossReasonExtension = (code: string): Extension => ({
  url: EXTENSIONS.coverageLossReason,
  valueCoding: { system: SYSTEMS.coverageLossReason, code },
});

/** What a refused My Number card's answer says (no value, nothing about the person). */
const REFUSAL_TEXT: Record<CertificateRefusal, string> = {
  unknown: "the card's certificate is not registered for health insurance use (利用登録)",
  revoked: "the card's certificate has been revoked",
  expired: "the card's certificate has expired",
};

/** The parts every answer shares; `failed` answers carry the validity as an error too. */
function baseAnswer(
  call: OperationCall,
  now: string,
  day: string,
  validity: Validity,
  patientRef: string | undefined,
  disposition: string,
): CoverageEligibilityResponse {
  const failed = validity === '4' || validity === '5';
  return {
    resourceType: 'CoverageEligibilityResponse',
    status: 'active',
    purpose: ['validation'],
    created: now,
    patient: patientRef ? { reference: patientRef } : { display: 'the person on the card (not disclosed)' },
    servicedDate: day,
    request: { identifier: { system: ID_SYSTEMS.requestId, value: call.req.requestId } },
    outcome: failed ? 'error' : 'complete',
    disposition,
    insurer: { display: 'not determined' },
    ...(failed
      ? {
          error: [{ code: { coding: [{ system: SYSTEMS.qualificationValidity, code: validity, display: VALIDITY_DISPLAY[validity] }] } }],
        }
      : {}),
  };
}

const withNotes = (text: string, notes: readonly string[]): string => text + (notes.length ? `; ${notes.join('; ')}` : '');

function answerCard(call: OperationCall, now: string, day: string, c: Confirmation, query: string): FhirResponse {
  const { decision, disclose, notes, serviceUses } = c;
  const cov = decision.coverage?.coverage;
  const reason = cov ? lossReasonOf(cov) : undefined;
  const res: CoverageEligibilityResponse = {
    ...baseAnswer(
      call,
      now,
      day,
      decision.validity,
      disclose && decision.patientId ? `Patient/${decision.patientId}` : undefined,
      withNotes(VALIDITY_DISPLAY[decision.validity], notes),
    ),
    insurer: { identifier: { system: c.payer.system, value: c.payer.value } },
    extension: [validityExtension(decision.validity), ...(reason ? [lossReasonExtension(reason)] : [])],
    ...(cov
      ? {
          insurance: [
            {
              ...(c.cardClass ? { extension: [cardClassExtension(c.cardClass)] } : {}),
              coverage:
                disclose && decision.coverage ? { reference: `Coverage/${decision.coverage.id}` } : { display: "the card's coverage" },
              inforce: decision.validity === '1',
              ...(cov.period ? { benefitPeriod: cov.period } : {}),
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
    query,
    auditedWrites: serviceUses.length > 0 ? [serviceUsesToRecord(serviceUses)] : [],
  };
}

function answerMyNumberCard(call: OperationCall, now: string, day: string, c: CardConfirmation): FhirResponse {
  const { decision, notes, serviceUses } = c;
  // Callers of this path are medical institutions and the authority (checked before): they learn who it is when there are coverages to answer.
  const known = decision.validity === '1' || decision.validity === '2' ? decision.holder : undefined;
  const first = decision.coverages[0];
  const reason = decision.validity === '2' && first ? lossReasonOf(first.candidate.coverage) : undefined;
  const text = decision.refusal
    ? `${VALIDITY_DISPLAY[decision.validity]}: ${REFUSAL_TEXT[decision.refusal]}`
    : VALIDITY_DISPLAY[decision.validity];
  const insurance: CoverageEligibilityResponseInsurance[] = decision.coverages.map((x) => {
    const coverage: Reference<Coverage> = { reference: `Coverage/${x.candidate.id}` };
    // The numbers the card did not show: what the desk bills under.
    if (x.numbers) coverage.identifier = { system: x.numbers.memberSystem, value: x.numbers.memberId };
    return {
      extension: [validityExtension(x.validity), ...(x.cardClass ? [cardClassExtension(x.cardClass)] : [])],
      coverage,
      inforce: x.validity === '1',
      ...(x.candidate.coverage.period ? { benefitPeriod: x.candidate.coverage.period } : {}),
    };
  });
  const res: CoverageEligibilityResponse = {
    ...baseAnswer(call, now, day, decision.validity, known ? `Patient/${known}` : undefined, withNotes(text, notes)),
    ...(first?.numbers ? { insurer: { identifier: { system: first.numbers.payerSystem, value: first.numbers.payer } } } : {}),
    extension: [validityExtension(decision.validity), ...(reason ? [lossReasonExtension(reason)] : [])],
    ...(insurance.length > 0 ? { insurance } : {}),
  };
  const holder = decision.holder;
  return {
    status: 200,
    body: res,
    // The card's holder is audited whatever the answer: a refused card presented in their name is theirs to see.
    disclosed: holder ? [{ resourceType: 'Patient', id: holder, patients: [holder] }] : [],
    query: `validity=${decision.validity}&card=my-number${decision.refusal ? `&refusal=${decision.refusal}` : ''}`,
    auditedWrites: serviceUses.length > 0 ? [serviceUsesToRecord(serviceUses)] : [],
  };
}

/**
 * The My Number card path answers those who read cards at a desk: medical institutions (and the
 * authority). Its answer is every coverage of the person, under any insurer or public payer —
 * more than an insurer may learn of someone whose card it does not hold.
 */
function assertMayReadMyNumberCard(org: Organization | undefined): void {
  if (org !== undefined && org.kind !== 'medical-institution' && org.kind !== 'authority')
    throw errors.forbidden(
      `Access policy: the My Number card path of $submit answers medical institutions and the authority, not ${org.kind} clients (rule eligibility.my-number-card)`,
    );
}

export function coverageEligibilityRequestSubmit(desk: EligibilityDesk, rules: IdentifierRules): OperationHandler {
  return defineOperation<PresentedCard>({
    url: operationUrl('CoverageEligibilityRequest-submit'),
    input(call, ctx) {
      const req = (call.input.resource('resource') ?? call.req.body) as CoverageEligibilityRequest | undefined;
      if (req?.resourceType !== 'CoverageEligibilityRequest')
        throw errors.badRequest('$submit takes a CoverageEligibilityRequest', 'invalid-parameter', 'CoverageEligibilityRequest');
      return presentedCard(req, ctx.clock.now().toISOString().slice(0, 10), rules);
    },
    async handle(ctx, presented, call) {
      const now = ctx.clock.now().toISOString();
      const org = call.req.principal?.org;
      if (presented.kind === 'my-number-card') {
        assertMayReadMyNumberCard(org);
        return answerMyNumberCard(call, now, presented.card.day, await desk.confirmByCard(ctx.uow, presented.card, org, now));
      }
      const c = await desk.confirm(ctx.uow, presented.card, org, now);
      const query = `validity=${c.decision.validity}${presented.card.numbers.kind === 'public-payer' ? '&card=public-payer' : ''}`;
      return answerCard(call, now, presented.card.day, c, query);
    },
  });
}
