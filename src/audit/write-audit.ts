/**
 * Creates, updates and deletes on the Patient compartment are audited inside the write's own
 * transaction (a repository hook): the write and its AuditEvent commit together or not at all.
 * The hook runs several calls below any handler, so who asks and why come from the request
 * context (core/request-context.ts), the one AsyncLocalStorage.
 */
import type { Clock } from '../core/clock.ts';
import { currentRequestContext } from '../core/request-context.ts';
import { DEFAULT_PURPOSE_OF_USE } from '../core/systems.ts';
import type { PatientCompartment } from '../fhir/compartment.ts';
import type { WriteChange } from '../repo/repository.ts';
import type { AuditRow } from '../store/audit.ts';
import type { Db } from '../store/db.ts';
import type { AuditLog } from './audit-log.ts';
import { auditRow } from './balp.ts';
import type { AuditAction, AuditInput } from './balp.ts';

export interface WriteAuditDeps {
  auditLog: AuditLog;
  compartment: PatientCompartment;
  clock: Clock;
}

function requestFacts(): Pick<AuditInput, 'principal' | 'purposeOfUse' | 'requestId' | 'remoteAddress'> {
  const rc = currentRequestContext();
  return {
    principal: rc?.principal,
    purposeOfUse: rc?.purposeOfUse ?? DEFAULT_PURPOSE_OF_USE,
    requestId: rc?.requestId ?? 'internal',
    remoteAddress: rc?.remoteAddress,
  };
}

/** The repository hook: audits a write in the write's own transaction. */
export function auditWrite(d: WriteAuditDeps) {
  return async (db: Db, changes: readonly WriteChange[]): Promise<void> => {
    if (!d.auditLog.isEnabled) return;
    const rows: AuditRow[] = [];
    for (const { action: what, stored } of changes) {
      if (!d.compartment.has(stored.resourceType)) continue;
      const action: AuditAction = what === 'create' ? 'C' : what === 'update' ? 'U' : 'D';
      const input = {
        ...requestFacts(),
        recorded: d.clock.now(),
        action,
        subtype: what,
        outcome: 0 as const,
        entity: `${stored.resourceType}/${stored.id}/_history/${stored.versionId}`,
      };
      const patients = stored.compartment.length > 0 ? stored.compartment : [undefined];
      for (const patientId of patients) rows.push(auditRow({ ...input, patientId }));
    }
    await d.auditLog.record(rows, db);
  };
}

/**
 * A service's own write about a person, kept outside FHIR resources (a regional network's local
 * id: privacy/network-ids.ts), audited like a resource write: in the write's own transaction,
 * naming the person, the caller's organization and purpose. `subtype` names the operation.
 */
export function auditPersonWrite(d: Pick<WriteAuditDeps, 'auditLog' | 'clock'>, subtype: string) {
  return async (db: Db, w: { action: 'C' | 'U' | 'D'; patientId: string }): Promise<void> => {
    if (!d.auditLog.isEnabled) return;
    await d.auditLog.record(
      [auditRow({ ...requestFacts(), recorded: d.clock.now(), action: w.action, subtype, outcome: 0, patientId: w.patientId })],
      db,
    );
  };
}
