/**
 * PostgreSQL driver over a `pg` pool, sized by configuration. Errors leave through the one
 * mapper (db-errors.ts): statements and transactions that hit a serialization failure or a
 * deadlock run again; a unique violation answers 409, an unreachable database 503. Inside a
 * transaction errors stay raw (but a lost connection is 503 at once), so the transaction as a
 * whole is what is retried.
 *
 * Dead connections: a connection found dead (its statement failed because the server went
 * away) is dropped, and so is every connection made before it, unused, on its next checkout —
 * after a restart they are all dead, and a half-open one would fail the next request too. A
 * statement that failed that way runs once more on a fresh connection when that cannot run it
 * twice: it never left (pg refused it on a connection already known dead), or it only reads; a
 * transaction whose BEGIN failed that way starts over. A connection lost while checked out
 * cannot crash the process (every client has an 'error' listener).
 */
import pg from 'pg';
import type { Db, PoolUse, QueryResult } from './db.ts';
import { connectionLost, isReadOnly, mapDbError, mapInTransaction, neverSent, withRetry } from './db-errors.ts';
import { PreparedOnConnection } from './prepared.ts';

// int8 (bigint, count(*)) as a JS number: medid's sequences stay far below 2^53.
const INT8 = 20;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (v: string) => unknown {
    if (oid === INT8) {
      return (v: string) => Number(v);
    }
    const base = pg.types.getTypeParser as (oid: number, format?: string) => (v: string) => unknown;
    return base(oid, format);
  },
};

/** How long a request waits for a connection (a new one, or a free one of the pool) before it answers 503 instead of hanging. */
export const CONNECT_TIMEOUT_MS = 10_000;
/** TCP keepalive on idle connections, so a server that vanished without closing them is noticed. */
const KEEPALIVE_DELAY_MS = 10_000;

type Client = pg.PoolClient;

async function run<R>(c: Client, sql: string, params: readonly unknown[] | undefined, name?: string): Promise<QueryResult<R>> {
  const res = await c.query({ text: sql, values: params as unknown[] | undefined, name, types } as pg.QueryConfig);
  return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
}

/** pg's record of the statements parsed on a connection (internal: when it is missing, nothing is deallocated). */
function parsedStatements(c: Client): Record<string, string> | undefined {
  const p = (c as unknown as { connection?: { parsedStatements?: unknown } }).connection?.parsedStatements;
  return typeof p === 'object' && p !== null ? (p as Record<string, string>) : undefined;
}

const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** The pool's connections: which are trusted (their generation), and what each has prepared. */
class Connections {
  readonly pool: pg.Pool;
  /** Bumped whenever a connection is found dead: connections made before are not used again. */
  private generation = 0;
  private readonly born = new WeakMap<Client, number>();
  private readonly prepared = new WeakMap<Client, PreparedOnConnection>();
  /** Told how long each checkout waited (metrics). */
  onWait: ((seconds: number) => void) | undefined;

  constructor(pool: pg.Pool) {
    this.pool = pool;
    pool.on('connect', (c: Client) => {
      this.born.set(c, this.generation);
      // Lost while checked out, a client emits 'error'; unheard, that would crash the process.
      // The statement running on it fails by itself, and the release drops it.
      c.on('error', () => undefined);
    });
    // An idle connection lost its server: the pool has removed it; the others may be as dead.
    pool.on('error', () => {
      this.generation++;
    });
  }

  /** A connection made since the last one found dead (older idle ones are dropped unused). */
  async acquire(): Promise<Client> {
    const start = this.onWait ? performance.now() : 0;
    for (;;) {
      const c = await this.pool.connect();
      if ((this.born.get(c) ?? -1) >= this.generation) {
        this.onWait?.((performance.now() - start) / 1000);
        return c;
      }
      c.release(true);
    }
  }

  /** Returns a connection to the pool; a dead one is dropped, and its elders after it. */
  release(c: Client, dead: boolean): void {
    if (dead) this.generation++;
    c.release(dead);
  }

  /** Makes room for `name` among the statements prepared on `c`: the least recently used are deallocated. */
  async prepare(c: Client, name: string | undefined): Promise<void> {
    if (name === undefined) return;
    const parsed = parsedStatements(c);
    if (!parsed) return;
    let list = this.prepared.get(c);
    if (!list) {
      list = new PreparedOnConnection();
      this.prepared.set(c, list);
    }
    for (const old of list.use(name)) {
      if (!(old in parsed)) continue;
      try {
        await c.query(`DEALLOCATE ${quoteIdent(old)}`);
        // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- pg's own record of the connection's statements
        delete parsed[old];
      } catch (e) {
        list.keep(old);
        throw e;
      }
    }
  }

