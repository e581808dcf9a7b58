/**
 * Access-log entries on the server: the entry's leaf data is the UTF-8 of its RFC 8785 form
 * (`canonicalize`), exactly as the dependency-free verifier computes it (`verify/log-verify.ts`,
 * where the entry format is documented; a property test holds the two canonicalizations equal).
 */
import canonicalize from 'canonicalize';
import { leafHash } from './merkle.ts';
import type { LogEntry } from './verify/log-verify.ts';

export type { LogEntry } from './verify/log-verify.ts';
export { ENTRY_VERSION, FIRST_PREV } from './verify/log-verify.ts';

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
