/**
 * What a CoverageEligibilityRequest presents at the desk, read and checked for $submit. Three
 * shapes, told apart by what they carry (OQS's ReferenceClassification: 1 マイナンバーカード,
 * 2 被保険者証, with the public-payer card beside the second):
 *
 * - an insurance card: `insurer.identifier` = 保険者番号; `insurance[0].coverage` → a contained
 *   Coverage with JP Core's 記号/番号/枝番 extensions (枝番 optional) or the 被保険者個人識別子;
 * - a public-payer card (公費 — 生活保護's 医療券 too), the way JP Core and the ePrescription IG
 *   carry one: `insurer.identifier` (or the contained Coverage's `payor.identifier`) in the
 *   公費負担者番号 system, the 受給者番号 as the Coverage's `subscriberId` — or the Coverage's
 *   生活保護受給者識別子 (公費負担者番号::受給者番号:);
 * - a My Number card: the contained Patient's identifier in medid's jpki-user-certificate system,
 *   the serial of the card's 利用者証明用電子証明書 (nothing else is needed: the card names the person).
 *
 * The first two need the birth date (the contained Patient's) as OQS does. Every refusal is a
 * 400 naming the element and the rule, never the value.
 */
import type { Coverage, CoverageEligibilityRequest, Patient, Resource } from '@medplum/fhirtypes';
import { errors, issue, outcome, OperationOutcomeError } from '../../core/outcome.ts';
import { EXTENSIONS, ID_SYSTEMS, LEGACY_SYSTEMS, SYSTEMS } from '../../core/systems.ts';
import type { Card, MyNumberCard } from '../../eligibility/confirm.ts';
import { parseInsuredMemberParts } from '../../identifiers/insured-member-id.ts';
import { parseInsurerNumber } from '../../identifiers/insurer-number.ts';
import { parseJpkiCertificateSerial } from '../../identifiers/jpki-user-certificate.ts';
import type { IdentifierRules } from '../../identifiers/kind.ts';
import { parsePublicPayerMemberId } from '../../identifiers/public-payer-member-id.ts';
import { parsePublicPayerNumber } from '../../identifiers/public-payer-number.ts';
import { isCalendarDay } from '../../jp/date.ts';

export type PresentedCard = { kind: 'card'; card: Card } | { kind: 'my-number-card'; card: MyNumberCard };

const REQ = 'CoverageEligibilityRequest';
const COVERAGE = `${REQ}.insurance[0].coverage`;

function contained<T extends Resource>(req: CoverageEligibilityRequest, ref: string | undefined, type: T['resourceType']): T | undefined {
  if (!ref?.startsWith('#')) return undefined;
  return req.contained?.find((r) => r.id === ref.slice(1) && r.resourceType === type) as T | undefined;
}

const ext = (c: Coverage | undefined, name: string): string | undefined =>
  c?.extension?.find((e) => e.url === `${EXTENSIONS.jpCoverageInsuredPerson}${name}`)?.valueString;

/** A 400 naming the element, with medid's rule when there is one. */
function bad(text: string, expression: string, rule?: string, medid: 'invalid-identifier' | 'invalid-parameter' = 'invalid-parameter') {
  const i = issue({ code: rule ? 'value' : 'required', medid, text, expression });
  if (rule) i.details?.coding?.push({ system: SYSTEMS.medidErrorRule, code: rule });
  return new OperationOutcomeError(outcome(undefined, [i]));
}

/** The system an identifier is in, legacy OIDs read as the URL medid emits. */
const systemOf = (s: string | undefined): string | undefined => (s === undefined ? undefined : (LEGACY_SYSTEMS[s] ?? s));

/** The day of service: a real day, not only its shape (it is compared with periods and stored as the day of a visit). */
function dayOf(req: CoverageEligibilityRequest, today: string): string {
  const day = req.servicedDate ?? today;
  if (!isCalendarDay(day))
    throw errors.badRequest(
      `servicedDate "${day}" must be a calendar date (YYYY-MM-DD): eligibility is by the day`,
      'invalid-parameter',
      `${REQ}.servicedDate`,
    );
  return day;
}

