/**
 * Names for prepared statements of generated SQL. A search's SQL text depends only on the
 * shape of the query (which parameters, how many values), never on values, so hot shapes can
 * be prepared once per connection and skip PostgreSQL's planner (which costs more than running
 * a selective search). Shapes get a name after a few uses, and only so many do, so a client
 * sending endless odd shapes cannot fill the server's plan caches.
 */
import crypto from 'node:crypto';

const MIN_USES = 3;
const MAX_NAMED = 256;
const MAX_TRACKED = 4096;

export class StatementNames {
  private readonly uses = new Map<string, number>();
  private readonly named = new Map<string, string>();

  nameFor(sql: string): string | undefined {
    const known = this.named.get(sql);
    if (known) return known;
    if (this.named.size >= MAX_NAMED) return undefined;
    const n = (this.uses.get(sql) ?? 0) + 1;
    if (n < MIN_USES) {
      if (this.uses.size >= MAX_TRACKED) this.uses.clear();
      this.uses.set(sql, n);
      return undefined;
    }
    this.uses.delete(sql);
    const name = `s_${crypto.createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    this.named.set(sql, name);
    return name;
  }
}

/** One registry per process: names must be stable for the pool's connections. */
export const statementNames = new StatementNames();
