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
import type { Organization } from '../auth/principal.ts';
import type { Clock } from '../clock.ts';
import { MEDID_CANONICAL } from '../fhir/canonical.ts';
import { errors, isOutcomeError } from '../fhir/outcome.ts';
import { issueUnusedMedicalId } from '../identifiers/medical-id.ts';
import { ID_SYSTEMS } from '../identifiers/systems.ts';
import type { MyNumberMac } from '../privacy/my-number-mac.ts';
import { MY_NUMBER_MAC_VERSION } from '../privacy/my-number-mac.ts';
import type { Repository } from '../repo/repository.ts';
import type { Db } from '../store/db.ts';
import { bindMyNumber } from '../store/my-number.ts';
import { insertReview, reviewByKey } from '../store/registry-merge.ts';
import { bindIdentifiers, findCandidates, insertPerson, lockRegistrationKeys, updatePerson } from '../store/registry.ts';
import type { Candidate, PersonIdentifierRow, PersonRow } from '../store/registry.ts';
import { applyRecord, demographicKey, newPatient, patientFromRecord } from './patient.ts';
import { closeMismatchTasks } from '../eligibility/mismatch.ts';
import { createNewPersons, lockKeysOf } from './bulk.ts';
import type { KeyedRecord } from './bulk.ts';
import type { RecordIssue, RecordResult, RegistrationRecord } from './record.ts';

export const REVIEW_KEY_SYSTEM = `${MEDID_CANONICAL}/sid/registration-review`;
export const REGISTRY_TASK_SYSTEM = `${MEDID_CANONICAL}/CodeSystem/registry-task`;

export type RegistrationStatus = 'created' | 'updated' | 'unchanged' | 'review' | 'error';

export interface RegistrationResult {
  record: string | undefined;
  status: RegistrationStatus;
  patientId?: string;
  medicalId?: string;
  taskId?: string;
  issues: RecordIssue[];
}

export interface RegistrarDeps {
  repo: Repository;
  mac: MyNumberMac;
  clock: Clock;
  medicalIdSystem: string;
  /** Draws a medical ID (tests inject collisions). */
  drawMedicalId?: () => string;
  /** Told when a batch could not take the set-based path (it then runs record by record). */
  onBulkFallback?: (err: unknown) => void;
}

/** Records per set-based transaction: bounds the advisory locks one transaction holds (~3 per record). */
export const BULK_CHUNK = 200;

/** Which organization may submit a record: an insurer its own members; the authority anyone. */
export function assertMaySubmit(org: Organization | undefined, r: RegistrationRecord): void {
  if (org === undefined || org.kind === 'authority') return;
  if (org.kind !== 'insurer') throw errors.forbidden('Only insurers and the authority register insured persons');
  const payers = [r.insuredMemberId?.insurerNumber, r.publicPayerMemberId?.payerNumber].filter((x): x is string => x !== undefined);
  if (payers.length === 0 || payers.some((p) => p !== org.code)) {
    throw errors.forbidden(`Insurer ${org.code} may register only its own members (the record names ${payers.join(', ') || 'no insurer'})`);
  }
}

type Decision = { kind: 'new' } | { kind: 'existing'; person: PersonRow } | { kind: 'review'; reason: string; candidates: PersonRow[] };

/** The decision rule, on the candidates found under lock. */
export function decide(r: RegistrationRecord, cands: readonly Candidate[], birthDateOf: (p: PersonRow) => string | undefined): Decision {
  const byId = new Map<string, Candidate>();
  for (const c of cands) if (c.via !== 'demographics') byId.set(c.person.patientId, c);
  if (byId.size > 1) return { kind: 'review', reason: 'The My Number and the insured numbers of this record point to different persons', candidates: [...byId.values()].map((c) => c.person) };
  const linked = [...byId.values()][0];
  if (linked) {
    const p = linked.person;
    const byMyNumber = cands.some((c) => c.via === 'my-number');
    if (r.myNumber !== undefined && !byMyNumber && linked.hasMyNumber) {
      return { kind: 'review', reason: 'The insured number names a person registered with a different My Number', candidates: [p] };
    }
    if (!byMyNumber && birthDateOf(p) !== r.birthDate) {
      return { kind: 'review', reason: 'The insured number names a person with a different birth date', candidates: [p] };
    }
    return { kind: 'existing', person: p };
  }
  const namesakes = cands.filter((c) => c.via === 'demographics');
  if (namesakes.length === 0) return { kind: 'new' };
  // Both have a My Number and they differ (the record's matched nobody): different persons.
  if (r.myNumber !== undefined && namesakes.every((c) => c.hasMyNumber)) return { kind: 'new' };
  return {
    kind: 'review', reason: `Same kana name, birth date and sex as ${namesakes.length === 1 ? 'a registered person' : `${namesakes.length} registered persons`}, and no identifier in common`,
    candidates: namesakes.map((c) => c.person),
  };
}

