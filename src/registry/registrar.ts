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
import { ID_SYSTEMS, SYSTEMS } from '../core/systems.ts';
import { issueUnusedMedicalId } from '../identifiers/medical-id.ts';
import type { UnitOfWork } from '../repo/unit-of-work.ts';
import type { Db } from '../store/db.ts';
import { bindMyNumber } from '../store/my-number.ts';
import { bindIdentifiers, findCandidates, insertPerson, lockRegistrationKeys, updatePerson } from '../store/persons.ts';
import type { PersonIdentifierRow, PersonRow } from '../store/persons.ts';
import { insertReview, reviewByKey } from '../store/reviews.ts';
import { createNewPersons, lockKeysOf } from './bulk.ts';
import type { KeyedRecord } from './bulk.ts';
import { activeMedicalId, identifyPerson, personIdentifiers } from './identify.ts';
import { applyRecord, demographicKey, newPatient, patientFromRecord } from './patient.ts';
import type { RecordResult, RegistrationRecord, RegistrationResult } from './record.ts';

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
}

/** Records per set-based transaction: bounds the advisory locks one transaction holds (~3 per record). */
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

  private keyed(r: RegistrationRecord): KeyedRecord {
    return {
      record: r,
      mac: r.myNumber === undefined ? undefined : this.d.myNumberMacs.mac(r.myNumber),
      identifiers: personIdentifiers(r),
      demoKey: demographicKey(r),
    };
  }

  private async registerIn(tx: UnitOfWork, r: RegistrationRecord, org: Organization | undefined): Promise<RegistrationResult> {
    const { db, resources: repo } = tx;
    const now = this.d.clock.now().toISOString();
    const k = this.keyed(r);
    const { mac, identifiers: ids, demoKey } = k;
    await lockRegistrationKeys(db, lockKeysOf(k));
    const cands = await findCandidates(db, { mac, identifiers: ids, demoKey });
    const patients = new Map<string, Patient>();
    for (const c of cands) {
      if (c.via !== 'demographics' && !patients.has(c.person.patientId))
        patients.set(c.person.patientId, JSON.parse((await repo.read('Patient', c.person.patientId)).content as string) as Patient);
    }
    const decision = identifyPerson(r, cands, (p) => patients.get(p.patientId)?.birthDate);
    if (decision.kind === 'review') return this.holdForReview(tx, r, mac, decision.reason, decision.candidates, org, now);
    if (decision.kind === 'new') return this.createPerson(tx, r, mac, ids, demoKey, now);
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
    const updated = applyRecord(current, r, now.slice(0, 10));
    const res = await repo.update('Patient', person.patientId, updated, { trusted: true });
    const conflicts = await bindIdentifiers(db, person.personKey, ids);
    if (conflicts.length > 0) throw errors.conflict(`Identifier ${conflicts.join(', ')} belongs to another person`, 'business-rule');
    if (mac) await this.bindMac(db, mac, person.patientId);
    if (person.demoKey !== demoKey) await updatePerson(db, person.personKey, { demoKey }, now);
    const changed = res.stored.versionId !== Number(current.meta?.versionId);
    if (changed) await this.personCorrected.emit({ tx, patientId: person.patientId, at: now });
    return {
      record: r.record,
      status: changed ? 'updated' : 'unchanged',
      patientId: person.patientId,
      medicalId: activeMedicalId(updated, this.d.medicalIdSystem),
      issues: [],
    };
  }

  private async createPerson(
    tx: UnitOfWork,
    r: RegistrationRecord,
    mac: Buffer | undefined,
    ids: PersonIdentifierRow[],
    demoKey: string,
    now: string,
  ): Promise<RegistrationResult> {
    const personKey = crypto.randomBytes(16);
    const patientId = crypto.randomUUID();
    const mid = await issueUnusedMedicalId(
      (m) => insertPerson(tx.db, { personKey, patientId, demoKey, mid: m, at: now }),
      this.d.drawMedicalId,
    );
    await tx.resources.create(
      'Patient',
      newPatient(patientId, r, { system: this.d.medicalIdSystem, value: mid, start: now.slice(0, 10) }),
      { id: patientId, trusted: true },
    );
    const conflicts = await bindIdentifiers(tx.db, personKey, ids);
    if (conflicts.length > 0) throw errors.conflict(`Identifier ${conflicts.join(', ')} belongs to another person`, 'business-rule');
    if (mac) await this.bindMac(tx.db, mac, patientId);
    return { record: r.record, status: 'created', patientId, medicalId: mid, issues: [] };
  }

  private async bindMac(db: Db, mac: Buffer, patientId: string): Promise<void> {
    const owner = await bindMyNumber(db, mac, this.d.myNumberMacs.version, patientId);
    if (owner !== patientId) throw errors.conflict('This My Number is already registered to another person', 'my-number-conflict');
  }

  /** A Task for the authority's staff; re-submitting the same record finds the same Task. */
  private async holdForReview(
    tx: UnitOfWork,
    r: RegistrationRecord,
    mac: Buffer | undefined,
    reason: string,
    candidates: PersonRow[],
    org: Organization | undefined,
    now: string,
  ): Promise<RegistrationResult> {
    const { myNumber: _dropped, ...rest } = r;
    const recordKey = crypto
      .createHash('sha256')
      .update(JSON.stringify(rest))
      .update(mac ?? Buffer.alloc(0))
      .digest('hex');
    const existing = await reviewByKey(tx.db, recordKey);
    const base = { record: r.record, status: 'review' as const, issues: [{ expression: 'record', rule: 'registry.review', text: reason }] };
    if (existing) return { ...base, taskId: existing };
    const proposed = { ...patientFromRecord({ ...r, myNumber: undefined }), id: 'proposed' };
    const task: Task = {
      resourceType: 'Task',
      status: 'requested',
      intent: 'proposal',
      priority: 'routine',
      identifier: [{ system: ID_SYSTEMS.registrationReview, value: recordKey }],
      code: { coding: [{ system: SYSTEMS.registryTask, code: 'registration-review', display: 'Registration held for review' }] },
      description: reason,
      authoredOn: now,
      ...(org
        ? {
            requester: {
              identifier: { system: org.kind === 'insurer' ? ID_SYSTEMS.insurerNumber : ID_SYSTEMS.organization, value: org.code },
            },
          }
        : {}),
      ...(candidates.length === 1 && candidates[0] ? { for: { reference: `Patient/${candidates[0].patientId}` } } : {}),
      contained: [proposed],
      input: [
        { type: { text: 'proposed' }, valueReference: { reference: '#proposed' } },
        ...(mac ? [{ type: { text: 'my-number' }, valueString: 'given (kept as a keyed MAC with the review)' }] : []),
        ...candidates.map((c) => ({ type: { text: 'candidate' }, valueReference: { reference: `Patient/${c.patientId}` } })),
      ],
    };
    const { stored } = await tx.resources.create('Task', task);
    await insertReview(tx.db, stored.id, recordKey, mac);
    return { ...base, taskId: stored.id };
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
        rule: i?.details?.coding?.[0]?.code ?? i?.code ?? 'error',
        text: i?.details?.text ?? 'refused',
      },
    ],
  };
}
