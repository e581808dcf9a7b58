/**
 * The access log's Merkle tree, RFC 9162 §2.1 (https://www.rfc-editor.org/rfc/rfc9162), on
 * node:crypto: leaf hash SHA-256(0x00 ‖ data), node hash SHA-256(0x01 ‖ left ‖ right), the tree
 * hash MTH split at the largest power of two smaller than n, inclusion proofs PATH(m, D[n]) and
 * consistency proofs PROOF(m, D[n]) generated with O(log n) stored hashes, and the §2.1.3.2 /
 * §2.1.4.2 verification (synchronous; `verify/log-verify.ts` is the dependency-free, WebCrypto twin
 * the portal uses, and the RFC's index arithmetic lives there once, for both).
 *
 * ## Storage plan: complete subtrees
 *
 * The tree is kept as the hashes of its *complete subtrees*. Subtree (level L, index i) covers
 * leaves [i·2^L, (i+1)·2^L); level 0 holds the leaf hashes. Once the log has (i+1)·2^L leaves that
 * hash never changes, so it can be stored once, append-only:
 *
 * - level 0 with the entry it hashes (the leaf hash, keyed by the leaf's index);
 * - levels ≥ 1 in a node table keyed by (level, index): appending leaf j completes one node per
 *   trailing 1-bit of j + 1 (`appendLeaf` returns them), so n leaves make n − popcount(n) nodes,
 *   fewer than one per leaf;
 * - the right border of a tree whose size is not a power of two (the nodes MTH computes over a
 *   partial range) is never stored: it is folded from at most log₂ n complete subtrees on demand.
 *
 * Every proof element is the MTH of a range of leaves (a `LeafRange`); a range splits into at most
 * log₂ n complete subtrees, and only one range per proof is partial, so a proof needs at most about
 * 2·log₂ n stored hashes, fetched in one read (`SubtreeReader.read`, e.g. one
 * `SELECT … WHERE (level, idx) IN (…)`), whatever the tree's size. The appender keeps the
 * `Frontier` (the ≤ log₂ n complete subtrees of the whole tree) and so computes each new root
 * without reading anything. A tiled layout (C2SP tlog-tiles, 256 hashes per row) is a later
 * option if rows per leaf ever matter; the subtree addressing stays the same.
 *
 * Sizes and indices are JavaScript numbers (exact to 2^53 − 1 leaves); no 32-bit bitwise operators.
 */
import { createHash, hash } from 'node:crypto';
import { consistencySteps, equalBytes, inclusionSides, VerifyError } from './verify/log-verify.ts';
import type { Hash } from './verify/log-verify.ts';

export type { Hash } from './verify/log-verify.ts';

export const HASH_SIZE = 32;

const LEAF_PREFIX = Buffer.of(0x00);
const NODE_PREFIX = Buffer.of(0x01);

/** SHA-256(0x00 ‖ data). */
export function leafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** SHA-256(0x01 ‖ left ‖ right), in one call (about one per leaf appended). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return hash('sha256', Buffer.concat([NODE_PREFIX, left, right], 65), 'buffer');
}

/** MTH({}) = SHA-256(""). */
export const EMPTY_ROOT: Hash = createHash('sha256').digest();

