/**
 * The slot for writes that must commit with an audit record. A disclosure that also records
 * something (a valid eligibility confirmation: "this institution served this person today")
 * hands the audit log its rows under a registered kind; the audit batch writes them in its own
 * statement, so the fact and its AuditEvent commit together, at no extra round trip. Owners
 * register their kind at start-up (app.ts); an unregistered kind is a bug and fails loudly.
 */
import type { AuditedWriteRows, AuditedWriteSql } from '../store/audit.ts';

/** Rows to write with a disclosure's audit record, under a registered kind. */
export interface PendingWrite {
  kind: string;
  rows: readonly object[];
}

export class AuditedWrites {
  private readonly kinds = new Map<string, AuditedWriteSql>();

  register(sql: AuditedWriteSql): void {
    if (!/^[a-z][a-z0-9_]{0,40}$/.test(sql.kind)) throw new Error(`audited write kind "${sql.kind}" must be a short lower-case SQL name`);
    if (this.kinds.has(sql.kind)) throw new Error(`audited write kind "${sql.kind}" is registered twice`);
    this.kinds.set(sql.kind, sql);
  }

  /** The SQL of each pending write; throws for a kind nobody registered. */
  resolve(pending: readonly PendingWrite[]): AuditedWriteRows[] {
    return pending.map((p) => {
      const sql = this.kinds.get(p.kind);
      if (!sql) throw new Error(`audited write kind "${p.kind}" is not registered`);
      return { sql, rows: p.rows };
    });
  }
}
