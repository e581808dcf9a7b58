/**
 * Patient/$register-card: the authority registers a My Number card's 利用者証明用電子証明書 for
 * health insurance use (the 利用登録) — the certificate's serial, its last valid day and the
 * My Number its issuer associates with it — or records that the certificate was revoked. After
 * that, `$submit` with the certificate confirms the person's coverages. The rules, and why the
 * certificate is what a card reader presents, are the eligibility service's
 * (eligibility/card-certificates.ts); this is the FHIR shape. POST only: a My Number never
 * travels in a URL.
 */
import type { Identifier, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { errors } from '../../core/outcome.ts';
import { ID_SYSTEMS, operationUrl } from '../../core/systems.ts';
import type { CardCertificates, CardRegistration } from '../../eligibility/card-certificates.ts';
import { parseJpkiCertificateSerial } from '../../identifiers/jpki-user-certificate.ts';
import { parseMyNumber } from '../../identifiers/my-number.ts';
import { isCalendarDay } from '../../jp/date.ts';
import { disclosePatients } from './patient-parameters.ts';
import { defineOperation } from './operation.ts';
import type { OperationHandler } from './operation.ts';

function serialOf(v: unknown): string {
  const id = v as Identifier | undefined;
  if (typeof id !== 'object' || id === null || id.system !== ID_SYSTEMS.jpkiUserCertificate || typeof id.value !== 'string')
    throw errors.badRequest(
      `Parameter certificate must be an Identifier in ${ID_SYSTEMS.jpkiUserCertificate} with the serial number as its value`,
      'invalid-parameter',
      'certificate',
    );
  const serial = parseJpkiCertificateSerial(id.value);
  if (!serial.ok) throw errors.badRequest(`Parameter certificate: ${serial.message}`, 'invalid-identifier', 'certificate');
  return serial.value;
}

function input(values: {
  certificate: unknown;
  myNumber: string | undefined;
  notAfter: string | undefined;
  revoke: boolean;
}): CardRegistration {
  const serial = serialOf(values.certificate);
  if (values.revoke) {
    if (values.myNumber !== undefined || values.notAfter !== undefined)
      throw errors.badRequest(
        'A revocation names the certificate only: myNumber and notAfter are not given with revoke',
        'invalid-parameter',
        values.myNumber !== undefined ? 'myNumber' : 'notAfter',
      );
    return { serial, myNumber: undefined, notAfter: undefined, revoke: true };
  }
  let myNumber: string | undefined;
  if (values.myNumber !== undefined) {
    const p = parseMyNumber(values.myNumber);
    // The message of a failed My Number parse never repeats the digits.
    if (!p.ok) throw errors.badRequest(`Parameter myNumber: ${p.message}`, 'invalid-identifier', 'myNumber');
    myNumber = p.value;
  }
  if (values.notAfter !== undefined && !isCalendarDay(values.notAfter))
    throw errors.badRequest(
      "Parameter notAfter must be a calendar date (YYYY-MM-DD): the certificate's last valid day",
      'invalid-parameter',
      'notAfter',
    );
  return { serial, myNumber, notAfter: values.notAfter, revoke: false };
}

export function patientRegisterCard(cards: CardCertificates): OperationHandler {
  return defineOperation<CardRegistration>({
    url: operationUrl('Patient-register-card'),
    input: (call) =>
      input({
        certificate: call.input.all('certificate')[0],
        myNumber: call.input.string('myNumber'),
        notAfter: call.input.string('notAfter'),
        revoke: call.input.boolean('revoke') ?? false,
      }),
    async handle(ctx, registration) {
      const r = await cards.register(ctx.uow, registration);
      const parameter: ParametersParameter[] = [{ name: 'outcome', valueCode: r.outcome }];
      if (r.patientId) parameter.push({ name: 'patient', valueReference: { reference: `Patient/${r.patientId}` } });
      const body: Parameters = { resourceType: 'Parameters', parameter };
      return { status: 200, body, disclosed: r.patientId ? disclosePatients(r.patientId) : [] };
    },
  });
}
