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
 *
 * What it adds to the statement is kept small (issue 17 item 3): a leaf row without its entry
 * text (rebuilt from the event when needed), subtrees stored only from level 8 up (stored-tree.ts),
 * and the chain heads read ahead (chain-heads.ts).
 */
import { isOutcomeError } from '../core/outcome.ts';
import type { Db } from '../store/db.ts';
import { appendPendingLeaves, insertLogged, logSize, pendingAuditEvents, renderWrites } from '../store/audit.ts';
import type { AuditedWriteRows, AuditRow, LeafRow, NodeRow } from '../store/audit.ts';
import { ChainHeads } from './chain-heads.ts';
import type { ChainHead } from './chain-heads.ts';
import { entryFormOf, textLeafHash } from './log-entry.ts';
import type { ChainLink } from './log-entry.ts';
import { LogRows, stamped } from './log-rows.ts';
import type { LogRow } from './log-rows.ts';
import { appendLeaf, EMPTY_FRONTIER, readFrontier } from './merkle.ts';
import type { Frontier } from './merkle.ts';
import { STORED_FROM_LEVEL, storedTree } from './stored-tree.ts';

export interface AccessLogDeps {
  /** Where the log lives (the audit database). */
  db: Db;
  /** The person's pseudonym in the audit domain (a keyed MAC of the Patient id): a function, the audit service holds no key. */
  personOf: (patientId: string) => string;
}

/** Queued events given their leaves per statement. */
const PENDING_BATCH = 500;
/** Appends tried when other nodes keep taking the same leaf indices first. */
const MAX_ATTEMPTS = 4;

interface Planned {
  leaves: LeafRow[];
  nodes: NodeRow[];
  frontier: Frontier;
  heads: Map<string, ChainHead>;
}

const personsOf = (rows: readonly LogRow[]): string[] => rows.flatMap((r) => (r.person ? [r.person] : []));

export class AccessLog {
  private readonly d: AccessLogDeps;
  private readonly rows: LogRows;
  private readonly heads: ChainHeads;
  private frontier: Frontier | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  /** Leaves appended by this process since start. */
  appended = 0;

  constructor(d: AccessLogDeps) {
    this.d = d;
    this.rows = new LogRows(d.personOf);
    this.heads = new ChainHeads(d.db);
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
    this.heads.reset();
  }

  /** Starts reading the chain heads of the persons of events just queued, while the batch ahead of them commits. */
  warm(patientIds: readonly string[]): void {
    this.heads.warm(patientIds.map((id) => this.rows.personOf(id)));
  }

  private async state(persons: readonly string[]): Promise<void> {
    if (!this.frontier) {
      const size = await logSize(this.d.db);
      this.frontier = size === 0 ? EMPTY_FRONTIER : await readFrontier(size, storedTree(this.d.db));
    }
    await this.heads.load(persons);
  }

  /** The leaves, nodes and state after appending `rows`, from the state now. */
  private plan(rows: readonly LogRow[]): Planned {
    let frontier = this.frontier as Frontier;
    const heads = new Map<string, ChainHead>();
    const leaves: LeafRow[] = [];
    const nodes: NodeRow[] = [];
    for (const r of rows) {
      let link: ChainLink | null = null;
      if (r.person) {
        const head = heads.get(r.person) ?? this.heads.get(r.person);
        link = { person: r.person, seq: head.seq + 1, prev: head.hash };
      }
      const entry = entryFormOf(r, link, r.nonce);
      const hash = textLeafHash(entry.text);
      const appended = appendLeaf(frontier, hash);
      for (const n of appended.created)
        if (n.level >= STORED_FROM_LEVEL) nodes.push({ level: n.level, idx: n.index, hash: Buffer.from(n.hash).toString('hex') });
      leaves.push({
        idx: frontier.size,
        ...(r.event !== undefined ? { event: r.event } : {}),
        nonce: r.nonce,
        hash: hash.toString('hex'),
        fields: entry.fields.toString('hex'),
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
    for (const [person, head] of p.heads) this.heads.remember(person, head);
    this.appended += p.leaves.length;
  }

  /** Appends a batch of events with their leaves (and the audited writes that commit with them): one statement. */
  append(rows: readonly AuditRow[], writes: readonly AuditedWriteRows[]): Promise<void> {
    const prepared = this.rows.prepared(rows);
    const events = JSON.stringify(prepared);
    const rendered = renderWrites(writes, 4);
    return this.run(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.state(personsOf(prepared));
          const p = this.plan(prepared);
          await insertLogged(this.d.db, events, JSON.stringify(p.leaves), JSON.stringify(p.nodes), rendered);
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
        const rows = this.rows.prepared(pending).map((r) => ({ ...r, event: r.seq }));
        try {
          await this.state(personsOf(rows));
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

  /**
   * Rows to write inside a transaction (they queue), each with its entry's nonce: the event row
   * keeps it, and the entry its leaf gets when drained is rebuilt from that row.
   */
  stamped(rows: readonly AuditRow[]): AuditRow[] {
    return stamped(rows);
  }
}

/** A key another appender took first: the driver's unique violation, as the store maps it (409 `duplicate`) or raw. */
function isUniqueViolation(e: unknown): boolean {
  if (isOutcomeError(e)) return e.outcome.issue?.some((i) => i.details?.coding?.some((c) => c.code === 'duplicate')) ?? false;
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === '23505';
}
