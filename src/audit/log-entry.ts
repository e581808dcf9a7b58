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
  // crypto.hash: one call, no Hash object (four commitments per event on the audit path).
  return value === null || value === undefined ? null : `sha256:${crypto.hash('sha256', `${nonce}|${value}`, 'hex')}`;
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

/** The fields of an entry of version 1, in RFC 8785 order (by UTF-16 code units): the order of its text and of its fingerprints. */
export const ENTRY_FIELDS = [
  'action',
  'client',
  'clientName',
  'entity',
  'ihe',
  'nonce',
  'org',
  'outcome',
  'outcomeDesc',
  'person',
  'prev',
  'provider',
  'purpose',
  'query',
  'remote',
  'request',
  'seq',
  'subtype',
  'time',
  'token',
  'type',
  'v',
] as const;

/** A value of an entry as RFC 8785 writes it: only what entryOf puts there (null, strings, finite numbers); undefined for anything else. */
function valueText(v: unknown): string | undefined {
  if (v === null) return 'null';
  if (typeof v === 'string') return v.isWellFormed() ? JSON.stringify(v) : undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : undefined;
  return undefined;
}

/** 8 bits of FNV-1a over a field's text: a fingerprint to tell which field changed, not a commitment. */
function fingerprint(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h ^ (h >>> 8) ^ (h >>> 16) ^ (h >>> 24)) & 0xff;
}

const KEY_PREFIXES = ENTRY_FIELDS.map((k, i) => `${i === 0 ? '{' : ','}"${k}":`);

/** The text of an entry whose values are already written (ENTRY_FIELDS order), and their fingerprints. */
function assemble(values: readonly string[]): { text: string; fields: Buffer } {
  const fields = Buffer.allocUnsafe(values.length);
  let text = '';
  for (let i = 0; i < values.length; i++) {
    text += KEY_PREFIXES[i] + values[i];
    fields[i] = fingerprint(values[i]);
  }
  return { text: `${text}}`, fields };
}

/** A string value written (null when absent); a lone surrogate throws, as RFC 8785 (I-JSON) requires. */
function str(v: string | null | undefined): string {
  if (v === null || v === undefined) return 'null';
  if (!v.isWellFormed()) throw new TypeError('a log entry value holds a lone surrogate (not I-JSON)');
  return JSON.stringify(v);
}

/**
 * The entry an audit row is logged as, straight to its RFC 8785 text and field fingerprints: what
 * `entryForm(entryOf(r, link, nonce))` gives, without the object in between — the appender and
 * `medid log verify` build one per event (a test holds the two equal).
 */
export function entryFormOf(r: AuditRow, link: ChainLink | null, nonce: string): { text: string; fields: Buffer } {
  if (!Number.isFinite(r.outcome)) throw new TypeError('a log entry value is not a finite number');
  // ENTRY_FIELDS order.
  return assemble([
    str(r.action),
    str(r.clientId),
    str(r.clientName),
    str(commitment(r.entityRef, nonce)),
    str(r.subtypeIhe),
    str(nonce),
    str(orgOf(r.orgKind, r.orgCode)),
    JSON.stringify(r.outcome),
    str(r.outcomeDesc),
    str(link?.person),
    str(link?.prev),
    str(orgOf(r.providerKind, r.providerCode)),
    str(r.purpose),
    str(commitment(r.query, nonce)),
    str(commitment(r.remoteAddr, nonce)),
    str(r.requestId),
    link ? JSON.stringify(link.seq) : 'null',
    str(r.subtype),
    str(r.recorded),
    str(commitment(r.tokenId, nonce)),
    str(r.eventType),
    JSON.stringify(ENTRY_VERSION),
  ]);
}

/**
 * An entry's RFC 8785 text and one fingerprint byte per field (ENTRY_FIELDS order; null when the
 * entry is not of the shape entryOf builds, whose text then comes from the generic
 * canonicalization — the same text).
 */
export function entryForm(entry: LogEntry): { text: string; fields: Buffer | null } {
  const e = entry as Readonly<Record<string, unknown>>;
  if (Object.keys(e).length === ENTRY_FIELDS.length) {
    const values = ENTRY_FIELDS.map((k) => (k in e ? valueText(e[k]) : undefined));
    if (values.every((v) => v !== undefined)) return assemble(values);
  }
  const text = canonicalize(entry);
  if (text === undefined) throw new TypeError('a log entry must be a JSON object');
  return { text, fields: null };
}

/** The fields whose fingerprints differ (ENTRY_FIELDS order); empty when none do or either is unknown. */
export function changedFields(stored: Uint8Array | null, rebuilt: Uint8Array | null): string[] {
  if (!stored || !rebuilt || stored.length !== ENTRY_FIELDS.length || rebuilt.length !== ENTRY_FIELDS.length) return [];
  return ENTRY_FIELDS.filter((_k, i) => stored[i] !== rebuilt[i]);
}

/** The leaf data of an entry. Throws on what is not I-JSON (a lone surrogate, NaN). */
export function entryData(entry: LogEntry): Buffer {
  return Buffer.from(entryForm(entry).text, 'utf8');
}

/** SHA-256(0x00 ‖ entryData(entry)). */
export function entryLeafHash(entry: LogEntry): Buffer {
  return leafHash(entryData(entry));
}

/** The leaf hash of an entry's text: SHA-256(0x00 ‖ its UTF-8), in one call. */
export function textLeafHash(text: string): Buffer {
  return crypto.hash('sha256', `\u0000${text}`, 'buffer');
}
