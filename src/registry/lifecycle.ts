/**
 * The life of a medical ID after issuance (R6, R7, privacy-design.md §3): a change on request,
 * death and retirement after a retention period, merges of duplicates found later and their
 * undo. Each step is one transaction that moves the registry rows and writes new versions of
 * the Patient resources (so history shows every step, and the audit hook records each write).
 * No medical ID is ever deleted or issued again: the rows stay, only their status moves.
 */
import type { Identifier, Patient } from '@medplum/fhirtypes';
import type { Clock } from '../clock.ts';
import { errors } from '../fhir/outcome.ts';
import { issueUnusedMedicalId } from '../identifiers/medical-id.ts';
import type { Repository } from '../repo/repository.ts';
import { hasMyNumber, insertMerge, markMergeFinal, markMergeUndone, mergesToFinalize, moveMyNumber, openMergeOf } from '../store/registry-merge.ts';
import {
  endActiveMedicalId, identifiersOf, issueMedicalId, moveIdentifiers, personByKid, personByPatientId, personsToRetire, retireMedicalIds, updatePerson,
} from '../store/registry.ts';
import type { PersonRow } from '../store/registry.ts';

export interface LifecycleDeps {
  repo: Repository;
  clock: Clock;
  medicalIdSystem: string;
  /** Days a deceased person's ID stays usable for research before it is retired. */
  deathRetentionDays: number;
  /** Days within which a merge can be undone. */
  mergeUndoDays: number;
  drawMedicalId?: () => string;
}

const DAY_MS = 86_400_000;
const addDays = (day: string, n: number): string => new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);

async function person(repo: Repository, patientId: string, what: string): Promise<PersonRow> {
  const p = await personByPatientId(repo.db, patientId, true);
  if (!p) throw errors.notFound(`${what} Patient/${patientId} is not a registered person`);
  return p;
}

function assertActive(p: PersonRow, what: string): void {
  if (p.status !== 'active') throw errors.conflict(`${what} Patient/${p.patientId} is ${p.status}`, 'business-rule');
}

async function patientOf(repo: Repository, id: string): Promise<Patient> {
  return JSON.parse((await repo.read('Patient', id)).content as string) as Patient;
}

/** Marks the person's current medical ID identifiers old, ending them on `day`. */
function endMedicalIds(ids: Identifier[] | undefined, system: string, day: string): Identifier[] {
  return (ids ?? []).map((i) => (i.system === system && i.use !== 'old' ? { ...i, use: 'old', period: { ...i.period, end: day } } : i));
}

