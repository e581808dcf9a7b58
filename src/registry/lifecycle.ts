/**
 * The life of a medical ID after issuance (R6, R7, privacy-design.md §3): a change on request,
 * death and retirement after a retention period, merges of duplicates found later and their
 * undo. Each step is one transaction that moves the registry rows and writes new versions of
 * the Patient resources (so history shows every step, and the audit hook records each write).
 * No medical ID is ever deleted or issued again: the rows stay, only their status moves.
 */
import crypto from 'node:crypto';
import type { Identifier, Patient } from '@medplum/fhirtypes';
import type { Clock } from '../core/clock.ts';
import { errors } from '../core/outcome.ts';
import { issueUnusedMedicalId } from '../identifiers/medical-id.ts';
import type { UnitOfWork } from '../repo/unit-of-work.ts';
import { insertLinkageBreak, keysMergedInto, replacePersonKey } from '../store/linkage-breaks.ts';
import { insertMerge, markMergeFinal, markMergeUndone, mergesToFinalize, openMergeOf } from '../store/merges.ts';
import { hasMyNumber, moveMyNumber } from '../store/my-number.ts';
import {
  endActiveMedicalId,
  identifiersOf,
  issueMedicalId,
  moveIdentifiers,
  personByKey,
  personByPatientId,
  personsToRetire,
  retireMedicalIds,
  updatePerson,
} from '../store/persons.ts';
import type { PersonRow } from '../store/persons.ts';
import type { LinkSeal } from './sealed-link.ts';

export interface LifecycleDeps {
  uow: UnitOfWork;
  clock: Clock;
  medicalIdSystem: string;
  /** Days a deceased person's ID stays usable for research before it is retired. */
  deathRetentionDays: number;
  /** Days within which a merge can be undone. */
  mergeUndoDays: number;
  drawMedicalId?: () => string;
  /**
   * Seals the old→new link of a change that breaks linkage to the oversight key
   * (MEDID_BREAK_LINKAGE_LINK=sealed); absent, nothing of the link is kept (none).
   */
  sealLink?: LinkSeal;
}

const DAY_MS = 86_400_000;
const addDays = (day: string, n: number): string => new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);

async function person(tx: UnitOfWork, patientId: string, what: string): Promise<PersonRow> {
  const p = await personByPatientId(tx.db, patientId, true);
  if (!p) throw errors.notFound(`${what} Patient/${patientId} is not a registered person`);
  return p;
}

function assertActive(p: PersonRow, what: string): void {
  if (p.status !== 'active') throw errors.conflict(`${what} Patient/${p.patientId} is ${p.status}`, 'business-rule');
}

async function patientOf(tx: UnitOfWork, id: string): Promise<Patient> {
  return JSON.parse((await tx.resources.read('Patient', id)).content as string) as Patient;
}

/** Marks the person's current medical ID identifiers old, ending them on `day`. */
function endMedicalIds(ids: Identifier[] | undefined, system: string, day: string): Identifier[] {
  return (ids ?? []).map((i) => (i.system === system && i.use !== 'old' ? { ...i, use: 'old', period: { ...i.period, end: day } } : i));
}

export interface MergeResult {
  source: Patient;
  target: Patient;
  mergeId: number | undefined;
}

/** Thrown to roll a preview's transaction back, carrying what the merge would have written. */
class Preview extends Error {
  readonly result: MergeResult;

  constructor(result: MergeResult) {
    super('preview');
    this.result = result;
  }
}

export class Lifecycle {
  private readonly d: LifecycleDeps;

  constructor(d: LifecycleDeps) {
    this.d = d;
  }

  private now(): { at: string; day: string } {
    const at = this.d.clock.now().toISOString();
    return { at, day: at.slice(0, 10) };
  }