function birthDateOf(patient: Patient | undefined): string {
  if (!patient?.birthDate)
    throw errors.badRequest(
      'The birth date is required (birthDate of the contained Patient the request names)',
      'invalid-parameter',
      `${REQ}.patient`,
      'required',
    );
  if (!isCalendarDay(patient.birthDate))
    throw errors.badRequest(
      `birthDate must be a full calendar date (YYYY-MM-DD), as printed on the card`,
      'invalid-parameter',
      `${REQ}.contained.birthDate`,
    );
  return patient.birthDate;
}

/** Whether the contained Coverage carries a card's numbers (of either kind). */
function carriesNumbers(cov: Coverage | undefined): boolean {
  return (
    cov !== undefined &&
    (ext(cov, 'Number') !== undefined ||
      cov.subscriberId !== undefined ||
      (cov.identifier ?? []).some((i) => i.system === ID_SYSTEMS.insuredMemberId || i.system === ID_SYSTEMS.publicPayerMemberId))
  );
}

function myNumberCardOf(req: CoverageEligibilityRequest, patient: Patient, cov: Coverage | undefined, today: string): MyNumberCard {
  const certs = (patient.identifier ?? []).filter((i) => i.system === ID_SYSTEMS.jpkiUserCertificate);
  if (certs.length > 1) throw bad('A My Number card has one certificate; several were given', `${REQ}.contained.identifier`);
  if (carriesNumbers(cov))
    throw bad(
      "Either a card's numbers or a My Number card's certificate, not both: the certificate names the person",
      COVERAGE,
      'eligibility.one-card',
    );
  const serial = parseJpkiCertificateSerial(certs[0]?.value ?? '');
  if (!serial.ok) throw bad(serial.message, `${REQ}.contained.identifier.value`, serial.rule, 'invalid-identifier');
  // What is left of the Patient is who the provider thinks the person is (medical ID, kana name).
  const rest = (patient.identifier ?? []).filter((i) => i.system !== ID_SYSTEMS.jpkiUserCertificate);
  const claimed: Patient = { ...patient, identifier: rest.length > 0 ? rest : undefined };
  return { serial: serial.value, day: dayOf(req, today), patient: claimed };
}

function publicPayerCardOf(
  req: CoverageEligibilityRequest,
  cov: Coverage | undefined,
  memberId: string | undefined,
  payerAt: { value: string | undefined; expression: string },
  patient: Patient | undefined,
  today: string,
  rules: IdentifierRules,
): Card {
  let payer = payerAt.value;
  let recipient = cov?.subscriberId;
  let where = { payer: payerAt.expression, recipient: `${COVERAGE}.subscriberId` };
  if (memberId !== undefined) {
    const p = parsePublicPayerMemberId(memberId, rules);
    if (!p.ok) throw bad(p.message, `${COVERAGE}.identifier.value`, p.rule, 'invalid-identifier');
    [payer, , recipient] = p.value.split(':');
    where = { payer: `${COVERAGE}.identifier.value`, recipient: `${COVERAGE}.identifier.value` };
  }
  if (!payer)
    throw bad(
      "The card's public payer number (公費負担者番号) is required in CoverageEligibilityRequest.insurer.identifier",
      payerAt.expression,
    );
  const pay = parsePublicPayerNumber(payer);
  if (!pay.ok) throw bad(pay.message, where.payer, pay.rule, 'invalid-identifier');
  if (!recipient)
    throw bad("The card's recipient number (受給者番号) is required (subscriberId of the contained Coverage)", where.recipient);
  // The recipient number is read as the 生活保護受給者識別子 reads it (7 digits), the payer's check digit verified.
  const member = parsePublicPayerMemberId(`${pay.value}::${recipient}:`, rules);
  if (!member.ok) throw bad(member.message, where.recipient, member.rule, 'invalid-identifier');
  const [, , rcp] = member.value.split(':');
  return {
    numbers: { kind: 'public-payer', payer: pay.value, recipient: rcp ?? '' },
    birthDate: birthDateOf(patient),
    day: dayOf(req, today),
    patient,
  };
}

