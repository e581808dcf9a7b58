/**
 * Registration (R1–R3, R17): decides who each record is, issues a medical ID to a new person,
 * and keeps the person's Patient and registry rows in step — one database transaction per
 * record, so a record that fails leaves nothing behind and the others still load.
 *
 * Who a record is: the same My Number (by its MAC) or the same insured / public-payer member
 * id is the same person. Otherwise the exact demographic rule (kana name + birth date + sex)
 * is consulted; a hit there is not proof (namesakes share birthdays at national scale), so it
 * is held for the authority's staff as a Task unless My Numbers prove the persons differ.
 * Every key a decision reads is locked first, so concurrent registrations of one person end in
 * one person with one medical ID.
 */
import crypto from 'node:crypto';
import type { Patient, Task } from '@medplum/fhirtypes';
import type { Clock } from '../core/clock.ts';
import { Topic } from '../core/events.ts';
import { errors, isOutcomeError, isUnavailable } from '../core/outcome.ts';
import type { Organization } from '../core/principal.ts';
import { SYSTEMS } from '../core/systems.ts';
import { issueUnusedMedicalId } from '../identifiers/medical-id.ts';
import type { UnitOfWork } from '../repo/unit-of-work.ts';
import type { Db } from '../store/db.ts';
import { bindMyNumber, hasMyNumber, patientsWithMyNumber } from '../store/my-number.ts';
import {
  bindIdentifiers,
  findCandidates,
  insertPerson,
  lockRegistrationKeys,
  personByPatientId,
  personHasPayer,
  personsByPatientIds,
  updatePerson,
} from '../store/persons.ts';
import type { PersonRow } from '../store/persons.ts';
import { insertReview, lockReview, markReviewResolved, reviewByKey } from '../store/reviews.ts';
import { createNewPersons, demoKeysOf, lockKeysOf } from './bulk.ts';
import type { KeyedRecord } from './bulk.ts';
import { activeMedicalId, identifyPerson, personIdentifiers } from './identify.ts';
import { asksMatchEngine, heavyCandidates, matchQuery, matchReviewReason, sharesAName } from './matching.ts';
import type { RecordMatching } from './matching.ts';
import { applyRecord, demographicKey, familyKeyOf, hasProvisionalNameOnly, newPatient, withIdentifiers } from './patient.ts';
import type { RecordResult, RegistrationRecord, RegistrationResult } from './record.ts';
import { candidatesOf, heldRecord, refusal, resolvedTask, reviewTask } from './review.ts';
import type { ReviewChoice } from './review.ts';

/**
 * The keyed MAC of My Number (privacy/my-number), as the registry uses it: digits in, MAC out,
 * and the version stored beside each MAC. Passed in: the registry holds no key of its own.
 */
export interface MyNumberMacs {
  mac(digits: string): Buffer;
  readonly version: number;
}

/** Announced when a registration changed a person's record (inside its transaction). */
export interface PersonCorrected {
  tx: UnitOfWork;
  patientId: string;
  /** ISO instant of the registration. */
  at: string;
}

export interface RegistrarDeps {
  uow: UnitOfWork;
  myNumberMacs: MyNumberMacs;
  clock: Clock;
  medicalIdSystem: string;
  /** Draws a medical ID (tests inject collisions). */
  drawMedicalId?: () => string;
  /** Told when a batch could not take the set-based path (it then runs record by record). */
  onBulkFallback?: (err: unknown) => void;
  /** Refuses (403) an organization that may not submit a record naming these payers (privacy/access-rules.ts). */
  assertMaySubmit: (org: Organization | undefined, payers: readonly string[]) => void;
  /** The match engine of Patient/$match, asked about every named record (matching.ts; wired in app.ts). */
  matching: RecordMatching;
}

/** What a resolution of a held registration wrote. */
export interface Resolution {
  patientId: string;
  medicalId: string | undefined;
  /** The person: created (new-person), or updated / unchanged (bound to a registered person). */
  status: 'created' | 'updated' | 'unchanged';
  /** The completed Task, as stored. */
  task: string;
}