  /** R6 case 1 (lost or leaked card): a new medical ID, same person and KID; the old one stays `old`. */
  changeMedicalId(patientId: string): Promise<{ old: string; new: string; patient: Patient }> {
    return this.d.uow.transaction(async (tx) => {
      const p = await person(tx, patientId, 'The');
      assertActive(p, 'The');
      const { at, day } = this.now();
      const old = await endActiveMedicalId(tx.db, p.personKey, 'replaced', at);
      if (!old) throw errors.conflict(`Patient/${patientId} has no active medical ID`, 'business-rule');
      const mid = await issueUnusedMedicalId((m) => issueMedicalId(tx.db, p.personKey, m, at), this.d.drawMedicalId);
      const current = await patientOf(tx, patientId);
      const next: Patient = {
        ...current,
        identifier: [
          { use: 'official', system: this.d.medicalIdSystem, value: mid, period: { start: day } },
          ...endMedicalIds(current.identifier, this.d.medicalIdSystem, day),
        ],
      };
      const { stored } = await tx.resources.update('Patient', patientId, next, { trusted: true });
      return { old, new: mid, patient: JSON.parse(stored.content as string) as Patient };
    });
  }

  /**
   * R6 case 2 (special reasons, the authority's decision): breaks linkage. The person gets a new
   * key (KID) — replaced in place, so the old one names nobody and every domain pseudonym
   * changes — and a new medical ID; every earlier medical ID is retired and leaves the Patient
   * (as `use: old` it would lead from the old number to the new one). Persons merged into it get
   * new keys too. The decision is recorded with its note; the old→new link only sealed to the
   * oversight key, or not at all.
   */
  breakLinkage(patientId: string, note: string): Promise<{ old: string; new: string; patient: Patient; record: number; sealed: boolean }> {
    return this.d.uow.transaction(async (tx) => {
      const p = await person(tx, patientId, 'The');
      assertActive(p, 'The');
      const { at, day } = this.now();
      const old = await endActiveMedicalId(tx.db, p.personKey, 'retired', at);
      if (!old) throw errors.conflict(`Patient/${patientId} has no active medical ID`, 'business-rule');
      await retireMedicalIds(tx.db, p.personKey, at);
      // Duplicates merged into the person were linked to it by merge notices: their keys go too.
      const merged = (await keysMergedInto(tx.db, p.personKey)).map((oldKey) => ({ oldKey, newKey: crypto.randomBytes(16) }));
      const newKey = crypto.randomBytes(16);
      for (const k of [{ oldKey: p.personKey, newKey }, ...merged])
        if (!(await replacePersonKey(tx.db, k.oldKey, k.newKey, at))) throw new Error('a person vanished while its key was replaced');
      const mid = await issueUnusedMedicalId((m) => issueMedicalId(tx.db, newKey, m, at), this.d.drawMedicalId);
      const sealedLink = this.d.sealLink
        ? await this.d.sealLink({ patientId, oldKey: p.personKey, newKey, merged, date: day, reason: 'break-linkage' })
        : null;
      const record = await insertLinkageBreak(tx.db, { patientId, decidedOn: day, note, sealedLink });
      const current = await patientOf(tx, patientId);
      const next: Patient = {
        ...current,
        identifier: [
          { use: 'official', system: this.d.medicalIdSystem, value: mid, period: { start: day } },
          ...(current.identifier ?? []).filter((i) => i.system !== this.d.medicalIdSystem),
        ],
      };
      const { stored } = await tx.resources.update('Patient', patientId, next, { trusted: true });
      return { old, new: mid, patient: JSON.parse(stored.content as string) as Patient, record, sealed: sealedLink !== null };
    });
  }