export class Registrar {
  private readonly d: RegistrarDeps;

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

  private async registerChunk(records: readonly RecordResult[], positions: readonly number[], org: Organization | undefined, out: RegistrationResult[]): Promise<void> {
    const keyed: { pos: number; k: KeyedRecord }[] = [];
    for (const pos of positions) {
      const rr = records[pos];
      if (!rr.ok) out[pos] = { record: rr.record, status: 'error', issues: rr.issues };
      else {
        try {
          assertMaySubmit(org, rr.record);
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
        const done = await this.d.repo.transaction((repo) => createNewPersons(repo, keyed.map((x) => x.k), { medicalIdSystem: this.d.medicalIdSystem, now, drawMedicalId: this.d.drawMedicalId }));
        for (const [i, r] of done.created) out[(keyed[i]).pos] = r;
        rest = done.rest;
      } catch (e) {
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
      assertMaySubmit(org, r);
      return await this.d.repo.transaction((repo) => this.registerIn(repo, r, org));
    } catch (e) {
      return errorResult(r, e);
    }
  }

  private keyed(r: RegistrationRecord): KeyedRecord {
    return { record: r, mac: r.myNumber === undefined ? undefined : this.d.mac.mac(r.myNumber), identifiers: personIdentifiers(r), demoKey: demographicKey(r) };
  }

  private async registerIn(repo: Repository, r: RegistrationRecord, org: Organization | undefined): Promise<RegistrationResult> {
    const db = repo.db;
    const now = this.d.clock.now().toISOString();
    const k = this.keyed(r);
    const { mac, identifiers: ids, demoKey } = k;
    await lockRegistrationKeys(db, lockKeysOf(k));
    const cands = await findCandidates(db, { mac, identifiers: ids, demoKey });
    const patients = new Map<string, Patient>();
    for (const c of cands) {
      if (c.via !== 'demographics' && !patients.has(c.person.patientId)) patients.set(c.person.patientId, JSON.parse((await repo.read('Patient', c.person.patientId)).content as string) as Patient);
    }
    const decision = decide(r, cands, (p) => patients.get(p.patientId)?.birthDate);
    if (decision.kind === 'review') return this.holdForReview(repo, r, mac, decision.reason, decision.candidates, org, now);
    if (decision.kind === 'new') return this.createPerson(repo, r, mac, ids, demoKey, now);
    const person = decision.person;
    if (person.status !== 'active') {
      // A deceased or retired person's record is not applied (nor held: a re-import is normal).
      return { record: r.record, status: 'unchanged', patientId: person.patientId, issues: [{ expression: 'record', rule: 'registry.person-not-active', text: `The person is ${person.status}; the record was not applied` }] };
    }
    const current = patients.get(person.patientId) as Patient;
    const updated = applyRecord(current, r, now.slice(0, 10));
    const res = await repo.update('Patient', person.patientId, updated, { trusted: true });
    const conflicts = await bindIdentifiers(db, person.kid, ids);
    if (conflicts.length > 0) throw errors.conflict(`Identifier ${conflicts.join(', ')} belongs to another person`, 'business-rule');
    if (mac) await this.bindMac(db, mac, person.patientId);
    if (person.demoKey !== demoKey) await updatePerson(db, person.kid, { demoKey }, now);
    const changed = res.stored.versionId !== Number(current.meta?.versionId);
    // A corrected record answers the point-of-care mismatches raised against it.
    if (changed) await closeMismatchTasks(repo, person.patientId, now);
    return { record: r.record, status: changed ? 'updated' : 'unchanged', patientId: person.patientId, medicalId: activeMedicalId(updated, this.d.medicalIdSystem), issues: [] };
  }

  private async createPerson(repo: Repository, r: RegistrationRecord, mac: Buffer | undefined, ids: PersonIdentifierRow[], demoKey: string, now: string): Promise<RegistrationResult> {
    const kid = crypto.randomBytes(16);
    const patientId = crypto.randomUUID();
    const mid = await issueUnusedMedicalId((m) => insertPerson(repo.db, { kid, patientId, demoKey, mid: m, at: now }), this.d.drawMedicalId);
    await repo.create('Patient', newPatient(patientId, r, { system: this.d.medicalIdSystem, value: mid, start: now.slice(0, 10) }), { id: patientId, trusted: true });
    const conflicts = await bindIdentifiers(repo.db, kid, ids);
    if (conflicts.length > 0) throw errors.conflict(`Identifier ${conflicts.join(', ')} belongs to another person`, 'business-rule');
    if (mac) await this.bindMac(repo.db, mac, patientId);
    return { record: r.record, status: 'created', patientId, medicalId: mid, issues: [] };
  }

  private async bindMac(db: Db, mac: Buffer, patientId: string): Promise<void> {
    const owner = await bindMyNumber(db, mac, MY_NUMBER_MAC_VERSION, patientId);
    if (owner !== patientId) throw errors.conflict('This My Number is already registered to another person', 'my-number-conflict');
  }

  /** A Task for the authority's staff; re-submitting the same record finds the same Task. */
  private async holdForReview(repo: Repository, r: RegistrationRecord, mac: Buffer | undefined, reason: string, candidates: PersonRow[], org: Organization | undefined, now: string): Promise<RegistrationResult> {
    const { myNumber: _dropped, ...rest } = r;
    const recordKey = crypto.createHash('sha256').update(JSON.stringify(rest)).update(mac ?? Buffer.alloc(0)).digest('hex');
    const existing = await reviewByKey(repo.db, recordKey);
    const base = { record: r.record, status: 'review' as const, issues: [{ expression: 'record', rule: 'registry.review', text: reason }] };
    if (existing) return { ...base, taskId: existing };
    const proposed = { ...patientFromRecord({ ...r, myNumber: undefined }), id: 'proposed' };
    const task: Task = {
      resourceType: 'Task', status: 'requested', intent: 'proposal', priority: 'routine',
      identifier: [{ system: REVIEW_KEY_SYSTEM, value: recordKey }],
      code: { coding: [{ system: REGISTRY_TASK_SYSTEM, code: 'registration-review', display: 'Registration held for review' }] },
      description: reason, authoredOn: now,
      ...(org ? { requester: { identifier: { system: org.kind === 'insurer' ? ID_SYSTEMS.insurerNumber : `${MEDID_CANONICAL}/sid/organization`, value: org.code } } } : {}),
      ...(candidates.length === 1 && candidates[0] ? { for: { reference: `Patient/${candidates[0].patientId}` } } : {}),
      contained: [proposed],
      input: [
        { type: { text: 'proposed' }, valueReference: { reference: '#proposed' } },
        ...(mac ? [{ type: { text: 'my-number' }, valueString: 'given (kept as a keyed MAC with the review)' }] : []),
        ...candidates.map((c) => ({ type: { text: 'candidate' }, valueReference: { reference: `Patient/${c.patientId}` } })),
      ],
    };
    const { stored } = await repo.create('Task', task);
    await insertReview(repo.db, stored.id, recordKey, mac);
    return { ...base, taskId: stored.id };
  }
}

/** A refusal of one record as its result (an OperationOutcome error's first issue). */
function errorResult(r: RegistrationRecord, e: unknown): RegistrationResult {
  if (!isOutcomeError(e)) throw e;
  const i = e.outcome.issue?.[0];
  return { record: r.record, status: 'error', issues: [{ expression: i?.expression?.[0] ?? 'record', rule: i?.details?.coding?.[0]?.code ?? i?.code ?? 'error', text: i?.details?.text ?? 'refused' }] };
}

/** The registry rows a record's numbers become. */
export function personIdentifiers(r: RegistrationRecord): PersonIdentifierRow[] {
  const period = { periodStart: r.validFrom ?? null, periodEnd: r.validTo ?? null };
  return [
    ...(r.insuredMemberId ? [{ system: ID_SYSTEMS.insuredMemberId, value: r.insuredMemberId.value, payer: r.insuredMemberId.insurerNumber, ...period }] : []),
    ...(r.publicPayerMemberId ? [{ system: ID_SYSTEMS.publicPayerMemberId, value: r.publicPayerMemberId.value, payer: r.publicPayerMemberId.payerNumber, ...period }] : []),
  ];
}

export function activeMedicalId(p: Patient, system: string): string | undefined {
  return p.identifier?.find((i) => i.system === system && i.use !== 'old')?.value;
}
