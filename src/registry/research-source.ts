/**
 * What the registry hands the pseudonymized view and export (issue 16 items 3–4): persons
 * within a utilizing database's reach, with their keys, their Patient and the kinds and periods
 * of their numbers; and a person's service uses. The registry never sees the pseudonyms made
 * of them (the view composes the two in api/, the export job in app.ts).
 */
import type { RowAccess } from '../core/access.ts';
import type { Db } from '../store/db.ts';
import { researchPage, researchPerson, researchPersonsByKeys } from '../store/research.ts';
import type { ResearchRow } from '../store/research.ts';
import { serviceUseOf } from '../store/service-use.ts';
import type { ServiceUseRow } from '../store/service-use.ts';

export type { ResearchRow, ServiceUseRow };

function reachOf(access: RowAccess): Extract<RowAccess, { kind: 'limited' }>['person'] {
  // The view is only ever built for a limited caller: the authority reads identified data.
  if (access.kind !== 'limited' || !access.personTypes.includes('Patient'))
    throw new Error('research rows need a limited reach over Patient');
  return access.person;
}

export const researchRows = (db: Db, access: RowAccess, after: string, limit: number): Promise<ResearchRow[]> =>
  researchPage(db, reachOf(access), after, limit);

export const researchRowOf = (db: Db, access: RowAccess, kid: Buffer): Promise<ResearchRow | undefined> =>
  researchPerson(db, reachOf(access), kid);

export const serviceUsesOf = (db: Db, patientId: string): Promise<ServiceUseRow[]> => serviceUseOf(db, patientId);

/** Of these person keys, those research may see within `access` (for an authorized linkage). */
export const researchKeys = (db: Db, access: RowAccess, kids: readonly Buffer[]): Promise<{ patientId: string; kid: Buffer }[]> =>
  researchPersonsByKeys(db, reachOf(access), kids);
