/**
 * Where each person's chain in the access log stands — its last entry's seq and leaf hash — as the
 * appender (access-log.ts) needs it before it can hash a person's next entry. Read ahead for the
 * events just queued, while the batch ahead of them commits (a read before each statement would
 * nearly halve what the appender can take), and remembered for recent persons.
 *
 * One read in flight at a time: persons queued meanwhile wait for the next one, so a batch's
 * persons take about one query — not one per turn of the event loop, which queued up behind each
 * other on the audit pool's spare connection.
 */
import type { Db } from '../store/db.ts';
import { chainHeads } from '../store/audit.ts';
import { FIRST_PREV } from './log-entry.ts';

export interface ChainHead {
  seq: number;
  /** Lowercase hex of the last entry's leaf hash (FIRST_PREV before the first). */
  hash: string;
}

/** Heads kept in memory: enough for the persons of a busy minute, not the nation. */
const MAX_HEADS = 100_000;
const NONE: ChainHead = { seq: 0, hash: FIRST_PREV };

interface Lookup {
  persons: Set<string>;
  done: Promise<void>;
  resolve: () => void;
}

function lookup(): Lookup {
  let resolve = (): void => undefined;
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  return { persons: new Set(), done, resolve };
}

export class ChainHeads {
  private readonly db: Db;
  private readonly heads = new Map<string, ChainHead>();
  /** Persons whose heads are being read, and the read that brings them. */
  private readonly loading = new Map<string, Promise<void>>();
  /** Persons for the next read, not yet sent. */
  private next: Lookup | undefined;
  private reading = false;
  private scheduled = false;
  /** Bumped by `reset`: a read that started before it is stale. */
  private generation = 0;

  constructor(db: Db) {
    this.db = db;
  }

  get(person: string): ChainHead {
    return this.heads.get(person) ?? NONE;
  }

  /** Starts reading these persons' heads (unless known or on their way). */
  warm(persons: readonly string[]): void {
    for (const person of persons) {
      if (this.heads.has(person) || this.loading.has(person)) continue;
      this.next ??= lookup();
      this.next.persons.add(person);
      this.loading.set(person, this.next.done);
    }
    if (this.next && !this.reading && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.send());
    }
  }

  private send(): void {
    this.scheduled = false;
    const l = this.next;
    if (this.reading || !l) return;
    this.next = undefined;
    this.reading = true;
    const persons = [...l.persons];
    const generation = this.generation;
    chainHeads(this.db, persons)
      .then((found) => {
        // A batch adopted meanwhile knows better; a reset (another node appended) makes this stale.
        if (generation !== this.generation) return;
        for (const p of persons) if (!this.heads.has(p)) this.remember(p, found.get(p) ?? NONE);
      })
      .catch(() => undefined)
      .finally(() => {
        for (const p of persons) if (this.loading.get(p) === l.done) this.loading.delete(p);
        this.reading = false;
        l.resolve();
        if (this.next) this.send();
      });
  }

  /** Makes every person's head known: waits for reads on their way, reads the others now. */
  async load(persons: readonly string[]): Promise<void> {
    // Persons still waiting for the next read are read here instead: the batch would otherwise
    // wait for the read in flight and then for theirs.
    for (const p of persons) if (this.next?.persons.delete(p)) this.loading.delete(p);
    const waiting = new Set(
      persons.flatMap((p) => {
        const w = this.heads.has(p) ? undefined : this.loading.get(p);
        return w ? [w] : [];
      }),
    );
    if (waiting.size > 0) await Promise.all([...waiting]);
    const missing = [...new Set(persons)].filter((p) => !this.heads.has(p));
    if (missing.length === 0) return;
    const found = await chainHeads(this.db, missing);
    for (const p of missing) this.remember(p, found.get(p) ?? NONE);
  }

  remember(person: string, head: ChainHead): void {
    this.heads.delete(person);
    this.heads.set(person, head);
    if (this.heads.size > MAX_HEADS) this.heads.delete(this.heads.keys().next().value as string);
  }

  /** Forgets every head (after a failed append: another node may have appended). */
  reset(): void {
    this.heads.clear();
    this.generation++;
  }
}
