/**
 * The audit log read back (the AuditEvent API): one entry by its sequence number, or a page of
 * entries newest first with the total — each rendered as the BALP AuditEvent it records.
 */
import type { AuditReach } from '../core/access.ts';
import type { AuditEvent } from '@medplum/fhirtypes';
import type { UnitOfWork } from '../repo/unit-of-work.ts';
import { countAuditEvents, readAuditEvent, searchAuditEvents } from '../store/audit.ts';
import type { AuditQuery, StoredAudit } from '../store/audit.ts';
import { toAuditEvent } from './balp.ts';

export type { AuditQuery };

export interface AuditEntry {
  /** The log's sequence number: the AuditEvent's id and the paging cursor. */
  seq: number;
  /** The patient the entry is about, if any (a read of the log is itself audited against them). */
  patientId: string | undefined;
  recorded: string;
  event: AuditEvent;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Whether older entries follow. */
  more: boolean;
  total: number;
}

export class AuditTrail {
  private readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  private entry(e: StoredAudit): AuditEntry {
    return { seq: e.seq, patientId: e.patientId ?? undefined, recorded: e.recorded, event: toAuditEvent(e, { baseUrl: this.baseUrl }) };
  }

  /** The entry, if it is within the caller's `reach` (undefined: any). */
  async read(uow: UnitOfWork, seq: number, reach?: AuditReach): Promise<AuditEntry | undefined> {
    const e = seq > 0 ? await readAuditEvent(uow.db, seq, reach) : undefined;
    return e && this.entry(e);
  }

  /** One page, newest first; `q.limit` entries at most. */
  async search(uow: UnitOfWork, q: AuditQuery): Promise<AuditPage> {
    const rows = q.limit === 0 ? [] : await searchAuditEvents(uow.db, { ...q, limit: q.limit + 1 });
    const page = rows.slice(0, q.limit);
    const more = rows.length > q.limit;
    const total = q.beforeSeq === undefined && !more && q.limit > 0 ? page.length : await countAuditEvents(uow.db, q);
    return { entries: page.map((e) => this.entry(e)), more, total };
  }
}