function insuredCardOf(req: CoverageEligibilityRequest, cov: Coverage | undefined, patient: Patient | undefined, today: string): Card {
  const memberId = cov?.identifier?.find((i) => i.system === ID_SYSTEMS.insuredMemberId)?.value;
  let insurer = req.insurer?.identifier?.value;
  let symbol = ext(cov, 'Symbol');
  let number = ext(cov, 'Number');
  let branch = ext(cov, 'SubNumber');
  if (memberId !== undefined) {
    const p = parseInsuredMemberParts(memberId);
    if (!p.ok) throw errors.badRequest(p.message, 'invalid-identifier', `${COVERAGE}.identifier.value`);
    ({ insurerNumber: insurer, symbol, number } = p.parts);
    branch = p.parts.subnumber === '' ? undefined : p.parts.subnumber;
  }
  if (!insurer)
    throw errors.badRequest(
      "The card's insurer number (保険者番号) is required in CoverageEligibilityRequest.insurer.identifier",
      'invalid-parameter',
      `${REQ}.insurer.identifier.value`,
      'required',
    );
  const ins = parseInsurerNumber(insurer);
  if (!ins.ok)
    throw errors.badRequest(
      ins.message,
      'invalid-identifier',
      memberId !== undefined ? `${COVERAGE}.identifier.value` : `${REQ}.insurer.identifier.value`,
    );
  if (!number)
    throw errors.badRequest(
      "The card's 番号 is required (JP_Coverage_InsuredPersonNumber on the contained Coverage)",
      'invalid-parameter',
      COVERAGE,
      'required',
    );
  const birthDate = birthDateOf(patient);
  const parts = parseInsuredMemberParts(`${ins.value}:${symbol ?? ''}:${number}:${branch ?? ''}`);
  if (!parts.ok) throw errors.badRequest(parts.message, 'invalid-identifier', COVERAGE);
  return {
    numbers: {
      kind: 'insured',
      insurer: parts.parts.insurerNumber,
      symbol: parts.parts.symbol,
      number: parts.parts.number,
      branch: parts.parts.subnumber || undefined,
    },
    birthDate,
    day: dayOf(req, today),
    patient,
  };
}

/** The card a request presents, checked: a bad number is a 400 naming the element and the rule. */
export function presentedCard(req: CoverageEligibilityRequest, today: string, rules: IdentifierRules): PresentedCard {
  const cov = contained<Coverage>(req, req.insurance?.[0]?.coverage?.reference, 'Coverage');
  const patient = contained<Patient>(req, req.patient?.reference, 'Patient');
  if (patient?.identifier?.some((i) => i.system === ID_SYSTEMS.jpkiUserCertificate))
    return { kind: 'my-number-card', card: myNumberCardOf(req, patient, cov, today) };
  const publicMemberId = cov?.identifier?.find((i) => i.system === ID_SYSTEMS.publicPayerMemberId)?.value;
  const insurerSystem = systemOf(req.insurer?.identifier?.system);
  const payorId = cov?.payor?.map((p) => p.identifier).find((i) => systemOf(i?.system) === ID_SYSTEMS.publicPayerNumber);
  if (publicMemberId !== undefined || insurerSystem === ID_SYSTEMS.publicPayerNumber || payorId !== undefined) {
    const payerAt =
      insurerSystem === ID_SYSTEMS.publicPayerNumber
        ? { value: req.insurer?.identifier?.value, expression: `${REQ}.insurer.identifier.value` }
        : { value: payorId?.value, expression: `${COVERAGE}.payor.identifier.value` };
    return { kind: 'card', card: publicPayerCardOf(req, cov, publicMemberId, payerAt, patient, today, rules) };
  }
  return { kind: 'card', card: insuredCardOf(req, cov, patient, today) };
}
