/**
 * PostgreSQL driver over a `pg` pool, sized by configuration. Errors leave through the one
 * mapper (db-errors.ts): statements and transactions that hit a serialization failure or a
 * deadlock run again; a unique violation answers 409, an unreachable database 503. Inside a
 * transaction errors stay raw, so the transaction as a whole is what is retried.
 */
import pg from 'pg';
import type { Db, QueryResult } from './db.ts';
import { mapDbError, withRetry } from './db-errors.ts';

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

type Queryable = pg.Pool | pg.PoolClient;

async function run<R>(c: Queryable, sql: string, params: readonly unknown[] | undefined, name?: string): Promise<QueryResult<R>> {
  const res = await c.query({ text: sql, values: params as unknown[] | undefined, name, types } as pg.QueryConfig);
  return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
}

class PgTx implements Db {
  readonly driver = 'pg';
  private readonly client: pg.PoolClient;
  constructor(client: pg.PoolClient) {
    this.client = client;
  }
  query<R>(sql: string, params?: readonly unknown[], name?: string): Promise<QueryResult<R>> {
    return run<R>(this.client, sql, params, name);
  }
  tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    return fn(this);
  }
  async exec(sql: string): Promise<void> {
    await this.client.query(sql);
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
  private readonly pool: pg.Pool;

  constructor(connectionString: string, poolSize: number) {
    this.pool = new pg.Pool({
      connectionString,
      max: poolSize,
      // Every session works in UTC so timestamps print the same on every node.
      // Generated search SQL is prepared per shape (store/prepared.ts) and its values are
      // parameters; planning it costs several times more than running it, and with custom
      // plans PostgreSQL would keep re-planning. Generic plans are planned once per connection.
      options: '-c TimeZone=UTC -c plan_cache_mode=force_generic_plan',
    });
    // An idle client that loses its server must not crash the process; the pool replaces it.
    this.pool.on('error', () => undefined);
  }

  query<R>(sql: string, params?: readonly unknown[], name?: string): Promise<QueryResult<R>> {
    return withRetry(() => run<R>(this.pool, sql, params, name));
  }

  /** Runs `fn` in a transaction; again, from the start, after a serialization failure or deadlock. */
  tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    return withRetry(() => this.txOnce(fn));
  }

  private async txOnce<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(new PgTx(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      // A connection that cannot even roll back is dropped, not handed to the next request.
      client.release(broken);
    }
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.pool.query(sql);
    } catch (e) {
      throw mapDbError(e);
    }
  }

  noteWrites(): void {
    // autovacuum analyzes PostgreSQL tables
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
