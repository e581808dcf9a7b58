/**
 * Break-the-glass (R24): in an emergency, a medical institution reaches one person it has no
 * care relationship with — or whose Consent denies it — for a few hours, giving a reason. The
 * grant is a row the access predicate reads (store/access-sql.ts) for requests running under
 * purpose BTG, so every access under it carries that purpose into its AuditEvent; the person
 * is told at once (a Communication in their record); the authority lists each day's grants.
 * Who may: a medical institution whose client registration lists BTG and whose token was
 * issued for it (auth/token-endpoint.ts, privacy/access-policy.ts).
 */
import type { Communication } from '@medplum/fhirtypes';
import { errors } from '../core/outcome.ts';
import type { Principal } from '../core/principal.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import type { UnitOfWork } from '../repo/unit-of-work.ts';
import { btgGrantsBetween, insertBtgGrant } from '../store/access.ts';
import type { BtgGrantRow } from '../store/access.ts';
import type { Db } from '../store/db.ts';
import { actorOf, kindOf } from './access-policy.ts';

/** The longest reason kept (a reason is a sentence or two, not a record). */
const MAX_REASON = 1000;

export interface Grant {
  expiresAt: string;
  communicationId: string;
}

export class BreakTheGlass {
  private readonly hours: number;

  constructor(hours: number) {
    this.hours = hours;
  }

  /** Grants `p` access to the person `patientId` for the configured hours; tells the person. */
  async grant(uow: UnitOfWork, p: Principal, patientId: string, reason: string, now: Date): Promise<Grant> {
    if (kindOf(p) !== 'medical-institution' || p.purposeOfUse !== 'BTG') {
      throw errors.forbidden(
        'Access policy: break-the-glass needs a medical institution token issued for purpose of use BTG (rule medical-institution.breakTheGlass)',
      );
    }
    const why = reason.trim();
    if (why === '') throw errors.badRequest('Parameter reason: a reason is required to break the glass', 'invalid-parameter', 'reason');
    if (why.length > MAX_REASON) {
      throw errors.badRequest(`Parameter reason: at most ${MAX_REASON} characters`, 'invalid-parameter', 'reason');
    }
    const expiresAt = new Date(now.getTime() + this.hours * 3_600_000).toISOString();
    return uow.transaction(async (tx) => {
      await tx.resources.read('Patient', patientId); // 404 / 410: only a known, live person
      await insertBtgGrant(tx.db, {
        patientId,
        actor: actorOf(p),
        clientId: p.clientId,
        reason: why,
        grantedAt: now.toISOString(),
        expiresAt,
      });
      const notice: Communication = {
        resourceType: 'Communication',
        status: 'completed',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/communication-category', code: 'notification' }] }],
        subject: { reference: `Patient/${patientId}` },
        recipient: [{ reference: `Patient/${patientId}` }],
        sender: { identifier: { system: ID_SYSTEMS.medicalInstitutionCode, value: p.org?.code ?? '' }, display: p.clientName },
        sent: now.toISOString(),
        reasonCode: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'BTG' }] }],
        payload: [
          {
            contentString:
              `医療機関（医療機関コード ${p.org?.code ?? ''}）が緊急時の特別な手続き（break-the-glass）により、` +
              `${expiresAt} までの間あなたの記録を参照できるようになりました。理由: ${why}`,
          },
        ],
      };
      const { stored } = await tx.resources.create('Communication', notice);
      return { expiresAt, communicationId: stored.id };
    });
  }
}

/** The grants of one day (Japan Standard Time), oldest first: the authority's daily report. */
export function grantsOn(db: Db, day: string): Promise<BtgGrantRow[]> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error('the day must be YYYY-MM-DD');
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  return btgGrantsBetween(db, `${day}T00:00:00+09:00`, `${next}T00:00:00+09:00`);
}