export interface MergeResult { source: Patient; target: Patient; mergeId: number | undefined }

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
    return this.d.repo.transaction(async (repo) => {
      const p = await person(repo, patientId, 'The');
      assertActive(p, 'The');
      const { at, day } = this.now();
      const old = await endActiveMedicalId(repo.db, p.kid, 'replaced', at);
      if (!old) throw errors.conflict(`Patient/${patientId} has no active medical ID`, 'business-rule');
      const mid = await issueUnusedMedicalId((m) => issueMedicalId(repo.db, p.kid, m, at), this.d.drawMedicalId);
      const current = await patientOf(repo, patientId);
      const next: Patient = {
        ...current,
        identifier: [{ use: 'official', system: this.d.medicalIdSystem, value: mid, period: { start: day } }, ...endMedicalIds(current.identifier, this.d.medicalIdSystem, day)],
      };
      const { stored } = await repo.update('Patient', patientId, next, { trusted: true });
      return { old, new: mid, patient: JSON.parse(stored.content as string) as Patient };
    });
  }

  /** R7: records a death; the ID stays usable for research until the retention ends. */
  recordDeath(patientId: string, date: string): Promise<Patient> {
    return this.d.repo.transaction(async (repo) => {
      const p = await person(repo, patientId, 'The');
      if (p.status === 'deceased' && p.deceasedOn === date) return patientOf(repo, patientId);
      assertActive(p, 'The');
      const { at } = this.now();
      await updatePerson(repo.db, p.kid, { status: 'deceased', deceasedOn: date, retireAfter: addDays(date, this.d.deathRetentionDays) }, at);
      const current = await patientOf(repo, patientId);
      const { stored } = await repo.update('Patient', patientId, { ...current, deceasedDateTime: date });
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
    for (const p of await personsToRetire(this.d.repo.db, day, limit)) {
      await this.d.repo.transaction(async (repo) => {
        await retireMedicalIds(repo.db, p.kid, at);
        await updatePerson(repo.db, p.kid, { status: 'retired' }, at);
        const current = await patientOf(repo, p.patientId);
        await repo.update('Patient', p.patientId, { ...current, active: false, identifier: endMedicalIds(current.identifier, this.d.medicalIdSystem, day) });
      });
      retired++;
    }
    let finalized = 0;
    for (const m of await mergesToFinalize(this.d.repo.db, at, limit)) {
      await this.d.repo.transaction(async (repo) => {
        await retireMedicalIds(repo.db, m.sourceKid, at);
        await markMergeFinal(repo.db, m.id, at);
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
    if (sourceId === targetId) throw errors.unprocessable('source-patient and target-patient are the same Patient', 'business-rule', 'source-patient');
    try {
      return await this.d.repo.transaction(async (repo) => {
        const [first, second] = [sourceId, targetId].sort();
        await person(repo, first, 'The');
        await person(repo, second, 'The');
        const src = await person(repo, sourceId, 'source-patient');
        const tgt = await person(repo, targetId, 'target-patient');
        assertActive(src, 'source-patient');
        assertActive(tgt, 'target-patient');
        const srcHasMn = await hasMyNumber(repo.db, sourceId);
        if (srcHasMn && (await hasMyNumber(repo.db, targetId))) {
          throw errors.conflict('Both persons are registered with a My Number: they are different persons and cannot be merged', 'business-rule');
        }
        const { at, day } = this.now();
        const source = await patientOf(repo, sourceId);
        const target = await patientOf(repo, targetId);
        const moved = (await identifiersOf(repo.db, src.kid)).map((i) => ({ system: i.system, value: i.value }));
        await moveIdentifiers(repo.db, src.kid, tgt.kid, moved);
        if (srcHasMn) await moveMyNumber(repo.db, sourceId, targetId);
        await updatePerson(repo.db, src.kid, { status: 'merged', mergedInto: tgt.kid }, at);
        const carried = (source.identifier ?? []).filter((i) => !(target.identifier ?? []).some((t) => t.system === i.system && t.value === i.value))
          .map((i) => (i.system === this.d.medicalIdSystem ? { ...i, use: 'old' as const, period: { ...i.period, end: i.period?.end ?? day } } : i));
        const demographics = opts.result ? pickDemographics(opts.result) : {};
        const nextTarget: Patient = {
          ...target, ...demographics, identifier: [...(target.identifier ?? []), ...carried],
          link: [...(target.link ?? []), { other: { reference: `Patient/${sourceId}` }, type: 'replaces' }],
        };
        const nextSource: Patient = { ...source, active: false, link: [...(source.link ?? []), { other: { reference: `Patient/${targetId}` }, type: 'replaced-by' }] };
        const t = await repo.update('Patient', targetId, nextTarget);
        const s = await repo.update('Patient', sourceId, nextSource);
        const result = { source: JSON.parse(s.stored.content as string) as Patient, target: JSON.parse(t.stored.content as string) as Patient, mergeId: undefined };
        if (opts.preview) throw new Preview(result);
        const mergeId = await insertMerge(repo.db, {
          sourceKid: src.kid, targetKid: tgt.kid, sourceVersion: Number(source.meta?.versionId), targetVersion: Number(target.meta?.versionId),
          targetResult: t.stored.versionId, moved, movedMyNumber: srcHasMn, undoUntil: new Date(Date.parse(at) + this.d.mergeUndoDays * DAY_MS), mergedAt: at,
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
    return this.d.repo.transaction(async (repo) => {
      const src = await person(repo, sourceId, 'source-patient');
      if (src.status !== 'merged') throw errors.conflict(`Patient/${sourceId} is not merged`, 'business-rule');
      const m = await openMergeOf(repo.db, src.kid);
      if (!m) throw errors.conflict(`No open merge of Patient/${sourceId}`, 'business-rule');
      const { at } = this.now();
      if (Date.parse(at) > m.undoUntil.getTime()) throw errors.conflict(`The merge of Patient/${sourceId} can no longer be undone (window ended ${m.undoUntil.toISOString()})`, 'business-rule');
      const tgt = await personByKid(repo.db, m.targetKid);
      if (!tgt) throw new Error('merge target vanished');
      const targetNow = await repo.read('Patient', tgt.patientId);
      if (targetNow.versionId !== m.targetResult) {
        throw errors.conflict(`Patient/${tgt.patientId} changed after the merge (version ${targetNow.versionId}); undo it by hand`, 'business-rule');
      }
      await moveIdentifiers(repo.db, m.targetKid, m.sourceKid, m.moved);
      if (m.movedMyNumber) await moveMyNumber(repo.db, tgt.patientId, sourceId);
      await updatePerson(repo.db, src.kid, { status: 'active', mergedInto: null }, at);
      await markMergeUndone(repo.db, m.id, at);
      const restore = async (id: string, version: number): Promise<Patient> => {
        const old = JSON.parse((await repo.vread('Patient', id, String(version))).content as string) as Patient;
        const { stored } = await repo.update('Patient', id, old);
        return JSON.parse(stored.content as string) as Patient;
      };
      return { target: await restore(tgt.patientId, m.targetVersion), source: await restore(sourceId, m.sourceVersion), mergeId: m.id };
    });
  }
}

/** The elements a $merge result-patient may set on the target (identifiers are the registry's). */
function pickDemographics(p: Patient): Partial<Patient> {
  const out: Partial<Patient> = {};
  for (const k of ['name', 'telecom', 'address', 'gender', 'birthDate'] as const) if (p[k] !== undefined) (out as Record<string, unknown>)[k] = p[k];
  return out;
}