/** The refusal of a record whose number belongs to another person (never the number itself: it is the person's). */
const identifierTaken = (): Error =>
  refusal('conflict', 'registry.identifier-taken', 'An insured or public-payer number of this record belongs to another person');

/** Records per set-based transaction: bounds the advisory locks one transaction holds (~5 per record). */
export const BULK_CHUNK = 200;

/** The payer numbers a record carries (保険者番号, 公費負担者番号): whose member the record says the person is. */
const payersOf = (r: RegistrationRecord): string[] =>
  [r.insuredMemberId?.insurerNumber, r.publicPayerMemberId?.payerNumber].filter((x): x is string => x !== undefined);

export class Registrar {
  private readonly d: RegistrarDeps;
  /**
   * A registration corrected a person's record; listeners run in its transaction (eligibility
   * closes the point-of-care mismatch Tasks the correction answers — wired in app.ts).
   */
  readonly personCorrected = new Topic<PersonCorrected>();

  constructor(d: RegistrarDeps) {
    this.d = d;
  }

  /**
   * Registers a batch: records that are certainly new persons together, in set-based
   * transactions of up to BULK_CHUNK records (see bulk.ts); every other record in its own
   * transaction, after its chunk's new persons and in batch order. `concurrency` chunks at a time.
   */
  async registerAll(records: readonly RecordResult[], org: Organization | undefined, concurrency = 1): Promise<RegistrationResult[]> {
    const out = new Array<RegistrationResult>(records.length);
    const chunks: number[][] = [];
    for (let i = 0; i < records.length; i += BULK_CHUNK) chunks.push(records.map((_r, n) => n).slice(i, i + BULK_CHUNK));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < chunks.length) await this.registerChunk(records, chunks[next++], org, out);
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, chunks.length)) }, worker));
    return out;
  }

  private async registerChunk(
    records: readonly RecordResult[],
    positions: readonly number[],
    org: Organization | undefined,
    out: RegistrationResult[],
  ): Promise<void> {
    const keyed: { pos: number; k: KeyedRecord }[] = [];
    for (const pos of positions) {
      const rr = records[pos];
      if (!rr.ok) out[pos] = { record: rr.record, status: 'error', issues: rr.issues };
      else {
        try {
          this.d.assertMaySubmit(org, payersOf(rr.record));
          keyed.push({ pos, k: this.keyed(rr.record) });
        } catch (e) {
          out[pos] = errorResult(rr.record, e);
        }
      }
    }
    let rest = keyed.map((_k, i) => i);
    if (keyed.length > 1) {
      try {
        const now = this.d.clock.now().toISOString();
        const done = await this.d.uow.transaction((tx) =>
          createNewPersons(
            tx,
            keyed.map((x) => x.k),
            {
              medicalIdSystem: this.d.medicalIdSystem,
              myNumberMacVersion: this.d.myNumberMacs.version,
              now,
              drawMedicalId: this.d.drawMedicalId,
              matching: this.d.matching,
            },
          ),
        );
        for (const [i, r] of done.created) out[keyed[i].pos] = r;
        rest = done.rest;
      } catch (e) {
        // A database that cannot answer fails the whole call (503); anything else is retried record by record.
        if (isUnavailable(e)) throw e;
        this.d.onBulkFallback?.(e);
      }
    }
    for (const i of rest) {
      const { pos } = keyed[i];
      out[pos] = await this.registerOne(records[pos], org);
    }
  }

  async registerOne(rr: RecordResult, org: Organization | undefined): Promise<RegistrationResult> {
    if (!rr.ok) return { record: rr.record, status: 'error', issues: rr.issues };
    const r = rr.record;
    try {
      this.d.assertMaySubmit(org, payersOf(r));
      return await this.d.uow.transaction((tx) => this.registerIn(tx, r, org));
    } catch (e) {
      return errorResult(r, e);
    }
  }

  private keyed(r: RegistrationRecord, mac = r.myNumber === undefined ? undefined : this.d.myNumberMacs.mac(r.myNumber)): KeyedRecord {
    return { record: r, mac, identifiers: personIdentifiers(r), demoKey: demographicKey(r), familyKey: familyKeyOf(r) };
  }

  private async registerIn(tx: UnitOfWork, r: RegistrationRecord, org: Organization | undefined): Promise<RegistrationResult> {
    const { db, resources: repo } = tx;
    const now = this.d.clock.now().toISOString();
    const k = this.keyed(r);
    const { mac } = k;
    await lockRegistrationKeys(db, lockKeysOf(k));
    const cands = await findCandidates(db, { mac, identifiers: k.identifiers, demoKeys: demoKeysOf(k) });
    // The Patients the rule compares facts with: persons a number links, and — for a newborn's
    // provisional name — its namesakes (twins are told apart by their birth order).
    const patients = new Map<string, Patient>();
    for (const c of cands) {
      if ((c.via !== 'demographics' || r.provisional) && !patients.has(c.person.patientId))
        patients.set(c.person.patientId, JSON.parse((await repo.read('Patient', c.person.patientId)).content as string) as Patient);
    }
    const decision = identifyPerson(r, cands, (p) => patients.get(p.patientId), k.demoKey);
    if (decision.kind === 'review') return this.holdForReview(tx, r, mac, decision.reason, decision.candidates, org, now);
    if (decision.kind === 'new') {
      const alike = asksMatchEngine(r) ? await this.probableNamesakes(tx, r, mac !== undefined) : undefined;
      if (alike) return this.holdForReview(tx, r, mac, alike.reason, alike.candidates, org, now);
      return this.createPerson(tx, k, now);
    }
    const person = decision.person;
    if (person.status !== 'active') {
      // A deceased or retired person's record is not applied (nor held: a re-import is normal).
      return {
        record: r.record,
        status: 'unchanged',
        patientId: person.patientId,
        issues: [
          { expression: 'record', rule: 'registry.person-not-active', text: `The person is ${person.status}; the record was not applied` },
        ],
      };
    }
    const current = patients.get(person.patientId) as Patient;
    if (asksMatchEngine(r) && !sharesAName(r, current)) {
      // A number proves who, when the engine agrees: certain (the identifier, and demographics that do not contradict it).
      const graded = (await this.d.matching.match(tx, matchQuery(r, { myNumber: true }))).find((c) => c.patientId === person.patientId);
      if (graded?.grade !== 'certain')
        return this.holdForReview(
          tx,
          r,
          mac,
          `The number of this record names a person the match engine does not grade certain for it (${graded ? `${graded.grade}, ${graded.weight.toFixed(2)} bits` : 'not found'}): no name in common`,
          [person],
          org,
          now,
        );
    }
    const { changed, patient } = await this.applyToPerson(tx, person, current, applyRecord(current, r, now.slice(0, 10)), k, now);
    return {
      record: r.record,
      status: changed ? 'updated' : 'unchanged',
      patientId: person.patientId,
      medicalId: activeMedicalId(patient, this.d.medicalIdSystem),
      issues: [],
    };
  }

  /**
   * The registered persons the match engine finds like a record no number links to: at least
   * `reviewAt` bits, without those whose My Number proves them another person (the record has
   * one, they have another), active or not (a deceased person's record sent again is a review,
   * not a second person). Undefined when there is none: the record is a new person.
   */
  private async probableNamesakes(
    tx: UnitOfWork,
    r: RegistrationRecord,
    hasMac: boolean,
  ): Promise<{ reason: string; candidates: PersonRow[] } | undefined> {
    const [screened] = await this.d.matching.screen(tx, [matchQuery(r, { myNumber: false })]);
    let heavy = heavyCandidates(screened?.candidates ?? [], this.d.matching.reviewAt);
    if (heavy.length === 0) return undefined;
    if (hasMac) {
      const proved = await patientsWithMyNumber(
        tx.db,
        heavy.map((c) => c.patientId),
      );
      heavy = heavy.filter((c) => !proved.has(c.patientId));
    }
    const persons = new Map(
      (
        await personsByPatientIds(
          tx.db,
          heavy.map((c) => c.patientId),
        )
      ).map((p) => [p.patientId, p]),
    );
    const held = heavy.flatMap((c) => {
      const p = persons.get(c.patientId);
      return p && p.status !== 'merged' ? [{ c, p }] : [];
    });
    if (held.length === 0) return undefined;
    // The best ten are the Task's candidates (the reason counts them all).
    return { reason: matchReviewReason(held[0].c, held.length), candidates: held.slice(0, 10).map((h) => h.p) };
  }

  /**
   * Writes a registered person's Patient as `next` and binds the record's numbers and My Number
   * to them; the demographic key follows the record's names, unless they were kept (`next` from
   * withIdentifiers, or a provisional record for a person named since).
   */
  private async applyToPerson(
    tx: UnitOfWork,
    person: PersonRow,
    current: Patient,
    next: Patient,
    k: KeyedRecord,
    now: string,
    o: { demographics: boolean; macVersion?: number } = { demographics: true },
  ): Promise<{ changed: boolean; patient: Patient }> {
    const res = await tx.resources.update('Patient', person.patientId, next, { trusted: true });
    if ((await bindIdentifiers(tx.db, person.personKey, k.identifiers)).length > 0) throw identifierTaken();
    if (k.mac) await this.bindMac(tx.db, k.mac, person.patientId, o.macVersion);
    const namesKept = !o.demographics || (k.record.provisional && !hasProvisionalNameOnly(current));
    // The sex the Patient keeps (a record's `unknown` does not replace a known one).
    const demoKey = demographicKey({ ...k.record, gender: next.gender ?? k.record.gender });
    if (!namesKept && person.demoKey !== demoKey) await updatePerson(tx.db, person.personKey, { demoKey }, now);
    const changed = res.stored.versionId !== Number(current.meta?.versionId);
    if (changed) await this.personCorrected.emit({ tx, patientId: person.patientId, at: now });
    return { changed, patient: next };
  }

  private async createPerson(tx: UnitOfWork, k: KeyedRecord, now: string, macVersion?: number): Promise<RegistrationResult> {
    const r = k.record;
    const personKey = crypto.randomBytes(16);
    const patientId = crypto.randomUUID();
    const mid = await issueUnusedMedicalId(
      (m) => insertPerson(tx.db, { personKey, patientId, demoKey: k.demoKey, mid: m, at: now }),
      this.d.drawMedicalId,
    );
    await tx.resources.create(
      'Patient',
      newPatient(patientId, r, { system: this.d.medicalIdSystem, value: mid, start: now.slice(0, 10) }),
      { id: patientId, trusted: true },
    );
    if ((await bindIdentifiers(tx.db, personKey, k.identifiers)).length > 0) throw identifierTaken();
    if (k.mac) await this.bindMac(tx.db, k.mac, patientId, macVersion);
    return { record: r.record, status: 'created', patientId, medicalId: mid, issues: [] };
  }

  /** Binds a My Number MAC (made under key version `version`, the current one by default). */
  private async bindMac(db: Db, mac: Buffer, patientId: string, version = this.d.myNumberMacs.version): Promise<void> {
    const owner = await bindMyNumber(db, mac, version, patientId);
    if (owner !== patientId) throw errors.conflict('This My Number is already registered to another person', 'my-number-conflict');
  }

  /**
   * A Task for the authority's staff; re-submitting the same record finds the same Task — or,
   * once it was resolved, the person it was bound to (the decision is not asked for again).
   */
  private async holdForReview(
    tx: UnitOfWork,
    r: RegistrationRecord,
    mac: Buffer | undefined,
    reason: string,
    candidates: PersonRow[],
    org: Organization | undefined,
    now: string,
  ): Promise<RegistrationResult> {
    // Hashed as before newborns had provisional names (the flag only when set): a record held
    // earlier and sent again finds its Task.
    const { myNumber: _dropped, provisional, ...rest } = r;
    const recordKey = crypto
      .createHash('sha256')
      .update(JSON.stringify(provisional ? { ...rest, provisional } : rest))
      .update(mac ?? Buffer.alloc(0))
      .digest('hex');
    const existing = await reviewByKey(tx.db, recordKey);
    if (existing?.resolvedPatient) {
      const p = JSON.parse((await tx.resources.read('Patient', existing.resolvedPatient)).content as string) as Patient;
      return {
        record: r.record,
        status: 'unchanged',
        patientId: existing.resolvedPatient,
        medicalId: activeMedicalId(p, this.d.medicalIdSystem),
        taskId: existing.taskId,
        issues: [
          {
            expression: 'record',
            rule: 'registry.reviewed',
            text: 'This record was held for review and the review bound it to this person; it was not applied again',
          },
        ],
      };
    }
    const base = { record: r.record, status: 'review' as const, issues: [{ expression: 'record', rule: 'registry.review', text: reason }] };
    if (existing) return { ...base, taskId: existing.taskId };
    const task = reviewTask({ record: r, recordKey, reason, candidates, hasMyNumber: mac !== undefined, org, now });
    const { stored } = await tx.resources.create('Task', task);
    await insertReview(tx.db, stored.id, recordKey, mac ? { mac, version: this.d.myNumberMacs.version } : undefined);
    return { ...base, taskId: stored.id };
  }

  /**
   * Resolves a held registration (Task/[id]/$resolve), once: binds the held record to a
   * registered person or registers it as a new one, with the held My Number MAC, and completes
   * the Task naming the person — in one transaction, under the record's registration locks.
   * By the authority, or by the insurer whose record it is (every payer number on it is its
   * own), which binds only to a candidate it insures: a namesake it does not insure is the
   * authority's to bind (binding would bring that person within the insurer's reach).
   */
  resolve(taskId: string, choice: ReviewChoice, org: Organization | undefined): Promise<Resolution> {
    return this.d.uow.transaction(async (tx) => {
      const { db, resources: repo } = tx;
      const notHeld = (): Error => refusal('not-found', 'review.not-held', `Task/${taskId} is not a registration held for review`);
      const review = await lockReview(db, taskId);
      if (!review) throw notHeld();
      const task = JSON.parse((await repo.read('Task', taskId)).content as string) as Task;
      const r = heldRecord(task);
      if (org && org.kind !== 'authority') {
        // Another insurer's review is as unknown to it as a Task that does not exist.
        const payers = payersOf(r);
        if (org.kind !== 'insurer' || payers.length === 0 || payers.some((p) => p !== org.code)) throw notHeld();
      }
      if (review.resolvedAt !== null)
        throw refusal(
          'conflict',
          'review.resolved',
          `Task/${taskId} was resolved already (${review.resolution === 'new-person' ? 'a new person' : 'bound to a registered person'}, Patient/${review.resolvedPatient ?? ''}); a review is resolved once`,
        );
      const macVersion = review.macVersion ?? this.d.myNumberMacs.version;
      const k = this.keyed(r, review.mac);
      await lockRegistrationKeys(db, lockKeysOf(k));
      const now = this.d.clock.now().toISOString();
      const owners = await findCandidates(db, { mac: k.mac, identifiers: k.identifiers, demoKeys: [] });
      let out: { patientId: string; medicalId: string | undefined; status: Resolution['status'] };
      if (choice.kind === 'new-person') {
        // The numbers name one person: a number bound since the hold is that person's.
        if (owners.length > 0)
          throw refusal(
            'conflict',
            owners.some((c) => c.via === 'my-number') ? 'review.my-number-taken' : 'review.identifier-taken',
            'A number or the My Number of the held record belongs to a registered person now: bind the record to that person',
            'new-person',
          );
        const created = await this.createPerson(tx, k, now, macVersion);
        out = { patientId: created.patientId as string, medicalId: created.medicalId, status: 'created' };
      } else {
        const person = await this.bindablePerson(tx, choice.patientId, task, org);
        const other = owners.find((c) => c.person.patientId !== person.patientId);
        if (other)
          throw refusal(
            'conflict',
            other.via === 'my-number' ? 'review.my-number-taken' : 'review.identifier-taken',
            `A number or the My Number of the held record belongs to another registered person than Patient/${person.patientId}`,
            'person',
          );
        if (k.mac && !owners.some((c) => c.via === 'my-number') && (await hasMyNumber(db, person.patientId)))
          throw refusal(
            'conflict',
            'review.my-number-differs',
            `Patient/${person.patientId} is registered with another My Number than the held record's: they are different persons`,
            'person',
          );
        const current = JSON.parse((await repo.read('Patient', person.patientId)).content as string) as Patient;
        const next = choice.apply === 'record' ? applyRecord(current, r, now.slice(0, 10)) : withIdentifiers(current, r);
        const { changed, patient } = await this.applyToPerson(tx, person, current, next, k, now, {
          demographics: choice.apply === 'record',
          macVersion,
        });
        out = {
          patientId: person.patientId,
          medicalId: activeMedicalId(patient, this.d.medicalIdSystem),
          status: changed ? 'updated' : 'unchanged',
        };
      }
      const resolution = choice.kind === 'new-person' ? 'new-person' : 'person';
      if (!(await markReviewResolved(db, taskId, { patientId: out.patientId, resolution, at: now })))
        throw new Error('a locked review was resolved by someone else');
      const { stored } = await repo.update('Task', taskId, resolvedTask(task, { patientId: out.patientId, resolution, at: now }), {
        trusted: true,
      });
      return { ...out, task: stored.content as string };
    });
  }

  /** The registered person a review may bind to, for this caller (see resolve); refused naming the rule otherwise. */
  private async bindablePerson(tx: UnitOfWork, patientId: string, task: Task, org: Organization | undefined): Promise<PersonRow> {
    const person = await personByPatientId(tx.db, patientId, true);
    if (org?.kind === 'insurer') {
      // One answer whether the person exists or not: the refusal says nothing about persons out of reach.
      const own =
        person !== undefined && candidatesOf(task).includes(patientId) && (await personHasPayer(tx.db, person.personKey, org.code));
      if (!own)
        throw refusal(
          'forbidden',
          'review.insurer-own-member',
          `Insurer ${org.code} binds a held record only to one of the Task's candidates that it insures; another person is the authority's to bind`,
          'person',
        );
    }
    if (!person) throw refusal('unprocessable', 'review.person-unknown', `Patient/${patientId} is not a registered person`, 'person');
    if (person.status !== 'active')
      throw refusal(
        'conflict',
        'review.person-not-active',
        `Patient/${patientId} is ${person.status}${person.status === 'merged' ? ': bind the record to the person it was merged into' : ''}`,
        'person',
      );
    return person;
  }
}

/** A refusal of one record as its result (an OperationOutcome error's first issue); an outage or a bug fails the call. */
function errorResult(r: RegistrationRecord, e: unknown): RegistrationResult {
  if (!isOutcomeError(e) || isUnavailable(e)) throw e;
  const i = e.outcome.issue?.[0];
  return {
    record: r.record,
    status: 'error',
    issues: [
      {
        expression: i?.expression?.[0] ?? 'record',
        rule:
          i?.details?.coding?.find((c) => c.system === SYSTEMS.medidErrorRule)?.code ?? i?.details?.coding?.[0]?.code ?? i?.code ?? 'error',
        text: i?.details?.text ?? 'refused',
      },
    ],
  };
}