  /** How many statements `c` keeps prepared, as medid counts them (tests). */
  preparedOn(c: Client): number {
    return this.prepared.get(c)?.size ?? 0;
  }
}

class PgTx implements Db {
  readonly driver = 'pg';
  private readonly client: Client;
  private readonly conns: Connections;
  constructor(client: Client, conns: Connections) {
    this.client = client;
    this.conns = conns;
  }
  async query<R>(sql: string, params?: readonly unknown[], name?: string): Promise<QueryResult<R>> {
    try {
      await this.conns.prepare(this.client, name);
      return await run<R>(this.client, sql, params, name);
    } catch (e) {
      throw mapInTransaction(e);
    }
  }
  tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    return fn(this);
  }
  async exec(sql: string): Promise<void> {
    try {
      await this.client.query(sql);
    } catch (e) {
      throw mapInTransaction(e);
    }
  }
  noteWrites(): void {
    // autovacuum analyzes PostgreSQL tables
  }
  close(): Promise<void> {
    return Promise.reject(new Error('cannot close a transaction handle'));
  }
}

export class PgDb implements Db {
  readonly driver = 'pg';
  private readonly conns: Connections;

  constructor(connectionString: string, poolSize: number) {
    this.conns = new Connections(
      new pg.Pool({
        connectionString,
        max: poolSize,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        keepAlive: true,
        keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
        // Every session works in UTC so timestamps print the same on every node.
        // Generated search SQL is prepared per shape (store/prepared.ts) and its values are
        // parameters; planning it costs several times more than running it, and with custom
        // plans PostgreSQL would keep re-planning. Generic plans are planned once per connection.
        options: '-c TimeZone=UTC -c plan_cache_mode=force_generic_plan',
      }),
    );
  }

  query<R>(sql: string, params?: readonly unknown[], name?: string): Promise<QueryResult<R>> {
    return withRetry(() => this.statement<R>(sql, params, name));
  }

  /** One statement on a pooled connection; once more on a fresh one if its connection was dead and running it again is safe. */
  private async statement<R>(sql: string, params: readonly unknown[] | undefined, name: string | undefined): Promise<QueryResult<R>> {
    for (let attempt = 1; ; attempt++) {
      const c = await this.conns.acquire();
      let dead = false;
      try {
        await this.conns.prepare(c, name);
        return await run<R>(c, sql, params, name);
      } catch (e) {
        dead = connectionLost(e);
        if (!dead || attempt > 1 || !(neverSent(e) || isReadOnly(sql))) throw e;
      } finally {
        this.conns.release(c, dead);
      }
    }
  }

  /** Runs `fn` in a transaction; again, from the start, after a serialization failure or deadlock. */
  tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    return withRetry(() => this.txOnce(fn));
  }

  private async txOnce<T>(fn: (db: Db) => Promise<T>, attempt = 1): Promise<T> {
    const c = await this.conns.acquire();
    let dead = false;
    let again = false;
    try {
      try {
        await c.query('BEGIN');
      } catch (e) {
        // Nothing of the transaction ran: on a dead connection it may start over on a fresh one.
        dead = connectionLost(e);
        again = dead && attempt === 1;
        if (!again) throw e;
      }
      if (!again) {
        const result = await fn(new PgTx(c, this.conns));
        await c.query('COMMIT');
        return result;
      }
    } catch (err) {
      if (!dead) {
        // A connection that cannot even roll back is dropped, not handed to the next request.
        await c.query('ROLLBACK').catch(() => {
          dead = true;
        });
      }
      throw err;
    } finally {
      this.conns.release(c, dead);
    }
    return this.txOnce(fn, attempt + 1);
  }

  async exec(sql: string): Promise<void> {
    let c: Client | undefined;
    let dead = false;
    try {
      c = await this.conns.acquire();
      await c.query(sql);
    } catch (e) {
      dead = connectionLost(e);
      throw mapDbError(e);
    } finally {
      if (c) this.conns.release(c, dead);
    }
  }

  noteWrites(): void {
    // autovacuum analyzes PostgreSQL tables
  }

  close(): Promise<void> {
    return this.conns.pool.end();
  }

  poolUse(): PoolUse {
    const p = this.conns.pool;
    return { size: p.options.max ?? 10, total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount };
  }

  observeWaits(fn: (seconds: number) => void): void {
    this.conns.onWait = fn;
  }

  /** Diagnostics for tests: statements prepared on one pooled connection, by medid's count and by the server's. */
  async preparedStatements(): Promise<{ tracked: number; server: number }> {
    const c = await this.conns.acquire();
    try {
      const r = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements');
      return { tracked: this.conns.preparedOn(c), server: r.rows[0]?.n ?? 0 };
    } finally {
      this.conns.release(c, false);
    }
  }
}