  /** R7: records a death; the ID stays usable for research until the retention ends. */
  recordDeath(patientId: string, date: string): Promise<Patient> {
    return this.d.uow.transaction(async (tx) => {
      const p = await person(tx, patientId, 'The');
      if (p.status === 'deceased' && p.deceasedOn === date) return patientOf(tx, patientId);
      assertActive(p, 'The');
      const { at } = this.now();
      await updatePerson(
        tx.db,
        p.personKey,
        { status: 'deceased', deceasedOn: date, retireAfter: addDays(date, this.d.deathRetentionDays) },
        at,
      );
      const current = await patientOf(tx, patientId);
      const { stored } = await tx.resources.update('Patient', patientId, { ...current, deceasedDateTime: date });
      return JSON.parse(stored.content as string) as Patient;
    });
  }

  /**
   * Retires the IDs of persons whose post-mortem retention ended, and makes merges final whose
   * undo window closed (the merged-away person's IDs are retired). Run periodically.
   */
  async sweep(limit = 1000): Promise<{ retired: number; finalized: number }> {
    const { at, day } = this.now();
    let retired = 0;
    for (const p of await personsToRetire(this.d.uow.db, day, limit)) {
      await this.d.uow.transaction(async (tx) => {
        await retireMedicalIds(tx.db, p.personKey, at);
        await updatePerson(tx.db, p.personKey, { status: 'retired' }, at);
        const current = await patientOf(tx, p.patientId);
        await tx.resources.update('Patient', p.patientId, {
          ...current,
          active: false,
          identifier: endMedicalIds(current.identifier, this.d.medicalIdSystem, day),
        });
      });
      retired++;
    }
    let finalized = 0;
    for (const m of await mergesToFinalize(this.d.uow.db, at, limit)) {
      await this.d.uow.transaction(async (tx) => {
        await retireMedicalIds(tx.db, m.sourcePersonKey, at);
        await markMergeFinal(tx.db, m.id, at);
      });
      finalized++;
    }
    return { retired, finalized };
  }

  /**
   * Merges a duplicate (source) into the surviving person (target), in the FHIR R5 $merge
   * shape: the target gains the source's insured numbers (with their periods) and its medical
   * IDs as `use: old`, and `replaces` it; the source becomes inactive and `replaced-by` the
   * target. With `preview` nothing is written.
   */
  async merge(sourceId: string, targetId: string, opts: { preview?: boolean; result?: Patient } = {}): Promise<MergeResult> {
    if (sourceId === targetId)
      throw errors.unprocessable('source-patient and target-patient are the same Patient', 'business-rule', 'source-patient');
    try {
      return await this.d.uow.transaction(async (tx) => {
        const [first, second] = [sourceId, targetId].sort();
        await person(tx, first, 'The');
        await person(tx, second, 'The');
        const src = await person(tx, sourceId, 'source-patient');
        const tgt = await person(tx, targetId, 'target-patient');
        assertActive(src, 'source-patient');
        assertActive(tgt, 'target-patient');
        const srcHasMn = await hasMyNumber(tx.db, sourceId);
        if (srcHasMn && (await hasMyNumber(tx.db, targetId))) {
          throw errors.conflict(
            'Both persons are registered with a My Number: they are different persons and cannot be merged',
            'business-rule',
          );
        }
        const { at, day } = this.now();
        const source = await patientOf(tx, sourceId);
        const target = await patientOf(tx, targetId);
        const moved = (await identifiersOf(tx.db, src.personKey)).map((i) => ({ system: i.system, value: i.value }));
        await moveIdentifiers(tx.db, src.personKey, tgt.personKey, moved);
        if (srcHasMn) await moveMyNumber(tx.db, sourceId, targetId);
        await updatePerson(tx.db, src.personKey, { status: 'merged', mergedInto: tgt.personKey }, at);
        const carried = (source.identifier ?? [])
          .filter((i) => !(target.identifier ?? []).some((t) => t.system === i.system && t.value === i.value))
          .map((i) =>
            i.system === this.d.medicalIdSystem ? { ...i, use: 'old' as const, period: { ...i.period, end: i.period?.end ?? day } } : i,
          );
        const demographics = opts.result ? pickDemographics(opts.result) : {};
        const nextTarget: Patient = {
          ...target,
          ...demographics,
          identifier: [...(target.identifier ?? []), ...carried],
          link: [...(target.link ?? []), { other: { reference: `Patient/${sourceId}` }, type: 'replaces' }],
        };
        const nextSource: Patient = {
          ...source,
          active: false,
          link: [...(source.link ?? []), { other: { reference: `Patient/${targetId}` }, type: 'replaced-by' }],
        };
        const t = await tx.resources.update('Patient', targetId, nextTarget);
        const s = await tx.resources.update('Patient', sourceId, nextSource);
        const result = {
          source: JSON.parse(s.stored.content as string) as Patient,
          target: JSON.parse(t.stored.content as string) as Patient,
          mergeId: undefined,
        };
        if (opts.preview) throw new Preview(result);
        const mergeId = await insertMerge(tx.db, {
          sourcePersonKey: src.personKey,
          targetPersonKey: tgt.personKey,
          sourceVersion: Number(source.meta?.versionId),
          targetVersion: Number(target.meta?.versionId),
          targetResult: t.stored.versionId,
          moved,
          movedMyNumber: srcHasMn,
          undoUntil: new Date(Date.parse(at) + this.d.mergeUndoDays * DAY_MS),
          mergedAt: at,
        });
        return { ...result, mergeId };
      });
    } catch (e) {
      if (e instanceof Preview) return e.result;
      throw e;
    }
  }

