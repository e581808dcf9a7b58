/**
 * Keeps mpi.features and mpi.block in step with Patients: a repository write hook, so every
 * create, update, delete, registration (also the bulk path: one statement per batch) and merge
 * updates them in the write's own transaction. A Patient replaced by another (a merge's
 * source) leaves the match index.
 */
import type { Patient, Resource } from '@medplum/fhirtypes';
import type { AfterWrite } from '../repo/repository.ts';
import { replaceMatchRows } from '../store/mpi.ts';
import type { IndexedPatient } from '../store/mpi.ts';
import { blockingKeys, featuresOf } from './features.ts';

export function isReplaced(p: Patient): boolean {
  return (p.link ?? []).some((l) => l.type === 'replaced-by');
}

export function matchRowsOf(p: Patient & { id: string }): IndexedPatient {
  const f = featuresOf(p);
  return { patientId: p.id, features: f, keys: blockingKeys(f) };
}

export const mpiIndexHook: AfterWrite = async (db, changes) => {
  const rows: IndexedPatient[] = [];
  const removed: string[] = [];
  for (const c of changes) {
    if (c.stored.resourceType !== 'Patient') continue;
    const p = c.resource as (Resource & Patient) | undefined;
    if (c.action === 'delete' || !p || isReplaced(p)) removed.push(c.stored.id);
    else rows.push(matchRowsOf({ ...p, id: c.stored.id }));
  }
  await replaceMatchRows(db, rows, removed);
};
