/**
 * Insurer exports (R3) as jobs, after the FHIR Bulk Data Access pattern: a job is started for
 * one client and one payer, written in the background as NDJSON files (export.ts), read back
 * file by file by the same client, cancelled, and deleted when it expires. A job belongs to the
 * client that started it: to anyone else it does not exist.
 */
import crypto from 'node:crypto';
import { errors } from '../core/outcome.ts';
import type { Db } from '../store/db.ts';
import {
  addExportFile,
  deleteExpiredExports,
  deleteExportJob,
  finishExportJob,
  insertExportJob,
  readExportFile,
  readExportJob,
} from '../store/exports.ts';
import type { ExportJob } from '../store/exports.ts';
import { runExportJob } from './export.ts';

export type { ExportJob };

/** Where a job's files go: one resource type per file, with the persons it discloses. */
export interface ExportFileSink {
  file(type: string, lines: readonly string[], patientIds: readonly string[]): Promise<void>;
}

export interface ExportJobsDeps {
  db: Db;
  medicalIdSystem: string;
  /** How long finished files stay downloadable. */
  retentionMs: number;
  now: () => Date;
}

export interface ExportRequest {
  clientId: string;
  /** 保険者番号 or 公費負担者番号 whose persons are exported. */
  payer: string;
  /** The kick-off URL, as the manifest repeats it. */
  request: string;
  since: Date | undefined;
}

export class ExportJobs {
  private readonly d: ExportJobsDeps;
  /** Jobs still being written (shutdown and tests wait for them). */
  readonly running = new Set<Promise<void>>();

  constructor(d: ExportJobsDeps) {
    this.d = d;
  }

  /** Starts a job; returns its id at once while the files are written in the background. */
  async start(r: ExportRequest): Promise<string> {
    const id = crypto.randomUUID();
    const now = this.d.now();
    const since = r.since?.toISOString();
    await insertExportJob(this.d.db, {
      id,
      clientId: r.clientId,
      payer: r.payer,
      request: r.request,
      since,
      at: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.d.retentionMs).toISOString(),
    });
    const job = runExportJob(this.d.db, id, r.payer, since ?? null, this.d.medicalIdSystem);
    this.running.add(job);
    void job.finally(() => this.running.delete(job));
    return id;
  }

  /** The client's own job; another client's (or an expired one) is as unknown as a missing one. */
  async status(id: string, clientId: string | undefined): Promise<ExportJob> {
    const job = await readExportJob(this.d.db, id, this.d.now());
    if (!job || job.clientId !== clientId) throw errors.notFound(`Export job ${id} is not known (or has expired)`);
    return job;
  }

  async cancel(id: string, clientId: string | undefined): Promise<void> {
    await this.status(id, clientId);
    await deleteExportJob(this.d.db, id);
  }

  /**
   * Starts a job whose files another service writes (a database's pseudonymized export: the
   * pseudonymization service renders, the registry keeps the job). `produce` gets a sink for
   * files and returns the summary the manifest repeats.
   */
  async startWith(
    r: { clientId: string; domain: string; request: string },
    produce: (sink: ExportFileSink) => Promise<Record<string, unknown>>,
  ): Promise<string> {
    const id = crypto.randomUUID();
    const now = this.d.now();
    await insertExportJob(this.d.db, {
      id,
      clientId: r.clientId,
      domain: r.domain,
      request: r.request,
      since: undefined,
      at: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.d.retentionMs).toISOString(),
    });
    let n = 0;
    const sink: ExportFileSink = {
      file: (type, lines, patients) => addExportFile(this.d.db, id, n++, lines.length, `${lines.join('\n')}\n`, { type, patients }),
    };
    const job = produce(sink).then(
      (summary) => finishExportJob(this.d.db, id, undefined, summary),
      (e: unknown) => finishExportJob(this.d.db, id, (e as Error).message).catch(() => undefined),
    );
    this.running.add(job);
    void job.finally(() => this.running.delete(job));
    return id;
  }

  /** File `n` (as the URL names it: 0, 1, …) of the client's job, and the ids of the persons in it (each is audited when the file leaves). */
  async file(id: string, clientId: string | undefined, n: string): Promise<{ ndjson: string; patientIds: string[] }> {
    await this.status(id, clientId);
    const file = /^\d{1,6}$/.test(n) ? await readExportFile(this.d.db, id, Number(n)) : undefined;
    if (file === undefined) throw errors.notFound(`Export ${id} has no file ${n}`);
    return {
      ndjson: file.content,
      // A pseudonymized file names no person: the job kept who is in it.
      patientIds:
        file.patients ??
        file.content
          .split('\n')
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { id: string }).id),
    };
  }

  /** Deletes jobs whose files expired (the registry sweep); returns how many. */
  deleteExpired(): Promise<number> {
    return deleteExpiredExports(this.d.db, this.d.now());
  }
}
