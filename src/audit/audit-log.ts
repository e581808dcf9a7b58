/**
 * The audit writer. A disclosure waits until its events are committed (no audit, no data).
 * Inside a transaction the events go in with the transaction's own connection, so a write and
 * its audit commit together. Outside one, events from concurrent requests are grouped: while a
 * batch is being inserted, new events queue, and the next batch takes them all in one
 * statement (group commit). Under load that turns thousands of small inserts per second into
 * a few larger ones, which is what keeps auditing every read affordable.
 */
import { currentRequestContext } from '../core/request-context.ts';
import type { Db } from '../store/db.ts';
import { insertAuditEvents } from '../store/audit.ts';
import type { AuditedWriteRows, AuditRow } from '../store/audit.ts';
import type { AccessLog } from './access-log.ts';
import { AuditedWrites } from './audited-writes.ts';
import type { PendingWrite } from './audited-writes.ts';

interface Pending {
  rows: AuditRow[];
  writes: readonly AuditedWriteRows[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

export interface AuditLogOptions {
  /** false only for benchmarks comparing the cost of auditing; start-up warns loudly. */
  enabled: boolean;
  /** Largest number of rows in one INSERT. */
  maxBatch?: number;
  /** Batches in flight at once (each uses a connection). One gives the largest batches: measured ~19 rows per INSERT at 3,500 reads/s, against ~11 with two. */
  maxInFlight?: number;
  /** The access log (issue 17): every event gets its leaf in the statement that inserts it. */
  accessLog?: AccessLog;
  /** Told of every group-commit batch written: its rows and seconds (metrics). */
  observe?: (batch: { rows: number; seconds: number }) => void;
}

export class AuditLog {
  private readonly db: Db;
  private readonly enabled: boolean;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly accessLog: AccessLog | undefined;
  private readonly observe: AuditLogOptions['observe'];
  /** The kinds of write that commit with audit records (registered by their owners in app.ts). */
  readonly auditedWrites = new AuditedWrites();
  /** Batches written and rows in them, since start (how well group commit is grouping). */
  readonly stats = { batches: 0, rows: 0 };

  constructor(db: Db, o: AuditLogOptions) {
    this.db = db;
    this.enabled = o.enabled;
    this.maxBatch = o.maxBatch ?? 500;
    this.maxInFlight = o.maxInFlight ?? 1;
    this.accessLog = o.accessLog;
    this.observe = o.observe;
  }

  /** Events waiting for the next batch (metrics, read when scraped). */
  get queuedEvents(): number {
    return this.queue.reduce((n, p) => n + p.rows.length, 0);
  }

  /** Writes a batch outside any transaction: with its leaves when the access log is on. */
  private write(rows: readonly AuditRow[], writes: readonly AuditedWriteRows[]): Promise<void> {
    return this.accessLog ? this.accessLog.append(rows, writes) : insertAuditEvents(this.db, rows, writes);
  }

  /**
   * Gives the events the current request wrote inside its transactions (committed by now) their
   * leaves: called before a response leaves, so data never leaves ahead of its entry's place in
   * the log. `always`: whatever is queued (start-up, and a timer for writers outside requests —
   * `medid import`, a node that stopped mid-way).
   */
  async settle(always = false): Promise<void> {
    if (!this.accessLog) return;
    const ctx = currentRequestContext();
    if (!always && !ctx?.auditQueued) return;
    if (ctx) ctx.auditQueued = false;
    await this.accessLog.drain();
    // Places another process gave (a CLI run, a node that stopped) get their leaves too.
    if (always) await this.accessLog.caughtUp();
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  /**
   * Records events; resolves once they are committed. With `tx`, they are written by that
   * transaction (and commit or roll back with it). `writes` are the audited writes of the
   * disclosures these events record: they commit in the same statement as the events.
   */
  async record(rows: readonly AuditRow[], tx?: Db, writes: readonly PendingWrite[] = []): Promise<void> {
    const resolved = this.auditedWrites.resolve(writes);
    if (!this.enabled) {
      await insertAuditEvents(tx ?? this.db, [], resolved);
      return;
    }
    if (rows.length === 0 && resolved.length === 0) return;
    if (tx) {
      // Inside a transaction the event cannot have its leaf yet (its place is when it commits): it queues.
      const log = this.accessLog && rows.length > 0 ? this.accessLog : undefined;
      await insertAuditEvents(tx, log ? log.stamped(rows) : rows, resolved, log ? 'pending' : undefined);
      const ctx = currentRequestContext();
      if (ctx && rows.length > 0 && this.accessLog) ctx.auditQueued = true;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ rows: [...rows], writes: resolved, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    // Let every request finishing in this turn of the event loop join the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    const batch: Pending[] = [];
    let n = 0;
    while (this.queue.length > 0 && (batch.length === 0 || n + this.queue[0].rows.length <= this.maxBatch)) {
      const p = this.queue.shift() as Pending;
      batch.push(p);
      n += p.rows.length;
    }
    this.inFlight++;
    const start = performance.now();
    try {
      const rows = batch.flatMap((p) => p.rows);
      await this.write(
        rows,
        batch.flatMap((p) => p.writes),
      );
      this.stats.batches++;
      this.stats.rows += rows.length;
      this.observe?.({ rows: rows.length, seconds: (performance.now() - start) / 1000 });
      for (const p of batch) p.resolve();
    } catch (e) {
      if (batch.length === 1) batch[0]?.reject(e);
      // One request's bad row, or an audited write's row lock lost to a deadlock, must not withhold
      // every response grouped with it: each is retried on its own, and only what fails again fails.
      else for (const p of batch) await this.write(p.rows, p.writes).then(p.resolve, p.reject);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }
}
