/**
 * Online eligibility confirmation at the point of care (R5, R8, R9): the card's numbers and the
 * birth date give the OQS validity on the day of service; a medical institution's valid
 * confirmation is a service use (this institution served this person that day), recorded with
 * the confirmation's audit record; and a request that says who it thinks the person is may
 * disagree with the registry (mismatch.ts).
 */
import type { Coverage, Patient } from '@medplum/fhirtypes';
import type { Organization } from '../core/principal.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import type { UnitOfWork } from '../repo/unit-of-work.ts';
import { coveragesByCard } from '../store/coverages.ts';
import type { ServiceUse } from '../store/service-use.ts';
import type { MismatchDesk } from './mismatch.ts';
import { decideValidity } from './validity.ts';
import type { EligibilityDecision } from './validity.ts';

/** The card as the request carries it, checked and in canonical form. */
export interface Card {
  insurer: string;
  symbol: string;
  number: string;
  /** 枝番; absent when the card has none (then every 枝番 of the 記号・番号 is considered). */
  branch: string | undefined;
  birthDate: string;
  /** The day of service (YYYY-MM-DD). */
  day: string;
  /** Who the provider thinks the person is (a contained Patient), if the request says. */
  patient: Patient | undefined;
}

export interface Confirmation {
  decision: EligibilityDecision;
  /** Whether the caller may learn which Patient and Coverage the answer is about (medical institutions and the authority). */
  disclose: boolean;
  /** Notes for the response (a disagreement with the registry), without values. */
  notes: string[];
  /** The visit a valid confirmation by a medical institution records (written with the audit record). */
  serviceUses: ServiceUse[];
}

export class EligibilityDesk {
  private readonly mismatches: MismatchDesk;

  constructor(mismatches: MismatchDesk) {
    this.mismatches = mismatches;
  }

  async confirm(uow: UnitOfWork, card: Card, caller: Organization | undefined, now: string): Promise<Confirmation> {
    const prefix = `${card.insurer}:${card.symbol}:${card.number}:`;
    const found = await coveragesByCard(
      uow.db,
      ID_SYSTEMS.insuredMemberId,
      card.branch === undefined ? { prefix } : { exact: `${prefix}${card.branch}` },
    );
    const decision = decideValidity(
      found.coverages.map((c) => ({
        id: c.id,
        patientId: c.patientId,
        coverage: JSON.parse(c.content) as Coverage,
        card: c.kind === 'card',
      })),
      found.birthDates,
      card.birthDate,
      card.day,
    );
    const provider = caller?.kind === 'medical-institution' ? caller.code : undefined;
    const disclose = caller === undefined || caller.kind === 'authority' || provider !== undefined;
    const notes: string[] = [];
    // Only a request that says who it thinks the person is can disagree (no extra read otherwise).
    const claims = card.patient !== undefined && ((card.patient.identifier?.length ?? 0) > 0 || (card.patient.name?.length ?? 0) > 0);
    if (decision.patientId !== undefined && card.patient && claims) {
      notes.push(...(await this.mismatches.check(uow, decision.patientId, card.patient, card.insurer, provider, now)));
    }
    const patientId = decision.patientId;
    const serviceUses =
      decision.validity === '1' && patientId !== undefined && provider !== undefined
        ? [{ patientId, orgCode: provider, day: card.day }]
        : [];
    return { decision, disclose, notes, serviceUses };
  }
}
