/**
 * R3: an insurer gets back its persons' medical IDs. Each person is exported as a minimal
 * Patient: its id, its medical IDs (current and old) and only the calling insurer's own
 * numbers — never another insurer's numbers, names or addresses (the insurer has those).
 * One code path for the Bulk Data–style `Patient/$export` and `medid export`.
 */
import type { Identifier, Patient } from '@medplum/fhirtypes';
import { ID_SYSTEMS } from '../core/systems.ts';
import type { Db } from '../store/db.ts';
import { addExportFile, finishExportJob, payerPatientsPage } from '../store/exports.ts';

const PAGE = 2000;
export const LINES_PER_FILE = 50_000;

/** The minimal Patient an insurer receives. */
export function exportedPatient(p: Patient, payer: string, medicalIdSystem: string): Patient {
  const own = (i: Identifier): boolean =>
    (i.system === ID_SYSTEMS.insuredMemberId && (i.value ?? '').startsWith(`${payer}:`)) ||
    (i.system === ID_SYSTEMS.publicPayerMemberId && (i.value ?? '').startsWith(`${payer}::`));
  const identifier = (p.identifier ?? []).filter((i) => i.system === medicalIdSystem || own(i));
  return {
    resourceType: 'Patient',
    id: p.id,
    identifier,
    ...(p.active === false ? { active: false } : {}),
    ...(p.deceasedDateTime ? { deceasedDateTime: p.deceasedDateTime } : {}),
  };
}

/** NDJSON lines of the payer's persons, page by page. */
export async function* exportLines(
  db: Db,
  payer: string,
  since: string | null,
  medicalIdSystem: string,
): AsyncGenerator<{ id: string; line: string }> {
  let after = '';
  for (;;) {
    const page = await payerPatientsPage(db, payer, since, after, PAGE);
    for (const row of page) {
      yield { id: row.id, line: JSON.stringify(exportedPatient(JSON.parse(row.content) as Patient, payer, medicalIdSystem)) };
    }
    if (page.length < PAGE) return;
    after = (page[page.length - 1] as { id: string }).id;
  }
}

/** Runs an export job: files of LINES_PER_FILE lines, then the job is complete (or failed). */
export async function runExportJob(db: Db, job: string, payer: string, since: string | null, medicalIdSystem: string): Promise<void> {
  try {
    let n = 0;
    let buf: string[] = [];
    const flush = async (): Promise<void> => {
      if (buf.length === 0) return;
      await addExportFile(db, job, n++, buf.length, `${buf.join('\n')}\n`);
      buf = [];
    };
    for await (const { line } of exportLines(db, payer, since, medicalIdSystem)) {
      buf.push(line);
      if (buf.length >= LINES_PER_FILE) await flush();
    }
    await flush();
    await finishExportJob(db, job, undefined);
  } catch (e) {
    await finishExportJob(db, job, (e as Error).message).catch(() => undefined);
  }
}
