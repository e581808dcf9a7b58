/**
 * The access log's appender (issue 17; privacy-design.md §6): gives each audit event its leaf in
 * the one Merkle tree (merkle.ts) and its place in its person's chain, in the statement that
 * inserts the event — so "log before release" costs no extra round trip: a disclosure already
 * waits for its audit batch to commit, and the batch now carries the leaves.
 *
 * One appender per process, one append at a time (the audit writer's group commit already runs
 * one batch at a time; `run` also serializes the queue of events written inside other
 * transactions). It keeps the tree's frontier (≤ log₂ n hashes) and recent persons' chain heads
 * in memory. Several nodes append optimistically: a leaf index or a person's seq another node took
 * first is a unique violation, the statement fails whole, the state is read again (one O(log n)
 * read) and the batch retried — a tree or a chain never forks.
 *
 * Events a write records inside its own transaction cannot get a leaf there (their order in the
 * log is the order they commit): they wait in audit.log_pending and `drain` gives them leaves
 * right after the transaction commits, before the write's response leaves (api/audit-hook.ts).
 */
import crypto from 'node:crypto';
import { isOutcomeError } from '../core/outcome.ts';
import type { Db } from '../store/db.ts';
import { appendPendingLeaves, chainHeads, insertAuditEvents, logSize, pendingAuditEvents, readSubtrees } from '../store/audit.ts';
import type { AuditedWriteRows, AuditRow, LeafRow, NodeRow } from '../store/audit.ts';
import { entryData, entryOf, FIRST_PREV } from './log-entry.ts';
import type { ChainLink } from './log-entry.ts';
import { appendLeaf, EMPTY_FRONTIER, leafHash, readFrontier } from './merkle.ts';
import type { Frontier } from './merkle.ts';

export interface AccessLogDeps {
  /** Where the log lives (the audit database). */
  db: Db;
  /** The person's pseudonym in the audit domain (a keyed MAC of the Patient id): a function, the audit service holds no key. */
  personOf: (patientId: string) => string;
}

/** Chain heads kept in memory: enough for the persons of a busy minute, not the nation. */
const MAX_HEADS = 100_000;
const PENDING_BATCH = 500;
/** Appends tried when other nodes keep taking the same leaf indices first. */
const MAX_ATTEMPTS = 4;

interface Planned {
  leaves: LeafRow[];
  nodes: NodeRow[];
  frontier: Frontier;
  heads: Map<string, { seq: number; hash: string }>;
}

export class AccessLog {
  private readonly d: AccessLogDeps;
  private frontier: Frontier | undefined;
  private readonly heads = new Map<string, { seq: number; hash: string }>();
  private tail: Promise<unknown> = Promise.resolve();
  /** Leaves appended by this process since start. */
  appended = 0;

  constructor(d: AccessLogDeps) {
    this.d = d;
  }

  /** Runs `fn` after every append before it (one append at a time in this process). */
  private run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /** Forgets what it knew (after a failed append: another node may have appended). */
  private reset(): void {
    this.frontier = undefined;
    this.heads.clear();
    this.generation++;
  }

  /**
   * Starts reading the chain heads of persons whose events were just queued, while the batch
   * ahead of them commits: the appender is one at a time, and a lookup of its own before each
   * statement would nearly halve what it can take. One query per turn of the event loop.
   */
  warm(patientIds: readonly string[]): void {
    for (const id of patientIds) {
      const person = this.d.personOf(id);
      if (!this.heads.has(person) && !this.loading.has(person)) this.toWarm.add(person);
    }
    if (this.toWarm.size === 0 || this.warmScheduled) return;
    this.warmScheduled = true;
    setImmediate(() => {
      this.warmScheduled = false;
      const persons = [...this.toWarm].filter((p) => !this.heads.has(p) && !this.loading.has(p));
      this.toWarm.clear();
      if (persons.length === 0) return;
      const gen = this.generation;
      const done = chainHeads(this.d.db, persons)
        .then((found) => {
          // A batch adopted meanwhile knows better; a reset (another node appended) makes this stale.
          if (gen !== this.generation) return;
          for (const p of persons) if (!this.heads.has(p)) this.remember(p, found.get(p) ?? { seq: 0, hash: FIRST_PREV });
        })
        .catch(() => undefined)
        .finally(() => {
          for (const p of persons) if (this.loading.get(p) === done) this.loading.delete(p);
        });
      for (const p of persons) this.loading.set(p, done);
    });
  }

  private readonly loading = new Map<string, Promise<void>>();
  private readonly toWarm = new Set<string>();
  private warmScheduled = false;
  private generation = 0;

