/**
 * The one database interface the rest of medid sees. Two drivers implement it: PostgreSQL
 * through `pg` (pool) and embedded PostgreSQL through PGlite. Both run the same SQL.
 */

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Db {
  /** Which driver runs underneath; for diagnostics only, never to fork SQL. */
  readonly driver: 'pg' | 'pglite';
  /**
   * Runs one parameterized statement. `name` asks the driver to keep a prepared statement
   * for a hot, fixed query text (pg only; PGlite ignores it).
   */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], name?: string): Promise<QueryResult<R>>;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws.
   * Inside a transaction, `tx` runs `fn` in the same transaction (no nesting).
   */
  tx<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  /** Runs a multi-statement script without parameters (migrations only). */
  exec(sql: string): Promise<void>;
  /**
   * Tells the driver that `n` rows were written, so it can keep planner statistics fresh.
   * PostgreSQL's autovacuum does this itself; embedded PGlite has no background workers.
   */
  noteWrites(n: number): void;
  close(): Promise<void>;
  /** The driver's connections, for metrics (absent on a transaction handle and on wrappers). */
  poolUse?(): PoolUse;
  /** Tells the driver to report each wait for a connection, in seconds (metrics; set once, at wiring). */
  observeWaits?(fn: (seconds: number) => void): void;
}

/** How busy a driver's connections are. PGlite has one: `waiting` counts what queues behind it. */
export interface PoolUse {
  /** The most connections the pool opens. */
  size: number;
  /** Connections open now. */
  total: number;
  /** Open and unused. */
  idle: number;
  /** Statements and transactions waiting for a connection. */
  waiting: number;
}
