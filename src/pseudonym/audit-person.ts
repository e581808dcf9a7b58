/**
 * A person's pseudonym in the access log (issue 17; privacy-design.md §6): `a.` + Crockford
 * base32 of the first 16 bytes of HMAC-SHA256 under the audit key, of the person's Patient id —
 * never a KID, medical ID or My Number. One-way (option I of §4: the log never needs to go back),
 * and from the Patient id, which the audit writer has at hand for every event (a KID would cost a
 * registry read per event) and which stays the person's through a new medical ID and a change
 * that breaks linkage, so the person's chain is their whole history.
 */
import { base32crockford } from '@scure/base';
import type { PseudonymKeys } from './keys.ts';

export function auditPersonOf(keys: PseudonymKeys, patientId: string): string {
  return `a.${base32crockford.encode(keys.mac('audit-person', Buffer.from(patientId, 'utf8')).subarray(0, 16))}`;
}
