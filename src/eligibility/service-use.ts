/**
 * Service uses (R9) as an audited write: the rows a valid confirmation hands to the audit log,
 * which writes them in the statement that records the confirmation (audit/audited-writes.ts).
 * `serviceUseWrite` is registered with the audit log at start-up (app.ts).
 */
import { serviceUseUpsert } from '../store/service-use.ts';
import type { ServiceUse } from '../store/service-use.ts';

export type { ServiceUse };

/** The upsert, registered with the audit log's audited writes. */
export const serviceUseWrite = serviceUseUpsert;

/** The pending audited write of a confirmation's service uses. */
export function serviceUsesToRecord(uses: readonly ServiceUse[]): { kind: string; rows: readonly ServiceUse[] } {
  return { kind: serviceUseUpsert.kind, rows: uses };
}
