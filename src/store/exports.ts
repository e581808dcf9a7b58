/** SQL for bulk exports (registry.export_job / export_file) and the rows they list. */
import type { Db } from './db.ts';

export interface ExportJob {
  id: string;
  clientId: string;
  /** An insurer's job: its payer number; a database's: null. */
  payer: string | null;
  /** A database's job: its pseudonym domain; an insurer's: null. */
  domain: string | null;
  request: string;
  status: 'in-progress' | 'complete' | 'error';
  transactionTime: Date;
  expiresAt: Date;
  error: string | null;
  /** What the job reports beside its files (a pseudonymized export: the small-cell guard's counts). */
  summary: Record<string, unknown> | null;
  files: { n: number; lines: number; type: string }[];
}

export async function insertExportJob(
  db: Db,
  j: {
    id: string;
    clientId: string;
    payer?: string;
    domain?: string;
    request: string;
    since: string | undefined;
    at: string;
    expiresAt: string;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO registry.export_job (id, client_id, payer, domain, request, since, status, transaction_time, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6::timestamptz, 'in-progress', $7::timestamptz, $8::timestamptz)`,
    [j.id, j.clientId, j.payer ?? null, j.domain ?? null, j.request, j.since ?? null, j.at, j.expiresAt],
  );
}

export async function readExportJob(db: Db, id: string, now: Date): Promise<ExportJob | undefined> {
  const { rows } = await db.query<{
    id: string;
    client_id: string;
    payer: string | null;
    domain: string | null;
    request: string;
    status: ExportJob['status'];
    transaction_time: Date;
    expires_at: Date;
    error: string | null;
    summary: Record<string, unknown> | null;
    files: { n: number; lines: number; type: string }[] | null;
  }>(
    `SELECT j.id, j.client_id, j.payer, j.domain, j.request, j.status, j.transaction_time, j.expires_at, j.error, j.summary,
       (SELECT json_agg(json_build_object('n', f.n, 'lines', f.lines, 'type', f.type) ORDER BY f.n) FROM registry.export_file f WHERE f.job = j.id) AS files
     FROM registry.export_job j WHERE j.id = $1 AND j.expires_at > $2::timestamptz`,
    [id, now.toISOString()],
  );
  const r = rows[0];
  return (
    r && {
      id: r.id,
      clientId: r.client_id,
      payer: r.payer,
      domain: r.domain,
      request: r.request,
      status: r.status,
      transactionTime: r.transaction_time,
      expiresAt: r.expires_at,
      error: r.error,
      summary: r.summary,
      files: r.files ?? [],
    }
  );
}

/** A file of a job: `patients`, for a pseudonymized file, the persons it discloses (its lines name none). */
export async function addExportFile(
  db: Db,
  job: string,
  n: number,
  lines: number,
  content: string,
  o: { type?: string; patients?: readonly string[] } = {},
): Promise<void> {
  await db.query(`INSERT INTO registry.export_file (job, n, lines, content, type, patients) VALUES ($1, $2, $3, $4, $5, $6::text[])`, [
    job,
    n,
    lines,
    content,
    o.type ?? 'Patient',
    o.patients ? [...o.patients] : null,
  ]);
}

export async function finishExportJob(db: Db, job: string, error: string | undefined, summary?: Record<string, unknown>): Promise<void> {
  await db.query(`UPDATE registry.export_job SET status = $2, error = $3, summary = $4::jsonb, completed_at = now() WHERE id = $1`, [
    job,
    error ? 'error' : 'complete',
    error ?? null,
    summary ? JSON.stringify(summary) : null,
  ]);
}

export async function readExportFile(db: Db, job: string, n: number): Promise<{ content: string; patients: string[] | null } | undefined> {
  const { rows } = await db.query<{ content: string; patients: string[] | null }>(
    `SELECT content, patients FROM registry.export_file WHERE job = $1 AND n = $2`,
    [job, n],
  );
  return rows[0];
}

/** Deletes a job and its files (Bulk Data cancel, and expiry). */
export async function deleteExportJob(db: Db, job: string): Promise<boolean> {
  const { rowCount } = await db.query(`DELETE FROM registry.export_job WHERE id = $1`, [job]);
  return rowCount > 0;
}

export async function deleteExpiredExports(db: Db, now: Date): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM registry.export_job WHERE expires_at <= $1::timestamptz`, [now.toISOString()]);
  return rowCount;
}

/**
 * One page of the Patients of persons holding a number from `payer` (keyset by Patient id),
 * changed since `since` when given. Merged-away persons are left out: their numbers moved.
 */
export async function payerPatientsPage(
  db: Db,
  payer: string,
  since: string | null,
  after: string,
  limit: number,
): Promise<{ id: string; content: string }[]> {
  const { rows } = await db.query<{ id: string; content: string }>(
    `SELECT p.patient_id AS id, r.content
     FROM (SELECT DISTINCT kid FROM registry.person_identifier WHERE payer = $1) i
     JOIN registry.person p ON p.kid = i.kid
     JOIN fhir.resource r ON r.resource_type = 'Patient' AND r.id = p.patient_id
     WHERE p.status <> 'merged' AND p.patient_id > $3 AND ($2::timestamptz IS NULL OR r.last_updated >= $2::timestamptz) AND NOT r.deleted
     ORDER BY p.patient_id LIMIT $4`,
    [payer, since, after, limit],
  );
  return rows;
}
