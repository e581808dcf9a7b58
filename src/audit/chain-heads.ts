/**
 * Where each person's chain in the access log stands — its last entry's seq and leaf hash — as the
 * appender (access-log.ts) needs it before it can hash a person's next entry: read for a batch's
 * persons in one query (one index probe each), and remembered for recent persons.
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

export class ChainHeads {
  private readonly db: Db;
  private readonly heads = new Map<string, ChainHead>();

  constructor(db: Db) {
    this.db = db;
  }

  get(person: string): ChainHead {
    return this.heads.get(person) ?? NONE;
  }

  /** Makes every person's head known: those not remembered are read, in one query. */
  async load(persons: readonly string[]): Promise<void> {
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
  }
}
