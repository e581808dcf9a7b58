/**
 * `medid log verify`'s check of each leaf against its event, and of each person's chain
 * (audit/log-audit.ts), leaf by leaf in log order. A leaf keeps no copy of its entry: the entry is
 * rebuilt from the event row (entryOf) with the leaf's person and seq, the event's nonce and, as
 * `prev`, the stored hash of the person's leaf before — and must hash to the stored leaf hash.
 *
 * When it does not, the event row or the leaf hash was changed; which one, the leaves say:
 * - the leaf's field fingerprints (audit/log-entry.ts) name the fields the event no longer gives;
 *   when every field is as written, the hash is what changed ('leaf-hash');
 * - the person's next entry links to the previous entry's hash: if it links to the hash the event
 *   gives rather than to the stored one, the stored hash was changed ('leaf-hash', and the chain
 *   breaks there); if it links to the stored one, the event was rewritten ('event-rewritten').
 * Each chain must run seq 1, 2, 3, … in log order; a leaf after a gap cannot be rebuilt (its
 * `prev` is gone) and is not counted as checked.
 *
 * Memory: one small record per person seen (their last leaf), so the chains are checked in the
 * same single pass over the leaves as the tree.
 */
import type { AuditRow } from '../store/audit.ts';
import type { StoredLeaf } from '../store/access-log-read.ts';
import type { Problem, Problems } from './log-audit-problems.ts';
import { changedFields, entryFormOf, FIRST_PREV, textLeafHash } from './log-entry.ts';

interface ChainState {
  seq: number;
  idx: number;
  /** The stored leaf hash: the next entry's `prev`. */
  hash: Buffer;
  /** When the leaf did not match its event: the hash its event gives, and the problem reported. */
  rebuilt?: Buffer;
  problem?: Problem;
  broken: boolean;
}

type Rebuilt = { hash: Buffer; fields: Buffer | null } | { error: string };

/** The leaf hash (and field fingerprints) of the entry an event row gives at a place in a chain. */
function rebuild(event: AuditRow, leaf: StoredLeaf, prev: string | null): Rebuilt {
  if (!event.nonce) return { error: 'the row has no nonce' };
  const link = leaf.person !== null && leaf.pseq !== null && prev !== null ? { person: leaf.person, seq: leaf.pseq, prev } : null;
  try {
    const form = entryFormOf(event, link, event.nonce);
    return { hash: textLeafHash(form.text), fields: form.fields };
  } catch (e) {
    return { error: `the row gives no entry: ${(e as Error).message}` };
  }
}

export class EntryCheck {
  /** Leaves whose event was compared with them. */
  eventsChecked = 0;
  readonly failed: string[] = [];
  failedCount = 0;
  private readonly chains = new Map<string, ChainState>();
  private readonly problems: Problems;
  private readonly personOf: ((patientId: string) => string) | undefined;
  private readonly maxNamed: number;

  constructor(problems: Problems, personOf: ((patientId: string) => string) | undefined, maxNamed: number) {
    this.problems = problems;
    this.personOf = personOf;
    this.maxNamed = maxNamed;
  }

  /** Persons whose chains were seen. */
  get persons(): number {
    return this.chains.size;
  }

  private chainFails(person: string, state: ChainState | undefined, leaf: number, message: string): void {
    if (state?.broken) return;
    if (state) state.broken = true;
    this.failedCount++;
    if (this.failed.length < this.maxNamed) this.failed.push(person);
    this.problems.add({ kind: 'chain', person, leaf, message: `person ${person}: ${message}` });
  }

  /** The `prev` the leaf's entry must hold; undefined when its chain does not lead to it (a problem is reported). */
  private prevOf(leaf: StoredLeaf & { person: string; pseq: number }, state: ChainState | undefined): string | undefined {
    const expect = (state?.seq ?? 0) + 1;
    if (leaf.pseq === expect) return state ? state.hash.toString('hex') : FIRST_PREV;
    const why =
      leaf.pseq < expect
        ? `seq ${leaf.pseq} comes after seq ${expect - 1}: repeated or out of order`
        : `${leaf.pseq === expect + 1 ? `seq ${expect} is` : `seq ${expect}–${leaf.pseq - 1} are`} missing before seq ${leaf.pseq}`;
    const broken = state ?? { seq: 0, idx: -1, hash: Buffer.alloc(0), broken: false };
    this.chainFails(leaf.person, broken, leaf.idx, `${why} (leaf ${leaf.idx})`);
    if (!state) this.chains.set(leaf.person, broken);
    return undefined;
  }

