/**
 * Online eligibility confirmation at the point of care (R5, R8, R9), by any of the three things
 * a person hands the desk: an insurance card (保険者番号 and 記号・番号・枝番), a public-payer card
 * (公費負担者番号 and 受給者番号 — 生活保護's 医療券 included), each with the birth date, or a My
 * Number card (its certificate: my-number-card.ts). The numbers give the OQS validity on the day
 * of service; a medical institution's valid confirmation is a service use (this institution
 * served this person that day), recorded with the confirmation's audit record; and a request
 * that says who it thinks the person is may disagree with the registry (mismatch.ts). The three
 * paths share those rules: only the lookup differs.
 */
import type { Coverage, Patient } from '@medplum/fhirtypes';
import type { Organization } from '../core/principal.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import type { UnitOfWork } from '../repo/unit-of-work.ts';
import { coveragesByCertificate } from '../store/card-certificates.ts';
import { coveragesByCard } from '../store/coverages.ts';
import type { ServiceUse } from '../store/service-use.ts';
import { cardClassOf } from './card-class.ts';
import type { CardClass } from './card-class.ts';
import type { MismatchDesk } from './mismatch.ts';
import { decideByCard } from './my-number-card.ts';
import type { CardDecision } from './my-number-card.ts';
import { decideValidity } from './validity.ts';
import type { EligibilityDecision } from './validity.ts';

/** The numbers on a card, checked and in canonical form. */
export type CardNumbers =
  | {
      kind: 'insured';
      insurer: string;
      symbol: string;
      number: string;
      /** 枝番; absent when the card has none (then every 枝番 of the 記号・番号 is considered). */
      branch: string | undefined;
    }
  | {
      kind: 'public-payer';
      /** 公費負担者番号 (8 digits). */
      payer: string;
      /** 受給者番号 (7 digits). */
      recipient: string;
    };

/** The card as the request carries it, checked and in canonical form. */
export interface Card {
  numbers: CardNumbers;
  birthDate: string;
  /** The day of service (YYYY-MM-DD). */
  day: string;
  /** Who the provider thinks the person is (a contained Patient), if the request says. */
  patient: Patient | undefined;
}

/** A My Number card as the reader presents it: its certificate's serial (canonical hex). */
export interface MyNumberCard {
  serial: string;
  day: string;
  patient: Patient | undefined;
}

interface Outcome {
  /** Whether the caller may learn which Patient and Coverage the answer is about (medical institutions and the authority). */
  disclose: boolean;
  /** Notes for the response (a disagreement with the registry), without values. */
  notes: string[];
  /** The visit a valid confirmation by a medical institution records (written with the audit record). */
  serviceUses: ServiceUse[];
}

export interface Confirmation extends Outcome {
  decision: EligibilityDecision;
  /** The class of card the coverage the answer is about is (証区分). */
  cardClass: CardClass | undefined;
  /** The payer the card names: its system (保険者番号 or 公費負担者番号) and number. */
  payer: { system: string; value: string };
}

export interface CardConfirmation extends Outcome {
  decision: CardDecision;
}

export interface EligibilityDeskDeps {
  mismatches: MismatchDesk;
  /** The keyed MAC of a certificate serial (privacy/my-number, wired in app.ts): the desk never holds the key. */
  certificateMac: (serial: string) => Buffer;
}

/** The member id a card's numbers form, and how to look it up (without 枝番: every 枝番 of the 記号・番号). */
function lookupOf(n: CardNumbers): { system: string; q: { exact: string } | { prefix: string }; payer: { system: string; value: string } } {
  if (n.kind === 'public-payer')
    return {
      system: ID_SYSTEMS.publicPayerMemberId,
      q: { exact: `${n.payer}::${n.recipient}:` },
      payer: { system: ID_SYSTEMS.publicPayerNumber, value: n.payer },
    };
  const prefix = `${n.insurer}:${n.symbol}:${n.number}:`;
  return {
    system: ID_SYSTEMS.insuredMemberId,
    q: n.branch === undefined ? { prefix } : { exact: `${prefix}${n.branch}` },
    payer: { system: ID_SYSTEMS.insurerNumber, value: n.insurer },
  };
}

export class EligibilityDesk {
  private readonly mismatches: MismatchDesk;
  private readonly certificateMac: (serial: string) => Buffer;

  constructor(deps: EligibilityDeskDeps) {
    this.mismatches = deps.mismatches;
    this.certificateMac = deps.certificateMac;
  }

  /** An insurance or public-payer card: its numbers and the birth date. */
  async confirm(uow: UnitOfWork, card: Card, caller: Organization | undefined, now: string): Promise<Confirmation> {
    const { system, q, payer } = lookupOf(card.numbers);
    const found = await coveragesByCard(uow.db, system, q);
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
    const cardClass = decision.coverage ? cardClassOf(decision.coverage.coverage, system, payer.value) : undefined;
    const outcome = await this.outcome(uow, decision.patientId, decision.validity === '1', card, payer, caller, now);
    return { decision, cardClass, payer, ...outcome };
  }

  /** A My Number card: its certificate names the person, and the answer is their coverages that day. */
  async confirmByCard(uow: UnitOfWork, card: MyNumberCard, caller: Organization | undefined, now: string): Promise<CardConfirmation> {
    const { holder, coverages } = await coveragesByCertificate(uow.db, this.certificateMac(card.serial));
    const decision = decideByCard(holder, coverages, card.day);
    const first = decision.coverages[0]?.numbers;
    // Only an answer about coverages names the person (1 or 2): the holder of a refused card is audited, not disclosed.
    const known = decision.validity === '1' || decision.validity === '2' ? decision.holder : undefined;
    const payer = first ? { system: first.payerSystem, value: first.payer } : undefined;
    const outcome = await this.outcome(uow, known, decision.validity === '1', card, payer, caller, now);
    return { decision, ...outcome };
  }

  private async outcome(
    uow: UnitOfWork,
    patientId: string | undefined,
    valid: boolean,
    card: { day: string; patient: Patient | undefined },
    payer: { system: string; value: string } | undefined,
    caller: Organization | undefined,
    now: string,
  ): Promise<Outcome> {
    const provider = caller?.kind === 'medical-institution' ? caller.code : undefined;
    const disclose = caller === undefined || caller.kind === 'authority' || provider !== undefined;
    const notes: string[] = [];
    // Only a request that says who it thinks the person is can disagree (no extra read otherwise).
    const claims = card.patient !== undefined && ((card.patient.identifier?.length ?? 0) > 0 || (card.patient.name?.length ?? 0) > 0);
    if (patientId !== undefined && card.patient && claims && payer) {
      notes.push(...(await this.mismatches.check(uow, patientId, card.patient, payer, provider, now)));
    }
    const serviceUses = valid && patientId !== undefined && provider !== undefined ? [{ patientId, orgCode: provider, day: card.day }] : [];
    return { disclose, notes, serviceUses };
  }
}
