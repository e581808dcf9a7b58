/**
 * `medid import --metrics-file <path>`: the import's progress as a Prometheus text file. An
 * import is its own process, over in minutes or hours, so nothing scrapes it; the file is
 * what node_exporter's textfile collector (`--collector.textfile.directory`) publishes for it,
 * without a push gateway. It is rewritten whole every few seconds and at the end (written
 * aside, then renamed: a collector never reads half a file). No label names the file or a
 * record: counts and times only. The server's own `medid_registrations_total` counts what
 * `--server` imports send it.
 */
import fs from 'node:fs';
import { Counter, Gauge, Registry } from 'prom-client';

export type ImportCounts = Readonly<Record<string, number>>;

export class ImportMetricsFile {
  private readonly registry = new Registry();
  private readonly path: string;
  private readonly running: Gauge;
  private readonly updated: Gauge;
  private timer: NodeJS.Timeout | undefined;
  private last: Promise<void> = Promise.resolve();

  constructor(path: string, o: { expected: number; counts: () => ImportCounts; startedAt?: Date }) {
    this.path = path;
    const counts = o.counts;
    const registers = [this.registry];
    new Gauge({ name: 'medid_import_records_expected', help: 'Records in the file being imported (its lines)', registers }).set(o.expected);
    new Gauge({ name: 'medid_import_started_timestamp_seconds', help: 'Unix time the import started', registers }).set(
      (o.startedAt ?? new Date()).getTime() / 1000,
    );
    this.running = new Gauge({ name: 'medid_import_running', help: '1 while the import runs, 0 once it ended', registers });
    this.running.set(1);
    this.updated = new Gauge({
      name: 'medid_import_last_update_timestamp_seconds',
      help: 'Unix time this file was last written',
      registers,
    });
    new Counter({
      name: 'medid_import_records_total',
      help: 'Records decided so far in this import, by status (created, updated, unchanged, review, error)',
      labelNames: ['status'] as const,
      registers,
      collect() {
        this.reset();
        for (const [status, n] of Object.entries(counts())) this.inc({ status }, n);
      },
    });
  }

  /** Writes the file (aside, then renamed into place), after any write still under way. */
  write(): Promise<void> {
    const next = this.last.catch(() => undefined).then(() => this.writeNow());
    this.last = next;
    return next;
  }

  private async writeNow(): Promise<void> {
    this.updated.set(Date.now() / 1000);
    const tmp = `${this.path}.${process.pid}.tmp`;
    await fs.promises.writeFile(tmp, await this.registry.metrics());
    await fs.promises.rename(tmp, this.path);
  }

  /** Rewrites the file every `seconds` until `finish`. */
  start(seconds: number): void {
    void this.write().catch(() => undefined);
    this.timer = setInterval(() => {
      // A file that cannot be written is no reason to stop an import: the next tick tries again.
      this.write().catch(() => undefined);
    }, seconds * 1000);
    this.timer.unref();
  }

  /** The last write: the final counts, and `medid_import_running` 0. */
  async finish(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.running.set(0);
    await this.write();
  }
}
