/**
 * The access log's appender (issue 17; privacy-design.md §6): gives each audit event its place in
 * the one Merkle tree — its leaf index — in the statement that inserts the event, and then, a few
 * milliseconds later and in index order, its leaf: the entry hashed (merkle.ts), chained to its
 * person's previous entry, folded into the stored tree.
 *
 * Why in two steps (issue 17 item 3, ≥ 90 % of audited throughput): a disclosure waits for its
 * audit batch to commit, and with the hashing in that batch the wait grew by a third. Its place
 * is what "log before release" needs: once the place commits, everything its leaf will hash is
 * fixed — the event row with its nonce, and (in index order) the person's seq and previous leaf.
 * The hash adds no protection until a signed tree head covers it (a stored hash can be rewritten
 * as easily as the row it hashes), and heads are signed only over hashed leaves (tree-heads.ts
 * asks `caughtUp` first). Migration 0020 says the same beside the table.
 *
 * One placing at a time and one hashing at a time per process. Several nodes place and hash
 * optimistically: an index or a person's seq another node took first is a unique violation, the
 * statement fails whole, the state is read again (one O(log n) read) and the work retried — a
 * tree or a chain never forks. Whatever this process did not place (another node's, a CLI run's,
 * an earlier run's) is read back from the database by index.
 *
 * Events a write records inside its own transaction cannot get a place there (their order in the
 * log is the order they commit): they wait in audit.log_pending, and `drain` places them right
 * after the transaction commits, before the write's response leaves (api/audit-hook.ts).
 */
import type { Logger } from '../core/logger.ts';
import { isOutcomeError } from '../core/outcome.ts';
import type { Db } from '../store/db.ts';
import {
  insertLeaves,
  insertPlaced,
  logSize,
  pendingAuditEvents,
  placedEvents,
  placedSize,
  placePending,
  renderWrites,
} from '../store/audit.ts';
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
  /** Told when hashing in the background failed (it is tried again at the next placing or drain). */
  logger?: Logger;
}

/** Queued events placed per statement, and placed events read back per statement. */
const READ_BATCH = 500;
/** How long placed events wait to be hashed together (a signed head waits for them: `caughtUp`). */
const HASH_DELAY_MS = 100;
/** Leaves hashed per statement at most. */
const HASH_BATCH = 2000;
/** Placed rows kept in memory for hashing; beyond it they are read back (only when hashing is stuck). */
const MAX_WAITING = 50_000;
/**
 * Statements tried when other nodes keep taking the same indices first, each after a short random
 * pause (so busy nodes stop meeting at the same index): some node wins every clash, so each
 * clash is progress for the log, and a busy node gets its turn within a few tries.
 */
const MAX_ATTEMPTS = 40;
const clashPause = (attempt: number): Promise<void> => new Promise((r) => setTimeout(r, Math.random() * Math.min(25, 2 * attempt)));

interface Planned {
  leaves: LeafRow[];
  nodes: NodeRow[];
  frontier: Frontier;
  heads: Map<string, ChainHead>;
}

type Stamped = AuditRow & { nonce: string };

const personsOf = (rows: readonly LogRow[]): string[] => rows.flatMap((r) => (r.person ? [r.person] : []));

export class AccessLog {
  private readonly d: AccessLogDeps;
  private readonly rows: LogRows;
  private readonly heads: ChainHeads;
  /** The next place to give (undefined: read it from the database). */
  private placed: number | undefined;
  /** Rows this process placed and has not hashed yet, by leaf index. */
  private readonly waiting = new Map<number, Stamped>();
  /** The hashed tree's frontier (undefined: read it from the database). */
  private frontier: Frontier | undefined;
  private placing: Promise<unknown> = Promise.resolve();
  private hashing: Promise<unknown> = Promise.resolve();
  private hashQueued = false;
  /** Leaves hashed by this process since start (the tree heads' counter). */
  appended = 0;

  constructor(d: AccessLogDeps) {
    this.d = d;
    this.rows = new LogRows(d.personOf);
    this.heads = new ChainHeads(d.db);
  }