  private async state(db: Db, persons: readonly string[]): Promise<void> {
    if (!this.frontier) {
      const size = await logSize(db);
      this.frontier = size === 0 ? EMPTY_FRONTIER : await readFrontier(size, { read: (t) => readSubtrees(db, t) });
    }
    const waiting = [...new Set(persons.flatMap((p) => (this.heads.has(p) ? [] : [this.loading.get(p)])))].filter((x) => x !== undefined);
    if (waiting.length > 0) await Promise.all(waiting);
    const missing = [...new Set(persons)].filter((p) => !this.heads.has(p));
    if (missing.length > 0) {
      const found = await chainHeads(db, missing);
      for (const p of missing) this.remember(p, found.get(p) ?? { seq: 0, hash: FIRST_PREV });
    }
  }

  private remember(person: string, head: { seq: number; hash: string }): void {
    this.heads.delete(person);
    this.heads.set(person, head);
    if (this.heads.size > MAX_HEADS) this.heads.delete(this.heads.keys().next().value as string);
  }

  /** The leaves, nodes and state after appending `rows` (each with its nonce set), from the state now. */
  private plan(rows: readonly (AuditRow & { nonce: string; event?: number; person: string | null })[]): Planned {
    let frontier = this.frontier as Frontier;
    const heads = new Map<string, { seq: number; hash: string }>();
    const leaves: LeafRow[] = [];
    const nodes: NodeRow[] = [];
    for (const r of rows) {
      let link: ChainLink | null = null;
      if (r.person) {
        const person = r.person;
        const head = heads.get(person) ?? this.heads.get(person) ?? { seq: 0, hash: FIRST_PREV };
        link = { person, seq: head.seq + 1, prev: head.hash };
      }
      const entry = entryData(entryOf(r, link, r.nonce));
      const hash = leafHash(entry);
      const appended = appendLeaf(frontier, hash);
      for (const n of appended.created)
        if (n.level > 0) nodes.push({ level: n.level, idx: n.index, hash: Buffer.from(n.hash).toString('hex') });
      leaves.push({
        idx: frontier.size,
        ...(r.event !== undefined ? { event: r.event } : {}),
        nonce: r.nonce,
        hash: hash.toString('hex'),
        entry: entry.toString('utf8'),
        person: link?.person ?? null,
        pseq: link?.seq ?? null,
      });
      if (link) heads.set(link.person, { seq: link.seq, hash: hash.toString('hex') });
      frontier = appended.frontier;
    }
    return { leaves, nodes, frontier, heads };
  }

  private adopt(p: Planned): void {
    this.frontier = p.frontier;
    for (const [person, head] of p.heads) this.remember(person, head);
    this.appended += p.leaves.length;
  }

  /** Appends a batch of events with their leaves (and the audited writes that commit with them): one statement. */
  append(rows: readonly AuditRow[], writes: readonly AuditedWriteRows[]): Promise<void> {
    const withNonces = this.prepared(rows);
    return this.run(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.state(this.d.db, this.personsOf(withNonces));
          const p = this.plan(withNonces);
          await insertAuditEvents(this.d.db, withNonces, writes, { leaves: p.leaves, nodes: p.nodes });
          this.adopt(p);
          return;
        } catch (e) {
          this.reset();
          if (attempt >= MAX_ATTEMPTS || !isUniqueViolation(e)) throw e;
        }
      }
    });
  }

  /** Gives the events waiting in the queue (written inside transactions that have committed) their leaves. */
  drain(): Promise<number> {
    return this.run(async () => {
      let total = 0;
      let clashes = 0;
      for (;;) {
        const pending = await pendingAuditEvents(this.d.db, PENDING_BATCH);
        if (pending.length === 0) return total;
        const rows = this.prepared(pending).map((r) => ({ ...r, event: r.seq }));
        try {
          await this.state(this.d.db, this.personsOf(rows));
          const p = this.plan(rows);
          await appendPendingLeaves(this.d.db, p.leaves, p.nodes);
          this.adopt(p);
          total += rows.length;
          clashes = 0;
        } catch (e) {
          this.reset();
          // Another node took these (or a leaf index) first: read again and carry on — a few times;
          // anything else, or a clash that does not clear, fails.
          if (!isUniqueViolation(e) || ++clashes >= MAX_ATTEMPTS) throw e;
        }
      }
    });
  }

  /** Rows with their entry's nonce and their person's pseudonym, computed once (one keyed MAC per event). */
  private prepared<R extends AuditRow>(rows: readonly R[]): (R & { nonce: string; person: string | null })[] {
    return rows.map((r) => ({
      ...r,
      nonce: crypto.randomBytes(16).toString('base64url'),
      person: r.patientId ? this.d.personOf(r.patientId) : null,
    }));
  }

  private personsOf(rows: readonly { person: string | null }[]): string[] {
    return rows.flatMap((r) => (r.person ? [r.person] : []));
  }
}

/** A key another appender took first: the driver's unique violation, as the store maps it (409 `duplicate`) or raw. */
function isUniqueViolation(e: unknown): boolean {
  if (isOutcomeError(e)) return e.outcome.issue?.some((i) => i.details?.coding?.some((c) => c.code === 'duplicate')) ?? false;
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === '23505';
}