function checkCount(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} ${n} is not a count of leaves`);
}

/** The largest power of two smaller than n (n ≥ 2): where RFC 9162 splits a tree of n leaves. */
export function splitPoint(n: number): number {
  if (!Number.isSafeInteger(n) || n < 2) throw new RangeError(`a tree of ${n} leaves does not split`);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The complete subtree covering leaves [index·2^level, (index+1)·2^level). */
export interface Subtree {
  readonly level: number;
  readonly index: number;
}

/** Leaves [start, end): a proof element is the MTH of one such range. */
export interface LeafRange {
  readonly start: number;
  readonly end: number;
}

/**
 * The complete subtrees a range splits into, left to right (largest first). Every range a proof
 * or MTH names is one of RFC 9162's subtrees, whose start is a multiple of the power of two at
 * or above its length, so each piece is aligned; a range that is not throws.
 */
export function subtreesOf(range: LeafRange): Subtree[] {
  checkCount(range.start, 'range start');
  checkCount(range.end, 'range end');
  const out: Subtree[] = [];
  let at = range.start;
  while (at < range.end) {
    let size = 1;
    let level = 0;
    while (size * 2 <= range.end - at) {
      size *= 2;
      level++;
    }
    if (at % size !== 0) throw new RangeError(`leaves [${range.start}, ${range.end}) are not a subtree of a Merkle tree`);
    out.push({ level, index: at / size });
    at += size;
  }
  return out;
}

/** MTH of a range from the hashes of its complete subtrees, left to right: folded from the right. */
export function foldRange(hashes: readonly Hash[]): Hash {
  if (hashes.length === 0) return EMPTY_ROOT;
  let r = hashes[hashes.length - 1];
  for (let i = hashes.length - 2; i >= 0; i--) r = nodeHash(hashes[i], r);
  return r;
}

/**
 * What a proof (or root) needs: its elements as leaf ranges, in RFC order, and the complete
 * subtrees those ranges split into, in the same order (range by range), all to be read at once.
 */
export interface ProofPlan {
  readonly ranges: readonly LeafRange[];
  readonly subtrees: readonly Subtree[];
}

function planOf(ranges: LeafRange[]): ProofPlan {
  return { ranges, subtrees: ranges.flatMap(subtreesOf) };
}

/** PATH(index, D[size]) of RFC 9162 §2.1.3.1 as leaf ranges: the audit path, leaf's sibling first. */
export function inclusionPlan(index: number, size: number): ProofPlan {
  checkCount(size, 'tree size');
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new RangeError(`leaf ${index} is not in a tree of size ${size}`);
  const topDown: LeafRange[] = [];
  let start = 0;
  let end = size;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index < start + k) {
      topDown.push({ start: start + k, end });
      end = start + k;
    } else {
      topDown.push({ start, end: start + k });
      start += k;
    }
  }
  return planOf(topDown.reverse());
}

/** PROOF(size1, D[size2]) of RFC 9162 §2.1.4.1 as leaf ranges, for 1 ≤ size1 ≤ size2 (empty when equal). */
export function consistencyPlan(size1: number, size2: number): ProofPlan {
  checkCount(size2, 'tree size');
  if (!Number.isSafeInteger(size1) || size1 < 1 || size1 > size2)
    throw new RangeError(`no consistency proof from size ${size1} to ${size2}`);
  const topDown: LeafRange[] = [];
  // SUBPROOF(size1 − start, D[start:end], whole): `whole` is true while [start, end) still starts
  // at leaf 0, i.e. while the old tree's root is itself a node of this subtree's proof.
  let start = 0;
  let end = size2;
  let whole = true;
  while (size1 !== end) {
    const k = splitPoint(end - start);
    if (size1 - start <= k) {
      topDown.push({ start: start + k, end });
      end = start + k;
    } else {
      topDown.push({ start, end: start + k });
      start += k;
      whole = false;
    }
  }
  if (!whole) topDown.push({ start, end });
  return planOf(topDown.reverse());
}

/** MTH(D[size]) as a plan: the one range [0, size). */
export function rootPlan(size: number): ProofPlan {
  checkCount(size, 'tree size');
  return planOf(size === 0 ? [] : [{ start: 0, end: size }]);
}

/** The proof hashes of `plan`, given its subtrees' hashes in `plan.subtrees` order. */
export function assemble(plan: ProofPlan, hashes: readonly Hash[]): Hash[] {
  if (hashes.length !== plan.subtrees.length) throw new RangeError(`${hashes.length} hashes for ${plan.subtrees.length} subtrees`);
  let at = 0;
  return plan.ranges.map((r) => {
    const n = subtreesOf(r).length;
    const h = foldRange(hashes.slice(at, at + n));
    at += n;
    return h;
  });
}

/** Where the stored subtree hashes are read from: one call per proof, in the order asked. */
export interface SubtreeReader {
  read(subtrees: readonly Subtree[]): readonly Hash[] | Promise<readonly Hash[]>;
}

export async function inclusionProof(index: number, size: number, reader: SubtreeReader): Promise<Hash[]> {
  const plan = inclusionPlan(index, size);
  return assemble(plan, await reader.read(plan.subtrees));
}

export async function consistencyProof(size1: number, size2: number, reader: SubtreeReader): Promise<Hash[]> {
  const plan = consistencyPlan(size1, size2);
  return assemble(plan, await reader.read(plan.subtrees));
}

/** MTH(D[size]) of the first `size` leaves of the stored tree. */
export async function rootAt(size: number, reader: SubtreeReader): Promise<Hash> {
  const plan = rootPlan(size);
  return assemble(plan, await reader.read(plan.subtrees))[0] ?? EMPTY_ROOT;
}

// ---------------------------------------------------------------------------------------------
// Appending

/**
 * The right border of a tree of `size` leaves: the hashes of the complete subtrees of [0, size),
 * largest (leftmost) first; one per 1-bit of `size`. Its fold is the root. The appender keeps it
 * in memory; on start it reads it back: `rootPlan(size).subtrees` names exactly these subtrees.
 */
export interface Frontier {
  readonly size: number;
  readonly hashes: readonly Hash[];
}

export const EMPTY_FRONTIER: Frontier = { size: 0, hashes: [] };

/** A complete subtree and its hash, to be stored. */
export interface StoredNode extends Subtree {
  readonly hash: Hash;
}

/**
 * Appends one leaf: the new frontier, and the complete subtrees this leaf completes (the leaf
 * itself at level 0, then one node per level it closes), each to be stored once.
 */
export function appendLeaf(frontier: Frontier, leaf: Hash): { frontier: Frontier; created: StoredNode[] } {
  if (leaf.length !== HASH_SIZE) throw new RangeError(`a leaf hash is ${HASH_SIZE} bytes`);
  const hashes = [...frontier.hashes];
  let index = frontier.size;
  let level = 0;
  let hash = leaf;
  const created: StoredNode[] = [{ level, index, hash }];
  while (index % 2 === 1) {
    hash = nodeHash(hashes.pop() as Hash, hash);
    index = (index - 1) / 2;
    level++;
    created.push({ level, index, hash });
  }
  hashes.push(hash);
  return { frontier: { size: frontier.size + 1, hashes }, created };
}

/** MTH of the whole tree a frontier borders. */
export function frontierRoot(frontier: Frontier): Hash {
  return foldRange(frontier.hashes);
}

/** A frontier from the stored subtrees of a tree of `size` leaves (one read). */
export async function readFrontier(size: number, reader: SubtreeReader): Promise<Frontier> {
  const hashes = await reader.read(rootPlan(size).subtrees);
  return { size, hashes: [...hashes] };
}

// ---------------------------------------------------------------------------------------------
// An in-memory tree

/** One level's hashes, packed in one growing buffer (a million leaves take 64 MB in all). */
class HashColumn {
  private buf = new Uint8Array(HASH_SIZE * 1024);
  length = 0;

  push(h: Uint8Array): void {
    if ((this.length + 1) * HASH_SIZE > this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf.set(h, this.length * HASH_SIZE);
    this.length++;
  }

  get(i: number): Hash {
    if (i < 0 || i >= this.length) throw new RangeError(`no hash ${i}`);
    return this.buf.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  }
}

/**
 * The whole tree in memory, stored exactly as the storage plan above stores it: every complete
 * subtree, appended leaf by leaf. For tests and for `medid log verify`, which recomputes the tree
 * from the entries.
 */
export class MemoryTree implements SubtreeReader {
  private readonly levels: HashColumn[] = [];
  private frontier: Frontier = EMPTY_FRONTIER;

  get size(): number {
    return this.frontier.size;
  }

  /** Appends a leaf by its hash; returns its index. */
  append(leaf: Hash): number {
    const { frontier, created } = appendLeaf(this.frontier, leaf);
    for (const n of created) {
      let column = this.levels[n.level];
      if (column === undefined) {
        column = new HashColumn();
        this.levels[n.level] = column;
      }
      column.push(n.hash);
    }
    this.frontier = frontier;
    return frontier.size - 1;
  }

  read(subtrees: readonly Subtree[]): Hash[] {
    return subtrees.map((s) => {
      const column = this.levels[s.level];
      if (column === undefined || s.index >= column.length) throw new RangeError(`subtree (${s.level}, ${s.index}) is not complete`);
      return column.get(s.index);
    });
  }

  root(size = this.size): Hash {
    if (size === this.size) return frontierRoot(this.frontier);
    const plan = rootPlan(size);
    return assemble(plan, this.read(plan.subtrees))[0] ?? EMPTY_ROOT;
  }

  inclusionProof(index: number, size = this.size): Hash[] {
    const plan = inclusionPlan(index, size);
    return assemble(plan, this.read(plan.subtrees));
  }

  consistencyProof(size1: number, size2 = this.size): Hash[] {
    const plan = consistencyPlan(size1, size2);
    return assemble(plan, this.read(plan.subtrees));
  }
}

// ---------------------------------------------------------------------------------------------
// Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)

/** The root an inclusion proof leads to; throws VerifyError when the proof is malformed. */
export function rootFromInclusion(index: number, size: number, leaf: Hash, proof: readonly Hash[]): Hash {
  if (leaf.length !== HASH_SIZE || proof.some((p) => p.length !== HASH_SIZE)) throw new VerifyError('a hash is not 32 bytes');
  const sides = inclusionSides(index, size, proof.length);
  let r = leaf;
  for (let i = 0; i < proof.length; i++) {
    const p = proof[i];
    r = sides[i] ? nodeHash(p, r) : nodeHash(r, p);
  }
  return r;
}

export function verifyInclusion(index: number, size: number, leaf: Hash, proof: readonly Hash[], root: Hash): boolean {
  try {
    return equalBytes(rootFromInclusion(index, size, leaf, proof), root);
  } catch (e) {
    if (e instanceof VerifyError) return false;
    throw e;
  }
}

/** As the WebCrypto twin: equal sizes need an empty proof and equal roots; size 0 is extended by every tree. */
export function verifyConsistency(size1: number, size2: number, proof: readonly Hash[], root1: Hash, root2: Hash): boolean {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size2 < size1) return false;
  if (root1.length !== HASH_SIZE || root2.length !== HASH_SIZE || proof.some((p) => p.length !== HASH_SIZE)) return false;
  if (size1 === size2) return proof.length === 0 && equalBytes(root1, root2);
  if (size1 === 0) return proof.length === 0 && equalBytes(root1, EMPTY_ROOT);
  let plan: ReturnType<typeof consistencySteps>;
  try {
    plan = consistencySteps(size1, size2, proof.length);
  } catch (e) {
    if (e instanceof VerifyError) return false;
    throw e;
  }
  const path = plan.seed ? [root1, ...proof] : proof;
  let fr = path[0];
  let sr = fr;
  plan.steps.forEach((step, i) => {
    const c = path[i + 1];
    if (step === 'both') {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
    } else sr = nodeHash(sr, c);
  });
  return equalBytes(fr, root1) && equalBytes(sr, root2);
}
