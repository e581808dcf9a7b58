/**
 * Audit rows made ready for the access log's appender (access-log.ts): each with its entry's nonce
 * and its person's pseudonym — a keyed MAC under the pseudonymization service's key, which stays
 * with that service (a function given to us), computed when the event is hashed and remembered
 * for a while (a person's events come in bursts).
 */
import crypto from 'node:crypto';
import type { AuditRow } from '../store/audit.ts';

/** An audit row as the appender takes it: its entry's nonce, its person (null: an event about no one), and its id once stored. */
export type LogRow = AuditRow & { nonce: string; person: string | null; event?: number };

/** Pseudonyms kept in memory, by Patient id. */
const MAX_PERSONS = 10_000;

export class LogRows {
  private readonly personOfId: (patientId: string) => string;
  private readonly persons = new Map<string, string>();

  constructor(personOf: (patientId: string) => string) {
    this.personOfId = personOf;
  }

  /** The person's pseudonym, computed once per Patient id while it is remembered. */
  personOf(patientId: string): string {
    let person = this.persons.get(patientId);
    if (person === undefined) {
      person = this.personOfId(patientId);
      this.persons.set(patientId, person);
      if (this.persons.size > MAX_PERSONS) this.persons.delete(this.persons.keys().next().value as string);
    }
    return person;
  }

  /** Rows with their entry's nonce (drawn now unless the event has one) and their person's pseudonym. */
  prepared<R extends AuditRow>(rows: readonly R[]): (R & LogRow)[] {
    return rows.map((r) => ({ ...r, nonce: r.nonce ?? newNonce(), person: r.patientId ? this.personOf(r.patientId) : null }));
  }
}

/**
 * Rows written inside a transaction, each with its entry's nonce: the event row keeps it, and the
 * entry its leaf gets when drained is rebuilt from that row (leaves keep no entry text).
 */
export function stamped(rows: readonly AuditRow[]): AuditRow[] {
  return rows.map((r) => ({ ...r, nonce: r.nonce ?? newNonce() }));
}

/** Random bytes for nonces, drawn 4 KB at a time: one call into the CSPRNG per 256 events, not per event. */
let noncePool = Buffer.alloc(0);
let nonceAt = 0;

/** An entry's nonce: 16 random bytes, base64url. */
export function newNonce(): string {
  if (nonceAt + 16 > noncePool.length) {
    noncePool = crypto.randomBytes(4096);
    nonceAt = 0;
  }
  nonceAt += 16;
  return noncePool.toString('base64url', nonceAt - 16, nonceAt);
}
