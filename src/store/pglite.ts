/**
 * Embedded PostgreSQL (PGlite, Postgres compiled to WASM) in this process. One connection:
 * PGlite serializes statements and transactions itself, so a statement issued while a
 * transaction runs waits for it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite, types } from '@electric-sql/pglite';
import type { Transaction } from '@electric-sql/pglite';
import type { Db, PoolUse, QueryResult } from './db.ts';
import { mapDbError, mapInTransaction, withRetry } from './db-errors.ts';
import { startParams } from './pglite-params.ts';

const parsers = { [types.INT8]: (v: string) => Number(v) };

/**
 * PGlite runs no autovacuum, so planner statistics would stay as they were at the first query
 * (an empty table) and every plan would be wrong after a bulk load. Like autovacuum's default
 * rule, ANALYZE runs once writes since the last one exceed 10% of the rows then (at least 500).
 */
class AutoAnalyze {
  private since = 0;
  private rowsAtLast = 0;
  private running = false;
  private readonly pg: PGlite;
  constructor(pg: PGlite) {
    this.pg = pg;
  }
  note(n: number): void {
    this.since += n;
    if (this.running || this.since < Math.max(500, this.rowsAtLast * 0.1)) return;
    this.running = true;
    const written = this.since;
    this.since = 0;
    // After the current statement or transaction: PGlite queues it behind whatever runs now.
    setImmediate(() => {
      this.pg
        .exec('ANALYZE')
        .then(() => this.pg.query<{ n: number }>('SELECT count(*)::int AS n FROM fhir.resource'))
        .then((r) => {
          this.rowsAtLast = r.rows[0]?.n ?? this.rowsAtLast + written;
        })
        .catch(() => undefined)
        .finally(() => {
          this.running = false;
        });
    });
  }
}

class PgliteTx implements Db {
  readonly driver = 'pglite';
  private readonly t: Transaction;
  private readonly analyze: AutoAnalyze;
  constructor(t: Transaction, analyze: AutoAnalyze) {
    this.t = t;
    this.analyze = analyze;
  }
  noteWrites(n: number): void {
    this.analyze.note(n);
  }
  // Errors stay raw inside a transaction, but a closed database is 503 at once (db-errors.ts).
  async query<R>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    try {
      const res = await this.t.query<R>(sql, params as unknown[] | undefined);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
    } catch (e) {
      throw mapInTransaction(e);
    }
  }
  tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    return fn(this);
  }
  async exec(sql: string): Promise<void> {
    try {
      await this.t.exec(sql);
    } catch (e) {
      throw mapInTransaction(e);
    }
  }
  close(): Promise<void> {
    return Promise.reject(new Error('cannot close a transaction handle'));
  }
}

export class DatabaseInUseError extends Error {
  override name = 'DatabaseInUseError';
  /** The process holding the database, when one does. */
  readonly pid: number | undefined;
  constructor(message: string, pid?: number) {
    super(message);
    this.pid = pid;
  }
}

/**
 * PGlite has no server process to arbitrate access: two processes opening one data directory
 * would corrupt it. A lock file with the owner's pid keeps the second one out (a lock left by
 * a process that no longer exists is taken over).
 */
export function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, 'medid.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch {
      const pid = Number(fs.readFileSync(file, 'utf8'));
      let alive = Number.isInteger(pid) && pid > 0;
      try {
        if (alive) process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (alive) {
        throw new DatabaseInUseError(
          `the embedded database in ${dataDir} is in use by process ${pid}; stop it first (or use DATABASE_URL)`,
          pid,
        );
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new DatabaseInUseError(`could not lock the embedded database in ${dataDir}`);
}

/** Runs initdb in a child process (pglite-initdb.ts says why); its stderr joins ours. */
function initdbApart(dataDir: string): Promise<void> {
  const script = fileURLToPath(new URL('./pglite-initdb.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dataDir], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`creating the embedded database in ${dataDir} failed (${signal ?? `exit ${code}`})`)),
    );
  });
}

export class PgliteDb implements Db {
  readonly driver = 'pglite';
  private readonly pg: PGlite;
  private readonly analyze: AutoAnalyze;
  private readonly unlock: () => void;
  /** Statements and transactions issued and not finished: the one running and those queued behind it (metrics). */
  private pending = 0;
  private onWait: ((seconds: number) => void) | undefined;
  private constructor(pg: PGlite, unlock: () => void) {
    this.pg = pg;
    this.analyze = new AutoAnalyze(pg);
    this.unlock = unlock;
  }

  noteWrites(n: number): void {
    this.analyze.note(n);
  }

  /**
   * Opens (creating if needed) a database in `dataDir`, or in memory when it is undefined.
   * `template` is a data-directory dump (`dump()`) to start from: loading one takes a fraction
   * of the seconds initdb needs, which is what makes a fresh database per test affordable.
   */
  static async open(dataDir: string | undefined, template?: Blob): Promise<PgliteDb> {
    const unlock = dataDir ? lockDataDir(dataDir) : () => undefined;
    try {
      if (dataDir && !template && !fs.existsSync(path.join(dataDir, 'PG_VERSION'))) await initdbApart(dataDir);
      const options = { parsers, startParams, ...(dataDir ? { dataDir } : {}), ...(template ? { loadDataDir: template } : {}) };
      const pg = await PGlite.create(options);
      await pg.exec(`SET TimeZone = 'UTC'`);
      return new PgliteDb(pg, unlock);
    } catch (e) {
      unlock();
      throw e;
    }
  }

  /** The data directory as a tarball, to open copies of this database quickly. */
  dump(): Promise<Blob> {
    return this.pg.dumpDataDir('gzip');
  }

  /**
   * A consistent copy of the data directory, for `medid backup`: a CHECKPOINT first (every
   * committed change in the data files, so opening the copy replays no WAL), then the tarball,
   * taken while PGlite's transaction lock is held — no transaction is half done in it.
   */
  async backup(): Promise<Blob> {
    await this.pg.exec('CHECKPOINT');
    return this.pg.transaction(() => this.pg.dumpDataDir('gzip'));
  }

  // Errors leave through the one mapper (db-errors.ts), as with PostgreSQL; inside a
  // transaction they stay raw. One connection cannot deadlock, but the code path is the same.
  async query<R>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    this.pending++;
    try {
      return await withRetry(async () => {
        const res = await this.pg.query<R>(sql, params as unknown[] | undefined);
        return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
      });
    } finally {
      this.pending--;
    }
  }

  async tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    this.pending++;
    try {
      return await withRetry(() => {
        const start = this.onWait ? performance.now() : 0;
        return this.pg.transaction((t) => {
          // The transaction has the connection now: what it waited for it is known.
          this.onWait?.((performance.now() - start) / 1000);
          return fn(new PgliteTx(t, this.analyze));
        });
      });
    } finally {
      this.pending--;
    }
  }

  poolUse(): PoolUse {
    return { size: 1, total: 1, idle: this.pending === 0 ? 1 : 0, waiting: Math.max(0, this.pending - 1) };
  }

  observeWaits(fn: (seconds: number) => void): void {
    this.onWait = fn;
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.pg.exec(sql);
    } catch (e) {
      throw mapDbError(e);
    }
  }

  async close(): Promise<void> {
    try {
      await this.pg.close();
    } finally {
      this.unlock();
    }
  }
}