  /** Checks one leaf (called in leaf index order). */
  leaf(leaf: StoredLeaf): void {
    const at = {
      leaf: leaf.idx,
      ...(leaf.eventId !== null ? { event: leaf.eventId } : {}),
      ...(leaf.person !== null ? { person: leaf.person } : {}),
    };
    if ((leaf.person === null) !== (leaf.pseq === null)) {
      this.problems.add({ kind: 'leaf-entry', ...at, message: `leaf ${leaf.idx} has a person without a seq, or a seq without a person` });
      return;
    }
    const state = leaf.person !== null ? this.chains.get(leaf.person) : undefined;
    const prev = leaf.person !== null && leaf.pseq !== null ? this.prevOf({ ...leaf, person: leaf.person, pseq: leaf.pseq }, state) : null;
    const broken = leaf.person !== null && (this.chains.get(leaf.person)?.broken ?? false);
    const next: ChainState = { seq: leaf.pseq ?? 0, idx: leaf.idx, hash: leaf.hash, broken };
    if (leaf.person !== null) this.chains.set(leaf.person, next);
    if (leaf.eventId === null) return; // no place: reported by the caller
    if (!leaf.event) {
      this.problems.add({ kind: 'event-missing', ...at, message: `event ${leaf.eventId} (leaf ${leaf.idx}) is gone: its row was deleted` });
      return;
    }
    if (prev === undefined) return;
    this.eventsChecked++;
    // The Patient id is not in the entry: the person is (by its pseudonym), so a row that gained,
    // lost or (given the key) changed its Patient shows here.
    const event = leaf.event;
    const patient =
      (event.patientId === null) !== (leaf.person === null) ||
      (this.personOf !== undefined && event.patientId !== null && this.personOf(event.patientId) !== leaf.person);
    const r = rebuild(event, leaf, prev);
    if ('hash' in r && r.hash.equals(leaf.hash)) {
      if (patient) this.rewritten(at, ['patient']);
      return;
    }
    // The person's entry before did not match its event either: if this entry links to the hash
    // that event gives, it was that leaf's stored hash that changed.
    if (state?.rebuilt && leaf.person !== null) {
      const again = rebuild(event, leaf, state.rebuilt.toString('hex'));
      if ('hash' in again && again.hash.equals(leaf.hash)) {
        const before = state.problem;
        if (before && before.kind !== 'leaf-hash')
          this.problems.reclassify(
            before,
            'leaf-hash',
            `leaf ${state.idx}'s hash was changed: the person's next entry (leaf ${leaf.idx}) links to the hash of the entry event ${before.event} gives`,
          );
        this.chainFails(
          leaf.person,
          next,
          leaf.idx,
          `seq ${next.seq}'s prev is not the leaf hash of seq ${next.seq - 1}: that hash was changed (leaf ${state.idx})`,
        );
        if (patient) this.rewritten(at, ['patient']);
        return;
      }
    }
    if ('error' in r) {
      next.problem = this.rewritten(at, [], r.error);
      return;
    }
    next.rebuilt = r.hash;
    const fields = changedFields(leaf.fields, r.fields);
    if (patient) fields.push('patient');
    // Every field as written (the fingerprints agree), yet another hash: the hash was changed.
    if (fields.length === 0 && leaf.fields !== null && r.fields !== null)
      next.problem = this.problems.add({
        kind: 'leaf-hash',
        ...at,
        message: `leaf ${leaf.idx}'s hash was changed: event ${leaf.eventId} gives every field as written, and an entry of another hash`,
      });
    else next.problem = this.rewritten(at, fields);
  }

  private rewritten(at: Pick<Problem, 'leaf' | 'event' | 'person'>, fields: string[], why?: string): Problem {
    const what = why ?? (fields.length === 0 ? '' : `${fields.join(', ')} ${fields.length === 1 ? 'differs' : 'differ'}`);
    return this.problems.add({
      kind: 'event-rewritten',
      ...at,
      message: `event ${at.event} (leaf ${at.leaf}) was rewritten: its row no longer gives its leaf's hash${what ? ` (${what})` : ''}`,
    });
  }
}
