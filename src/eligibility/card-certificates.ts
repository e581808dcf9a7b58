/**
 * Which person a My Number card belongs to, for the マイナ保険証 path (my-number-card.ts): the
 * authority registers a card's 利用者証明用電子証明書 (the 利用登録) — its serial, its last valid
 * day and the My Number that J-LIS, the certificate's issuer, associates with it — and records a
 * revocation (失効) J-LIS reports. Patient/$register-card is the FHIR shape.
 *
 * Why the certificate, not the My Number, is what the card path takes: it is what a card
 * reader can present without the number ever leaving the card — the holder's PIN or face
 * unlocks the certificate, and a medical institution is not allowed to collect My Numbers
 * (番号法: confirming eligibility is not a 個人番号利用事務 of the institution) — and it can be
 * revoked the day a card is lost, which a number that lasts a lifetime cannot. The My Number
 * is needed once, at registration, to find the person; afterwards only keyed MACs remain: the
 * serial's (its own key) and the person's My Number MAC, which registry.my_number already holds.
 *
 * Rules: the My Number must be a registered person's (422 naming `myNumber`); a certificate
 * names one person for ever (409 for another: a serial is never reissued) and a revoked one is
 * never registered again (409); registering the same certificate again changes nothing, or only
 * its last day. Every change is audited in its own transaction, naming the person; refusals
 * never repeat a number.
 */
import { errors, issue, outcome, OperationOutcomeError } from '../core/outcome.ts';
import { SYSTEMS } from '../core/systems.ts';
import type { UnitOfWork } from '../repo/unit-of-work.ts';
import { insertCertificate, lockCertificate, revokeCertificate, setCertificateNotAfter } from '../store/card-certificates.ts';
import type { Db } from '../store/db.ts';
import { patientOfMyNumber } from '../store/my-number.ts';

export interface CardRegistration {
  /** The certificate's serial, canonical (identifiers/jpki-user-certificate.ts). */
  serial: string;
  /** 12 validated digits; lives only in memory, until it is turned into its MAC. Absent for a revocation. */
  myNumber: string | undefined;
  /** The certificate's last valid day (YYYY-MM-DD). Absent for a revocation. */
  notAfter: string | undefined;
  /** J-LIS reported the certificate revoked. */
  revoke: boolean;
}

/** What a registration did. */
export type CardRegistrationOutcome = 'linked' | 'updated' | 'unchanged' | 'revoked';

export interface CardRegistrationResult {
  outcome: CardRegistrationOutcome;
  /** The card's holder (absent only if their My Number binding was edited away outside medid). */
  patientId: string | undefined;
}

export interface CardCertificatesDeps {
  certificateMac: { mac(serial: string): Buffer; readonly version: number };
  myNumberMac: (digits: string) => Buffer;
  /** Records the change's AuditEvent inside the change's transaction (audit/, wired in app.ts). */
  audit: (db: Db, change: { action: 'C' | 'U'; patientId: string }) => Promise<void>;
}

/** A refusal naming the parameter and the rule, never a value. */
function refused(status: 409 | 422, parameter: string, rule: string, text: string): OperationOutcomeError {
  const i = issue({ code: status === 409 ? 'conflict' : 'business-rule', medid: 'business-rule', text, expression: parameter });
  i.details?.coding?.push({ system: SYSTEMS.medidErrorRule, code: rule });
  return new OperationOutcomeError(outcome(status === 409 ? 'conflict' : 'unprocessable', [i]));
}

export class CardCertificates {
  private readonly deps: CardCertificatesDeps;

  constructor(deps: CardCertificatesDeps) {
    this.deps = deps;
  }

  async register(uow: UnitOfWork, r: CardRegistration): Promise<CardRegistrationResult> {
    const certMac = this.deps.certificateMac.mac(r.serial);
    return uow.transaction(async (tx) => {
      const row = await lockCertificate(tx.db, certMac);
      if (r.revoke) {
        if (!row) throw refused(422, 'certificate', 'register-card.unknown-certificate', 'No card is registered with this certificate');
        const patientId = await patientOfMyNumber(tx.db, row.myNumberMac);
        if (row.revoked) return { outcome: 'unchanged', patientId };
        await revokeCertificate(tx.db, certMac);
        if (patientId) await this.deps.audit(tx.db, { action: 'U', patientId });
        return { outcome: 'revoked', patientId };
      }
      if (r.myNumber === undefined || r.notAfter === undefined)
        throw errors.badRequest('myNumber and notAfter are required unless revoke is true', 'invalid-parameter', [
          ...(r.myNumber === undefined ? ['myNumber'] : []),
          ...(r.notAfter === undefined ? ['notAfter'] : []),
        ]);
      const myNumberMac = this.deps.myNumberMac(r.myNumber);
      const patientId = await patientOfMyNumber(tx.db, myNumberMac);
      if (!patientId) throw refused(422, 'myNumber', 'register-card.unknown-person', 'No registered person holds this My Number');
      if (row) {
        if (row.revoked)
          throw refused(
            409,
            'certificate',
            'register-card.revoked',
            'This certificate was revoked: a revoked certificate is never registered again',
          );
        if (!row.myNumberMac.equals(myNumberMac))
          throw refused(409, 'certificate', 'register-card.other-person', 'This certificate is registered to another person');
        if (row.notAfter === r.notAfter) return { outcome: 'unchanged', patientId };
        await setCertificateNotAfter(tx.db, certMac, r.notAfter);
        await this.deps.audit(tx.db, { action: 'U', patientId });
        return { outcome: 'updated', patientId };
      }
      await insertCertificate(tx.db, { certMac, version: this.deps.certificateMac.version, myNumberMac, notAfter: r.notAfter });
      await this.deps.audit(tx.db, { action: 'C', patientId });
      return { outcome: 'linked', patientId };
    });
  }
}
