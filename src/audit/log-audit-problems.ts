/**
 * What `medid log verify` finds (audit/log-audit.ts): the kinds of problem, and the list the
 * report keeps — every problem counted, the first ones kept with their messages.
 */

export type ProblemKind =
  /** Leaf indices are not 0…n−1. */
  | 'leaf-gap'
  /** A stored leaf hash was changed: its event gives the entry it was computed from, or its person's next entry links to that entry's hash. */
  | 'leaf-hash'
  /** A leaf whose person and seq cannot be an entry's (a person without a seq, or the other way round). */
  | 'leaf-entry'
  /** A leaf whose event row is gone. */
  | 'event-missing'
  /** An event row that no longer gives its leaf's hash. */
  | 'event-rewritten'
  /** An event from the log's first on with no leaf, not waiting in audit.log_pending. */
  | 'event-unlogged'
  /** A queued event that is gone, or that has its place already. */
  | 'pending'
  /** A leaf whose place is gone; places not hashed yet that skip an index; a placed event, not hashed yet, that is gone. */
  | 'place'
  /** A stored subtree that is not the recomputed one, is missing, or covers leaves the log does not have. */
  | 'node'
  /** A stored head, or a checkpoint given, that the log does not bear out. */
  | 'head'
  /** A person's chain that breaks. */
  | 'chain';

export interface Problem {
  kind: ProblemKind;
  message: string;
  /** The leaf index concerned. */
  leaf?: number;
  /** The AuditEvent id concerned. */
  event?: number;
  /** The person's pseudonym in the audit domain. */
  person?: string;
  /** A subtree's level and index. */
  level?: number;
  index?: number;
  /** A head's tree size. */
  size?: number;
}

export class Problems {
  readonly list: Problem[] = [];
  count = 0;
  readonly counts: Partial<Record<ProblemKind, number>> = {};
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  /** Counts a problem, and keeps it while fewer than the maximum are kept. Returns it. */
  add(p: Problem): Problem {
    this.count++;
    this.counts[p.kind] = (this.counts[p.kind] ?? 0) + 1;
    if (this.list.length < this.max) this.list.push(p);
    return p;
  }
  /** Problems of a kind counted beyond those listed (a query returned only the first ones). */
  more(kind: ProblemKind, n: number): void {
    if (n <= 0) return;
    this.count += n;
    this.counts[kind] = (this.counts[kind] ?? 0) + n;
  }
  /** A problem found earlier that later leaves show to be another kind (where it is listed, it stays). */
  reclassify(p: Problem, kind: ProblemKind, message: string): void {
    this.counts[p.kind] = (this.counts[p.kind] ?? 1) - 1;
    if (this.counts[p.kind] === 0) Reflect.deleteProperty(this.counts, p.kind);
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    p.kind = kind;
    p.message = message;
  }
}
