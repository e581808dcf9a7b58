/**
 * Signed tree heads of the access log (issue 17 item 2; privacy-design.md §6), and the proofs
 * read against them.
 *
 * A head states the log's size and root, signed with the log key (log-key.ts) twice over: as a
 * C2SP checkpoint in a signed note (`<origin>\n<size>\n<base64 root>\n`, then the Ed25519
 * signature line — what witnesses and their tools read) and as a compact JWS (EdDSA, `kid` the
 * key's JWK thumbprint) over `{origin, size, root, time}`. Heads are stored append-only in
 * audit.log_head; a head for a size already stored is skipped (several nodes sign).
 *
 * **When**: every MEDID_LOG_HEAD_SECONDS when the log grew, and as soon as this process appended
 * MEDID_LOG_HEAD_ENTRIES leaves since its last head (`start`); `signNow` on demand.
 *
 * **What is signed is read from the stored tree**, never taken from memory: the size is the
 * stored leaf count and the root is folded from the stored complete subtrees (merkle.ts
 * `rootPlan`) — in the same single read as a consistency proof from the last stored head, which
 * must verify before anything is signed. So a head never contradicts an earlier one: a rewritten
 * subtree (triggers switched off) stops the signer, loudly, instead of being signed into a fork.
 *
 * **Proofs** (each one read of stored subtrees, O(log n) hashes): consistency between two sizes
 * up to the latest head's, and inclusion of an AuditEvent's leaf — for callers who may read that
 * AuditEvent (the caller's rule is given as `clientId`, as the AuditEvent API applies it).
 */
import type { AuditReach } from '../core/access.ts';
import { errors } from '../core/outcome.ts';
import type { Logger } from '../core/logger.ts';
import type { Db } from '../store/db.ts';
import { logSize } from '../store/audit.ts';
import { eventLeaf, headAt, insertHead, latestHead } from '../store/log-heads.ts';
import type { EventLeaf, HeadRow } from '../store/log-heads.ts';
import { signCheckpoint } from './checkpoint.ts';
import { LOG_JWS_ALG, noteSignerOf } from './log-key.ts';
import type { LogKey } from './log-key.ts';
import { entryFormOf, FIRST_PREV, textLeafHash } from './log-entry.ts';
import { assemble, consistencyPlan, EMPTY_ROOT, inclusionPlan, rootAt, rootPlan, verifyConsistency } from './merkle.ts';
import type { Hash } from './merkle.ts';
import { storedTree } from './stored-tree.ts';

/** The JWS `typ` of a tree head. */
export const HEAD_JWS_TYPE = 'medid-tree-head+jws';

/** A signed tree head as the API returns it (hashes in standard base64, as in checkpoints). */
export interface TreeHead {
  size: number;
  root: string;
  /** When it was signed (ISO 8601 UTC), as in the JWS. */
  time: string;
  checkpoint: string;
  /** Null only for a head stored by other means than the signer (imported). */
  jws: string | null;
}

/** What a head's JWS says. */
export interface HeadClaims {
  origin: string;
  size: number;
  root: string;
  time: string;
}

export interface TreeHeadsDeps {
  /** Where the log lives. */
  db: Db;
  key: LogKey;
  now: () => Date;
  logger?: Logger;
  /** MEDID_LOG_HEAD_SECONDS: how often a grown log gets a new head. */
  headSeconds: number;
  /** MEDID_LOG_HEAD_ENTRIES: this many leaves appended by this process also get one at once. */
  headEntries: number;
  /** Leaves this process appended since start (the appender's counter): read, never reset. */
  appended?: () => number;
  /** Resolves once every event placed in the log has its leaf (the appender hashes a few ms after placing). */
  caughtUp?: () => Promise<void>;
}

const b64 = (h: Uint8Array): string => Buffer.from(h).toString('base64');
const b64url = (s: string | Uint8Array): string => Buffer.from(s).toString('base64url');

function apiHead(h: HeadRow): TreeHead {
  return { size: h.size, root: b64(h.root), time: h.signedAt.toISOString(), checkpoint: h.checkpoint, jws: h.jws };
}

