/**
 * Names for prepared statements of generated SQL. A search's SQL text depends only on the
 * shape of the query (which parameters, how many values), never on values, so hot shapes can
 * be prepared once per connection and skip PostgreSQL's planner (which costs more than running
 * a selective search). Shapes get a name after a few uses; the named shapes are the most
 * recently used few hundred, so a client sending endless odd shapes cannot fill the server's
 * plan caches nor pin them with its shapes while the real hot ones go unnamed. Every connection
 * keeps at most a bounded number of statements prepared, least recently used deallocated first
 * (`PreparedOnConnection`, used by pg.ts).
 */
import crypto from 'node:crypto';

const MIN_USES = 3;
/** Shapes holding a name at once (most recently used). */
export const MAX_NAMED = 256;
/** Shapes counted on their way to a name, and their total length: a fuzzer's one-off shapes are forgotten, not hoarded. */
const MAX_TRACKED = 4096;
const MAX_TRACKED_CHARS = 4 * 1024 * 1024;
/** Longer statements are never named: every connection would keep their text. */
export const MAX_NAMED_SQL_CHARS = 16 * 1024;
/** Statements one connection keeps prepared (the named shapes and the fixed names of store/, with room to spare). */
export const MAX_PREPARED_PER_CONNECTION = 320;

/** A Map used as a least-recently-used list: iteration order is recency, oldest first. */
function touch<K, V>(m: Map<K, V>, k: K, v: V): void {
  m.delete(k);
  m.set(k, v);
}

export class StatementNames {
  private readonly uses = new Map<string, number>();
  private trackedChars = 0;
  private readonly named = new Map<string, string>();
  private readonly max: number;

  constructor(max = MAX_NAMED) {
    this.max = max;
  }

  nameFor(sql: string): string | undefined {
    const known = this.named.get(sql);
    if (known !== undefined) {
      touch(this.named, sql, known);
      return known;
    }
    if (sql.length > MAX_NAMED_SQL_CHARS) return undefined;
    const n = (this.uses.get(sql) ?? 0) + 1;
    if (n < MIN_USES) {
      if (n === 1) {
        if (this.uses.size >= MAX_TRACKED || this.trackedChars + sql.length > MAX_TRACKED_CHARS) {
          this.uses.clear();
          this.trackedChars = 0;
        }
        this.trackedChars += sql.length;
      }
      this.uses.set(sql, n);
      return undefined;
    }
    if (this.uses.delete(sql)) this.trackedChars -= sql.length;
    const name = `s_${crypto.createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    this.named.set(sql, name);
    if (this.named.size > this.max) {
      const oldest = this.named.keys().next().value as string;
      this.named.delete(oldest);
    }
    return name;
  }

  /** How many shapes hold a name and how many are being counted (for tests and diagnostics). */
  get size(): { named: number; tracked: number; trackedChars: number } {
    return { named: this.named.size, tracked: this.uses.size, trackedChars: this.trackedChars };
  }
}

/** One registry per process: names must be stable for the pool's connections. */
export const statementNames = new StatementNames();

/**
 * The statements prepared on one connection, least recently used first. `use(name)` notes that
 * `name` runs now and answers the names to DEALLOCATE before it, so the connection never holds
 * more than `max` (a statement PostgreSQL keeps per session, with its plan, until deallocated).
 */
export class PreparedOnConnection {
  private readonly names = new Set<string>();
  private readonly max: number;

  constructor(max = MAX_PREPARED_PER_CONNECTION) {
    this.max = max;
  }

  use(name: string): string[] {
    if (this.names.has(name)) {
      this.names.delete(name);
      this.names.add(name);
      return [];
    }
    const evict: string[] = [];
    for (const old of this.names) {
      if (this.names.size - evict.length < this.max) break;
      evict.push(old);
    }
    for (const old of evict) this.names.delete(old);
    this.names.add(name);
    return evict;
  }

  /** Puts back a name whose DEALLOCATE failed: it is still prepared. */
  keep(name: string): void {
    this.names.add(name);
  }

  get size(): number {
    return this.names.size;
  }
}