  /** Undoes a merge within its window: both Patients return to their pre-merge content (as new versions). */
  unmerge(sourceId: string): Promise<MergeResult> {
    return this.d.uow.transaction(async (tx) => {
      const src = await person(tx, sourceId, 'source-patient');
      if (src.status !== 'merged') throw errors.conflict(`Patient/${sourceId} is not merged`, 'business-rule');
      const m = await openMergeOf(tx.db, src.personKey);
      if (!m) throw errors.conflict(`No open merge of Patient/${sourceId}`, 'business-rule');
      const { at } = this.now();
      if (Date.parse(at) > m.undoUntil.getTime())
        throw errors.conflict(
          `The merge of Patient/${sourceId} can no longer be undone (window ended ${m.undoUntil.toISOString()})`,
          'business-rule',
        );
      const tgt = await personByKey(tx.db, m.targetPersonKey);
      if (!tgt) throw new Error('merge target vanished');
      const targetNow = await tx.resources.read('Patient', tgt.patientId);
      if (targetNow.versionId !== m.targetResult) {
        throw errors.conflict(
          `Patient/${tgt.patientId} changed after the merge (version ${targetNow.versionId}); undo it by hand`,
          'business-rule',
        );
      }
      await moveIdentifiers(tx.db, m.targetPersonKey, m.sourcePersonKey, m.moved);
      if (m.movedMyNumber) await moveMyNumber(tx.db, tgt.patientId, sourceId);
      await updatePerson(tx.db, src.personKey, { status: 'active', mergedInto: null }, at);
      await markMergeUndone(tx.db, m.id, at);
      const restore = async (id: string, version: number): Promise<Patient> => {
        const old = JSON.parse((await tx.resources.vread('Patient', id, String(version))).content as string) as Patient;
        const { stored } = await tx.resources.update('Patient', id, old);
        return JSON.parse(stored.content as string) as Patient;
      };
      return { target: await restore(tgt.patientId, m.targetVersion), source: await restore(sourceId, m.sourceVersion), mergeId: m.id };
    });
  }
}

/** The elements a $merge result-patient may set on the target (identifiers are the registry's). */
function pickDemographics(p: Patient): Partial<Patient> {
  const out: Partial<Patient> = {};
  for (const k of ['name', 'telecom', 'address', 'gender', 'birthDate'] as const)
    if (p[k] !== undefined) (out as Record<string, unknown>)[k] = p[k];
  return out;
}