  /** Runs `fn` after every placing before it (one at a time in this process). */
  private place<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.placing.then(fn, fn);
    this.placing = p.catch(() => undefined);
    return p;
  }

  private async nextPlace(): Promise<number> {
    this.placed ??= await placedSize(this.d.db);
    return this.placed;
  }

  private adoptPlaces(from: number, rows: readonly Stamped[]): void {
    this.placed = from + rows.length;
    if (this.waiting.size + rows.length <= MAX_WAITING) rows.forEach((r, i) => this.waiting.set(from + i, r));
    this.kick();
  }

  /** Appends a batch of events with their places (and the audited writes that commit with them): one statement. */
  append(rows: readonly AuditRow[], writes: readonly AuditedWriteRows[]): Promise<void> {
    const prepared = stamped(rows) as Stamped[];
    const events = JSON.stringify(prepared);
    const rendered = renderWrites(writes, 3);
    return this.place(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          const from = await this.nextPlace();
          await insertPlaced(this.d.db, events, JSON.stringify(prepared.map((r, i) => ({ idx: from + i, nonce: r.nonce }))), rendered);
          this.adoptPlaces(from, prepared);
          return;
        } catch (e) {
          this.placed = undefined;
          if (attempt >= MAX_ATTEMPTS || !isUniqueViolation(e)) throw e;
          await clashPause(attempt);
        }
      }
    });
  }

  /** Places the events waiting in the queue (written inside transactions that have committed). */
  drain(): Promise<number> {
    return this.place(async () => {
      let total = 0;
      let clashes = 0;
      for (;;) {
        const pending = await pendingAuditEvents(this.d.db, READ_BATCH);
        if (pending.length === 0) return total;
        try {
          const from = await this.nextPlace();
          await placePending(
            this.d.db,
            pending.map((e, i) => [from + i, e.seq] as const),
          );
          this.adoptPlaces(from, pending as Stamped[]);
          total += pending.length;
          clashes = 0;
        } catch (e) {
          this.placed = undefined;
          // Another node took these (or an index) first: read again and carry on — a few times;
          // anything else, or a clash that does not clear, fails.
          if (!isUniqueViolation(e) || ++clashes >= MAX_ATTEMPTS) throw e;
          await clashPause(clashes);
        }
      }
    });
  }

  /**
   * Rows to write inside a transaction (they queue), each with its entry's nonce: the event row
   * keeps it, and the entry its leaf gets is rebuilt from that row.
   */
  stamped(rows: readonly AuditRow[]): AuditRow[] {
    return stamped(rows);
  }

  // ---- Hashing, in index order, off the response's path ----

  /**
   * Hashes what was just placed, HASH_DELAY_MS from now and after the hashing ahead of it (at most
   * one run waits): the places of a few dozen audit batches make one statement, not one each.
   */
  private kick(): void {
    if (this.hashQueued) return;
    this.hashQueued = true;
    setTimeout(() => {
      const run = (): Promise<void> => {
        this.hashQueued = false;
        return this.hashAvailable(false);
      };
      this.hashing = this.hashing.then(run, run).catch((e: unknown) => {
        this.d.logger?.error({ err: (e as Error).message }, 'access log: hashing failed (retried at the next placing)');
      });
    }, HASH_DELAY_MS).unref();
  }

  /**
   * Resolves once every place given so far — by any process — has its leaf: before a tree head
   * is signed, after `medid import` or `export`, at start.
   */
  async caughtUp(): Promise<void> {
    await this.place(() => Promise.resolve());
    const target = await placedSize(this.d.db);
    const run = (): Promise<void> => this.hashAvailable(true);
    const p = this.hashing.then(run, run);
    this.hashing = p.catch(() => undefined);
    await p;
    if ((this.frontier?.size ?? 0) < target)
      throw new Error(`access log: ${target - (this.frontier?.size ?? 0)} placed events could not be hashed`);
  }

  /** Hashes placed rows from the frontier on while there are any: this process's from memory, others' read back. */
  private async hashAvailable(readBack: boolean): Promise<void> {
    let clashes = 0;
    for (;;) {
      if (!this.frontier) {
        const size = await logSize(this.d.db);
        this.frontier = size === 0 ? EMPTY_FRONTIER : await readFrontier(size, storedTree(this.d.db));
      }
      const from = this.frontier.size;
      for (const idx of this.waiting.keys()) if (idx < from) this.waiting.delete(idx);
      let batch: Stamped[] = [];
      for (let i = from; batch.length < HASH_BATCH && this.waiting.has(i); i++) batch.push(this.waiting.get(i) as Stamped);
      if (batch.length === 0) {
        // Nothing of ours at the frontier: places another process gave (or ours beyond memory).
        if (!readBack && (this.placed === undefined || this.placed <= from)) return;
        const found = await placedEvents(this.d.db, from, READ_BATCH);
        if (found.length === 0) return;
        batch = found.map((f, i) => {
          if (f.idx !== from + i) throw new Error(`access log: no place ${from + i} (the next is ${f.idx})`);
          if (!f.event) throw new Error(`access log: the event placed at leaf ${f.idx} is gone; hashing stops there`);
          if (!f.event.nonce) throw new Error(`access log: the event placed at leaf ${f.idx} has no nonce`);
          return f.event as Stamped;
        });
      }
      const rows = this.rows.prepared(batch);
      try {
        await this.heads.load(personsOf(rows));
        const p = this.plan(rows);
        await insertLeaves(this.d.db, p.leaves, p.nodes);
        this.adopt(p);
        clashes = 0;
      } catch (e) {
        // Another node hashed these first: read its frontier and heads, and go on from there.
        this.frontier = undefined;
        this.heads.reset();
        if (!isUniqueViolation(e) || ++clashes >= MAX_ATTEMPTS) throw e;
      }
    }
  }

  /** The leaves, nodes and state after hashing `rows` (placed from the frontier on), from the state now. */
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
    for (const l of p.leaves) this.waiting.delete(l.idx);
    this.frontier = p.frontier;
    for (const [person, head] of p.heads) this.heads.remember(person, head);
    this.appended += p.leaves.length;
  }
}

/** A key another appender took first: the driver's unique violation, as the store maps it (409 `duplicate`) or raw. */
function isUniqueViolation(e: unknown): boolean {
  if (isOutcomeError(e)) return e.outcome.issue?.some((i) => i.details?.coding?.some((c) => c.code === 'duplicate')) ?? false;
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === '23505';
}