/** A compact JWS over `claims` signed by `key` (RFC 7515 with RFC 8037's EdDSA), through the key's `sign` alone. */
export async function signHeadJws(key: LogKey, claims: HeadClaims): Promise<string> {
  const header = { alg: LOG_JWS_ALG, kid: key.jwk.kid, typ: HEAD_JWS_TYPE };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(await key.sign(Buffer.from(input, 'ascii')))}`;
}

export class TreeHeads {
  private readonly d: TreeHeadsDeps;
  private tail: Promise<unknown> = Promise.resolve();
  /** The appender's count when this process last signed (or checked). */
  private appendedAtHead = 0;
  private lastCheck = 0;
  private busy = false;

  constructor(d: TreeHeadsDeps) {
    this.d = d;
  }

  get keyName(): string {
    return this.d.key.keyName;
  }

  /** The public key: {keyName, verifierKey, jwk}. */
  publicKey(): { keyName: string; verifierKey: string; jwk: LogKey['jwk'] } {
    return { keyName: this.d.key.keyName, verifierKey: this.d.key.verifierKey, jwk: this.d.key.jwk };
  }

  /** One signing at a time in this process. */
  private run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /**
   * Signs a head for the log as stored now, unless the latest stored head already covers it (a
   * fresh log gets a head of size 0). Returns the latest head after signing.
   */
  signNow(): Promise<TreeHead | undefined> {
    return this.run(async () => {
      // Sign what is placed by now, hashed; if hashing is stuck (an event row gone), what is hashed.
      await this.d.caughtUp?.().catch((e: unknown) => this.d.logger?.error({ err: (e as Error).message }, 'access log: not caught up'));
      return this.sign();
    });
  }

  private async sign(): Promise<TreeHead | undefined> {
    const { db, key } = this.d;
    this.appendedAtHead = this.d.appended?.() ?? 0;
    const [size, last] = await Promise.all([logSize(db), latestHead(db)]);
    if (last && last.size >= size) return apiHead(last);
    // The new root and the proof that it extends the last head, from one read of stored subtrees.
    const rootSubtrees = rootPlan(size).subtrees;
    const proofPlan = last && last.size > 0 ? consistencyPlan(last.size, size) : undefined;
    const hashes = await storedTree(db).read([...rootSubtrees, ...(proofPlan?.subtrees ?? [])]);
    const root = assemble(rootPlan(size), hashes.slice(0, rootSubtrees.length))[0] ?? EMPTY_ROOT;
    if (last && proofPlan) {
      const proof = assemble(proofPlan, hashes.slice(rootSubtrees.length));
      if (!verifyConsistency(last.size, size, proof, last.root, root)) {
        throw new Error(
          `access log: the stored tree of ${size} leaves does not extend the signed head of size ${last.size}; no head is signed (the stored log was changed)`,
        );
      }
    } else if (last && last.size === 0 && !last.root.equals(EMPTY_ROOT)) {
      throw new Error('access log: the signed head of size 0 does not have the empty root');
    }
    const signedAt = this.d.now();
    const origin = key.keyName;
    const checkpoint = await signCheckpoint({ origin, size, root }, [noteSignerOf(key)]);
    const jws = await signHeadJws(key, { origin, size, root: b64(root), time: signedAt.toISOString() });
    const head: HeadRow = { size, root: Buffer.from(root), checkpoint, jws, signedAt };
    if (await insertHead(db, head)) {
      this.d.logger?.debug({ size }, 'access log head signed');
      return apiHead(head);
    }
    // Another node signed this size first: its head stands.
    const stored = await headAt(db, size);
    return stored ? apiHead(stored) : apiHead(head);
  }

  /**
   * Signs heads in the background: every `headSeconds` when the log grew, and at once when this
   * process appended `headEntries` leaves since its last head. The timer is unref'd; the
   * function returned stops it.
   */
  start(): () => void {
    const tickMs = Math.min(250, this.d.headSeconds * 1000);
    const tick = (): void => {
      if (this.busy) return;
      const now = Date.now();
      const grewBy = (this.d.appended?.() ?? 0) - this.appendedAtHead;
      const due = now - this.lastCheck >= this.d.headSeconds * 1000;
      if (!due && grewBy < this.d.headEntries) return;
      this.busy = true;
      this.lastCheck = now;
      this.signNow()
        .catch((e: unknown) => this.d.logger?.error({ err: (e as Error).message }, 'signing an access log head failed'))
        .finally(() => {
          this.busy = false;
        });
    };
    const timer = setInterval(tick, tickMs);
    timer.unref();
    tick();
    return () => clearInterval(timer);
  }

  /** The latest head, or the head of `size` if one was signed. */
  async head(size?: number): Promise<TreeHead | undefined> {
    const h = size === undefined ? await latestHead(this.d.db) : await headAt(this.d.db, size);
    return h ? apiHead(h) : undefined;
  }

  /** The size of the latest head; 404 when none was signed yet. */
  private async signedSize(): Promise<number> {
    const h = await latestHead(this.d.db);
    if (!h) throw errors.notFound('The access log has no signed tree head yet; try again in a few seconds');
    return h.size;
  }

  /** PROOF(first, D[second]) for 0 ≤ first ≤ second ≤ the latest head's size. */
  async consistency(first: number, second: number): Promise<{ first: number; second: number; proof: string[] }> {
    if (first > second) throw errors.badRequest('first must not be greater than second', 'invalid-parameter', 'first');
    const signed = await this.signedSize();
    if (second > signed)
      throw errors.badRequest(`second is beyond the latest signed tree head (size ${signed})`, 'invalid-parameter', 'second');
    if (first === 0 || first === second) return { first, second, proof: [] };
    const plan = consistencyPlan(first, second);
    const proof = assemble(plan, await storedTree(this.d.db).read(plan.subtrees));
    return { first, second, proof: proof.map(b64) };
  }

  /**
   * The inclusion proof of an AuditEvent's leaf in the tree of `size` leaves (default: the
   * latest head's). `reach`: the events the caller may read (the AuditEvent API's rule;
   * undefined: any, the authority). An event the caller may not read answers as one that does
   * not exist.
   */
  async inclusion(
    event: number,
    reach: AuditReach | undefined,
    size?: number,
  ): Promise<{ index: number; size: number; leafHash: string; entry: string; proof: string[] }> {
    const [leaf, signed] = await Promise.all([eventLeaf(this.d.db, event, reach), this.signedSize()]);
    if (leaf.state !== 'logged') {
      if (leaf.state === 'pending')
        throw errors.conflict(
          "The AuditEvent is not in the access log's tree yet (its place is given, its leaf follows within moments); try again shortly",
          'business-rule',
        );
      throw errors.notFound(
        leaf.state === 'unlogged'
          ? 'The AuditEvent was recorded before the access log began: it has no leaf'
          : 'The AuditEvent is not known',
      );
    }
    const n = size ?? signed;
    if (n > signed) throw errors.badRequest(`size is beyond the latest signed tree head (size ${signed})`, 'invalid-parameter', 'size');
    if (leaf.index >= n) {
      if (size !== undefined)
        throw errors.badRequest(`The AuditEvent is leaf ${leaf.index}, not in the tree of size ${n}`, 'invalid-parameter', 'size');
      throw errors.conflict('The AuditEvent is not under a signed tree head yet; try again in a few seconds', 'business-rule');
    }
    const plan = inclusionPlan(leaf.index, n);
    const proof = assemble(plan, await storedTree(this.d.db).read(plan.subtrees));
    return { index: leaf.index, size: n, leafHash: b64(leaf.hash), entry: entryText(leaf), proof: proof.map(b64) };
  }

  /** The root of the stored tree of `size` leaves (for tests and checks; one read). */
  rootAt(size: number): Promise<Hash> {
    return rootAt(size, storedTree(this.d.db));
  }
}

/**
 * A leaf's entry, rebuilt from its event row, its person and seq and the leaf hash before it in the
 * person's chain (leaves keep no copy of the text). What does not hash to the stored leaf is never
 * served: the stored log was changed, and `medid log verify` says where.
 */
function entryText(leaf: Extract<EventLeaf, { state: 'logged' }>): string {
  const prev = leaf.pseq === 1 ? FIRST_PREV : leaf.prev?.toString('hex');
  const link = leaf.person !== null && leaf.pseq !== null && prev !== undefined ? { person: leaf.person, seq: leaf.pseq, prev } : null;
  const text = leaf.event.nonce ? entryFormOf(leaf.event, link, leaf.event.nonce).text : undefined;
  if (text === undefined || (leaf.person !== null && link === null) || !textLeafHash(text).equals(leaf.hash))
    throw new Error(`access log: leaf ${leaf.index} is not the hash of the entry its event gives; the stored log was changed`);
  return text;
}
