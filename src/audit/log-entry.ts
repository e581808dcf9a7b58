/**
 * Access-log entries on the server: an audit row (store/audit.ts) as the entry its leaf hashes
 * — every column but the Patient id, which the person's pseudonym in the audit domain replaces —
 * and the entry's leaf data, the UTF-8 of its RFC 8785 form (`canonicalize`), exactly as the
 * dependency-free verifier computes it (`verify/log-verify.ts`; a property test holds the two
 * canonicalizations equal). Entry format version 1:
 *
 *   v, time, type (rest | login), action, subtype, ihe, outcome, outcomeDesc, client,
 *   clientName, org ('<kind>:<code>'), purpose, request, remote*, token*, entity*, query*,
 *   provider ('<kind>:<code>'), person, seq, prev, nonce — absent values are null.
 *
 * * committed, not copied: `sha256:` + hex SHA-256(nonce ‖ "|" ‖ value). A query or an entity
 *   reference can hold a Patient id or an identifier's value (a search by medical ID), an address
 *   and a token id are the caller's: the entry, which the person and verifiers are shown, holds
 *   none of them, yet a rewritten column still changes what its entry commits to.
 *
 * The AuditEvent's id is not in the entry (it is drawn by the insert that also writes the leaf);
 * the leaf row names it, and `medid log verify` compares every entry with its event.
 */
import canonicalize from 'canonicalize';
import crypto from 'node:crypto';
import type { AuditRow } from '../store/audit.ts';
import { leafHash } from './merkle.ts';
import { ENTRY_VERSION } from './verify/log-verify.ts';
import type { LogEntry } from './verify/log-verify.ts';

export type { LogEntry } from './verify/log-verify.ts';
export { ENTRY_VERSION, FIRST_PREV } from './verify/log-verify.ts';

/** Where the entry stands in its person's chain (null: an event about no one). */
export interface ChainLink {
  person: string;
  seq: number;
  /** Lowercase hex of the previous entry's leaf hash (64 zeros at seq 1). */
  prev: string;
}

/** A value the entry commits to without holding it (salted with the entry's nonce). */
export function commitment(value: string | null | undefined, nonce: string): string | null {
  return value === null || value === undefined ? null : `sha256:${crypto.createHash('sha256').update(`${nonce}|${value}`).digest('hex')}`;
}

const orgOf = (kind: string | null | undefined, code: string | null | undefined): string | null =>
  kind && code ? `${kind}:${code}` : null;

/** The entry an audit row is logged as. */
export function entryOf(r: AuditRow, link: ChainLink | null, nonce: string): LogEntry {
  // Every absent value is null (never a missing key): the entry built now and the one rebuilt from
  // the stored event must be the same text.
  return {
    v: ENTRY_VERSION,
    time: r.recorded,
    type: r.eventType,
    action: r.action,
    subtype: r.subtype,
    ihe: r.subtypeIhe ?? null,
    outcome: r.outcome,
    outcomeDesc: r.outcomeDesc ?? null,
    client: r.clientId ?? null,
    clientName: r.clientName ?? null,
    org: orgOf(r.orgKind, r.orgCode),
    purpose: r.purpose,
    request: r.requestId ?? null,
    remote: commitment(r.remoteAddr, nonce),
    token: commitment(r.tokenId, nonce),
    entity: commitment(r.entityRef, nonce),
    query: commitment(r.query, nonce),
    provider: orgOf(r.providerKind, r.providerCode),
    person: link?.person ?? null,
    seq: link?.seq ?? null,
    prev: link?.prev ?? null,
    nonce,
  };
}

/** The leaf data of an entry. Throws on what is not I-JSON (a lone surrogate, NaN). */
export function entryData(entry: LogEntry): Buffer {
  const text = canonicalize(entry);
  if (text === undefined) throw new TypeError('a log entry must be a JSON object');
  return Buffer.from(text, 'utf8');
}

/** SHA-256(0x00 ‖ entryData(entry)). */
export function entryLeafHash(entry: LogEntry): Buffer {
  return leafHash(entryData(entry));
}
