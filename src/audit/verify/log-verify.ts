/**
 * The access-log verifier: what a person's browser (the portal), a witness or `medid log verify`
 * needs to check medid's transparency log without trusting medid.
 *
 * - RFC 9162 §2.1 (https://www.rfc-editor.org/rfc/rfc9162): leaf and node hashes, inclusion
 *   (§2.1.3.2) and consistency (§2.1.4.2) proof verification;
 * - RFC 8785 canonical JSON for the values log entries are made of, and an entry's leaf hash;
 * - the per-person chain check (`seq` 1, 2, 3, … with no gap; each `prev` the leaf hash of the
 *   person's previous entry);
 * - C2SP tlog-checkpoint bodies (https://c2sp.org/tlog-checkpoint) and C2SP signed-note Ed25519
 *   signatures (https://c2sp.org/signed-note), so existing witness tools can read medid's heads.
 *
 * **Dependency-free on purpose**: no imports at all, only ECMAScript 2024 and WebCrypto
 * (`crypto.subtle`), so this one file runs in Node 24 as it is and in a browser once its types
 * are stripped (`module.stripTypeScriptTypes` from `node:module`, or any TypeScript-to-JS step;
 * it uses erasable syntax only). test/unit/audit/merkle-verify.test.ts runs the stripped file in a
 * bare `node` to keep it so. Everything here is asynchronous because WebCrypto is; the server's
 * synchronous twin for generating proofs is `../merkle.ts`.
 *
 * Tree sizes and indices are JavaScript numbers, exact up to 2^53 − 1 leaves; the arithmetic
 * never uses the 32-bit bitwise operators, so logs beyond 2^32 entries work.
 */

/** A SHA-256 hash: leaf, node or root. */
export type Hash = Uint8Array;

/** The JSON values log entries are made of (I-JSON: no lone surrogates, finite numbers). */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

export const HASH_SIZE = 32;

/** A proof, note or checkpoint that is malformed or does not verify; `message` says why. */
export class VerifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerifyError';
  }
}

// ---------------------------------------------------------------------------------------------
// Bytes, hex, base64

const utf8 = new TextEncoder();

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) throw new VerifyError(`not lowercase hex: ${JSON.stringify(hex.slice(0, 80))}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Standard base64 (RFC 4648 §4) with padding. */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Strict standard base64: padded, no whitespace, and only the one encoding of the bytes. */
export function fromBase64(b64: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new VerifyError(`not base64: ${JSON.stringify(b64.slice(0, 80))}`);
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  if (toBase64(out) !== b64) throw new VerifyError(`not canonical base64: ${JSON.stringify(b64.slice(0, 80))}`);
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return d === 0;
}

async function sha256(...parts: readonly Uint8Array[]): Promise<Uint8Array<ArrayBuffer>> {
  let length = 0;
  for (const p of parts) length += p.length;
  const buf = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    buf.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
}

// ---------------------------------------------------------------------------------------------
// RFC 9162 §2.1: the Merkle tree hash

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** `SHA-256(0x00 ‖ data)`: the hash of a leaf whose data is `data`. */
export function leafHash(data: Uint8Array): Promise<Hash> {
  return sha256(LEAF_PREFIX, data);
}

/** `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node. */
export function nodeHash(left: Hash, right: Hash): Promise<Hash> {
  return sha256(NODE_PREFIX, left, right);
}

/** MTH({}) = SHA-256(""), the root of the empty tree. */
export function emptyRoot(): Promise<Hash> {
  return sha256();
}

/**
 * MTH(D[n]) from all n leaf hashes, as RFC 9162 §2.1.1 defines it (split at the largest power of
 * two smaller than n). For checking a whole log offline; proofs need only O(log n) hashes.
 */
export async function rootFromLeafHashes(leaves: readonly Hash[]): Promise<Hash> {
  if (leaves.length === 0) return emptyRoot();
  // Bottom-up over complete subtrees, then the right border folded from the right: the same
  // tree as the recursive definition, without its recursion depth.
  const stack: { size: number; hash: Hash }[] = [];
  for (const leaf of leaves) {
    let node = { size: 1, hash: leaf };
    for (let top = stack.at(-1); top !== undefined && top.size === node.size; top = stack.at(-1)) {
      stack.pop();
      node = { size: node.size * 2, hash: await nodeHash(top.hash, node.hash) };
    }
    stack.push(node);
  }
  let root = (stack.pop() as { hash: Hash }).hash;
  for (let s = stack.pop(); s !== undefined; s = stack.pop()) root = await nodeHash(s.hash, root);
  return root;
}

const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
const half = (n: number): number => Math.floor(n / 2);
const odd = (n: number): boolean => n % 2 === 1;
const isPowerOfTwo = (n: number): boolean => {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
};

function checkHash(h: Uint8Array, what: string): void {
  if (h.length !== HASH_SIZE) throw new VerifyError(`${what} is ${h.length} bytes, not ${HASH_SIZE}`);
}

/**
 * RFC 9162 §2.1.3.2 without the hashing: for each hash of an inclusion proof of leaf `index` in a
 * tree of `size` leaves, whether it is the left child (`true`: r = HASH(0x01 ‖ p ‖ r)) or the right
 * one (r = HASH(0x01 ‖ r ‖ p)). Throws when a proof of `proofLength` hashes cannot be one. Shared
 * by this verifier and the server's synchronous one.
 */
export function inclusionSides(index: number, size: number, proofLength: number): boolean[] {
  if (!isCount(size) || !isCount(index) || index >= size) throw new VerifyError(`leaf index ${index} is not in a tree of size ${size}`);
  let fn = index;
  let sn = size - 1;
  const sides: boolean[] = [];
  for (let i = 0; i < proofLength; i++) {
    if (sn === 0) throw new VerifyError(`inclusion proof of leaf ${index} in size ${size} is too long (${proofLength} hashes)`);
    if (odd(fn) || fn === sn) {
      sides.push(true);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else sides.push(false);
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new VerifyError(`inclusion proof of leaf ${index} in size ${size} is too short (${proofLength} hashes)`);
  return sides;
}

/**
 * The root an inclusion proof leads to from leaf `index`'s hash in a tree of `size` leaves
 * (RFC 9162 §2.1.3.2 steps 1–4). Throws VerifyError when the proof is malformed; compare the result
 * with a signed root, or use verifyInclusion.
 */
export async function rootFromInclusion(index: number, size: number, leaf: Hash, proof: readonly Hash[]): Promise<Hash> {
  checkHash(leaf, 'leaf hash');
  proof.forEach((p, i) => checkHash(p, `inclusion proof hash ${i}`));
  const sides = inclusionSides(index, size, proof.length);
  let r = leaf;
  for (let i = 0; i < proof.length; i++) {
    const p = proof[i];
    r = sides[i] ? await nodeHash(p, r) : await nodeHash(r, p);
  }
  return r;
}

/** Whether `proof` shows the leaf with hash `leaf` at `index` in the tree of `size` leaves whose root is `root`. */
export async function verifyInclusion(index: number, size: number, leaf: Hash, proof: readonly Hash[], root: Hash): Promise<boolean> {
  try {
    return equalBytes(await rootFromInclusion(index, size, leaf, proof), root);
  } catch (e) {
    if (e instanceof VerifyError) return false;
    throw e;
  }
}

/**
 * RFC 9162 §2.1.4.2 without the hashing, for 0 < size1 < size2: whether the first root is put in
 * front of the proof (step 2: size1 is a power of two) and, for each path hash after the first,
 * whether it combines into both roots (`'both'`: fr = HASH(c ‖ fr), sr = HASH(c ‖ sr)) or into the
 * second only (`'second'`: sr = HASH(sr ‖ c)). Throws when the lengths cannot fit.
 */
export function consistencySteps(size1: number, size2: number, proofLength: number): { seed: boolean; steps: ('both' | 'second')[] } {
  if (!isCount(size1) || !isCount(size2) || size1 < 1 || size2 <= size1)
    throw new VerifyError(`no consistency proof steps from size ${size1} to ${size2}`);
  if (proofLength === 0) throw new VerifyError(`consistency proof from size ${size1} to ${size2} is empty`);
  const seed = isPowerOfTwo(size1);
  const pathLength = proofLength + (seed ? 1 : 0);
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  const steps: ('both' | 'second')[] = [];
  for (let i = 1; i < pathLength; i++) {
    if (sn === 0) throw new VerifyError(`consistency proof from size ${size1} to ${size2} is too long (${proofLength} hashes)`);
    if (odd(fn) || fn === sn) {
      steps.push('both');
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else steps.push('second');
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new VerifyError(`consistency proof from size ${size1} to ${size2} is too short (${proofLength} hashes)`);
  return { seed, steps };
}

/**
 * Whether `proof` shows that the tree of `size2` leaves with root `root2` extends the tree of
 * `size1` leaves with root `root1` (RFC 9162 §2.1.4.2). Equal sizes need an empty proof and equal
 * roots; size 0 (the empty tree, root SHA-256("")) is extended by every tree, with an empty proof.
 */
export async function verifyConsistency(size1: number, size2: number, proof: readonly Hash[], root1: Hash, root2: Hash): Promise<boolean> {
  if (!isCount(size1) || !isCount(size2) || size2 < size1) return false;
  if (root1.length !== HASH_SIZE || root2.length !== HASH_SIZE || proof.some((p) => p.length !== HASH_SIZE)) return false;
  if (size1 === size2) return proof.length === 0 && equalBytes(root1, root2);
  if (size1 === 0) return proof.length === 0 && equalBytes(root1, await emptyRoot());
  let plan: { seed: boolean; steps: ('both' | 'second')[] };
  try {
    plan = consistencySteps(size1, size2, proof.length);
  } catch (e) {
    if (e instanceof VerifyError) return false;
    throw e;
  }
  const path = plan.seed ? [root1, ...proof] : proof;
  let fr = path[0];
  let sr = fr;
  for (let i = 0; i < plan.steps.length; i++) {
    const c = path[i + 1];
    if (plan.steps[i] === 'both') {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
    } else sr = await nodeHash(sr, c);
  }
  return equalBytes(fr, root1) && equalBytes(sr, root2);
}

// ---------------------------------------------------------------------------------------------
// RFC 8785 (JSON Canonicalization Scheme)

/**
 * The RFC 8785 form of a JSON value: object members sorted by the UTF-16 code units of their
 * names, no whitespace, strings and numbers serialized as ECMAScript's JSON.stringify does (which
 * is what RFC 8785 §3.2.2 specifies). Only plain objects, arrays, strings, finite numbers,
 * booleans and null: anything else (undefined, a Date, a lone surrogate, NaN) throws rather than
 * being silently dropped or changed, since a hash over it could not be reproduced.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw new TypeError('canonical JSON: a string holds a lone surrogate (not I-JSON)');
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${value} is not a JSON number`);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        const items: string[] = [];
        for (let i = 0; i < value.length; i++) items.push(canonicalJson(value[i]));
        return `[${items.join(',')}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new TypeError('canonical JSON: only plain objects and arrays');
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${keys.map((k) => `${canonicalJson(k)}:${canonicalJson(record[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON: a ${typeof value} is not a JSON value`);
  }
}

// ---------------------------------------------------------------------------------------------
// Log entries and the per-person chain

/**
 * One entry of the access log, entry format version 1 (the fields are listed where the server
 * builds them, audit/log-entry.ts). Its leaf data is the UTF-8 of its RFC 8785 form
 * (canonicalJson), so its leaf hash is SHA-256(0x00 ‖ that). This verifier relies only on
 * `person` (the person's pseudonym in the audit domain, never a KID, medical ID or My Number),
 * `seq` (1, 2, 3, … per person), `prev` (lowercase hex of the leaf hash of the person's entry
 * seq − 1; 64 zeros at seq 1) and `nonce` (16 random bytes: a sibling hash in a proof gives no
 * way to guess an entry); the other fields are checked by being hashed. A new field or meaning is
 * a new `v`.
 */
export interface LogEntry {
  readonly v: number;
  readonly person: string | null;
  readonly seq: number | null;
  readonly prev: string | null;
  readonly nonce: string;
  readonly [field: string]: Json;
}

export const ENTRY_VERSION = 1;

/** `prev` of a person's first entry. */
export const FIRST_PREV = '0'.repeat(2 * HASH_SIZE);

/** The leaf data of an entry: the UTF-8 of its RFC 8785 form. */
export function entryData(entry: LogEntry): Uint8Array {
  return utf8.encode(canonicalJson(entry));
}

/** The leaf hash of an entry. */
export function entryLeafHash(entry: LogEntry): Promise<Hash> {
  return leafHash(entryData(entry));
}

/** Where one person's chain stands: its last entry's seq and leaf hash (lowercase hex). */
export interface ChainHead {
  readonly seq: number;
  readonly leafHash: string;
}

export type ChainCheck =
  | { readonly ok: true; readonly length: number; readonly head: ChainHead | null }
  | {
      readonly ok: false;
      /** The seq of the entry at which the chain breaks (0 if the entry has none). */
      readonly seq: number;
      /** Its position in the list given. */
      readonly position: number;
      readonly problem: 'gap' | 'order' | 'prev' | 'person' | 'shape';
      readonly message: string;
    };

const HEX_HASH = /^[0-9a-f]{64}$/;

/**
 * Checks one person's entries, given in log order: all about the same person, `seq` counting
 * 1, 2, 3, … with no gap, no repeat and no reordering, and each `prev` the leaf hash of the entry
 * before it (64 zeros for seq 1). With `after` (the head this reader saw last time), the entries
 * continue that head instead of starting at seq 1.
 *
 * A deleted entry shows as a gap; a rewritten entry breaks the `prev` of the entry after it (and
 * fails its own inclusion proof). Entries deleted from the end of a chain leave no gap: that is
 * what `after`, and each entry's inclusion under a signed head, are for.
 */
export async function checkChain(entries: readonly LogEntry[], after?: ChainHead): Promise<ChainCheck> {
  let expectSeq = after ? after.seq + 1 : 1;
  let expectPrev = after ? after.leafHash : FIRST_PREV;
  let person: string | undefined;
  let head: ChainHead | null = after ?? null;
  const seqs = new Set(entries.map((e) => e.seq));
  for (let position = 0; position < entries.length; position++) {
    const e = entries[position];
    const seq = typeof e.seq === 'number' ? e.seq : 0;
    const fail = (problem: 'gap' | 'order' | 'prev' | 'person' | 'shape', message: string): ChainCheck => ({
      ok: false,
      seq,
      position,
      problem,
      message,
    });
    if (
      typeof e.person !== 'string' ||
      e.person === '' ||
      !Number.isSafeInteger(e.seq) ||
      seq < 1 ||
      typeof e.prev !== 'string' ||
      !HEX_HASH.test(e.prev)
    ) {
      return fail(
        'shape',
        `entry at position ${position} (seq ${seq}) is not a person's chain entry (person, seq ≥ 1, prev as 64 hex digits)`,
      );
    }
    if (person === undefined) person = e.person;
    else if (e.person !== person) return fail('person', `seq ${seq} belongs to another person`);
    if (seq !== expectSeq) {
      if (seq < expectSeq) return fail('order', `seq ${seq} comes after seq ${expectSeq - 1}: repeated or out of order`);
      if (seqs.has(expectSeq)) return fail('order', `seq ${seq} comes before seq ${expectSeq}: out of order`);
      const missing = seq === expectSeq + 1 ? `seq ${expectSeq} is` : `seq ${expectSeq}–${seq - 1} are`;
      return fail('gap', `${missing} missing before seq ${seq}`);
    }
    if (e.prev !== expectPrev) {
      return fail(
        'prev',
        seq === 1
          ? 'seq 1 has a prev other than zeros'
          : `seq ${seq}'s prev is not the leaf hash of seq ${seq - 1}: one of them was changed`,
      );
    }
    expectPrev = toHex(await entryLeafHash(e));
    head = { seq, leafHash: expectPrev };
    expectSeq++;
  }
  return { ok: true, length: entries.length, head };
}

// ---------------------------------------------------------------------------------------------
// C2SP tlog-checkpoint

/** A tree head as a checkpoint says it: the log's origin, its size and its root. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Hash;
  /** Opaque extension lines after the root (C2SP discourages them; medid writes none). */
  readonly extensions?: readonly string[];
}

// Any ASCII control character but newline.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f]/;

/** The checkpoint's note text: `<origin>\n<size>\n<base64 root>\n`, then any extension lines. */
export function formatCheckpoint(c: Checkpoint): string {
  const lines = [c.origin, String(c.size), toBase64(c.root), ...(c.extensions ?? [])];
  if (c.origin === '' || lines.some((l) => l === '' || l.includes('\n') || CONTROL.test(l)))
    throw new VerifyError('checkpoint lines must be non-empty single lines');
  if (!isCount(c.size)) throw new VerifyError(`checkpoint size ${c.size} is not a tree size`);
  checkHash(c.root, 'checkpoint root');
  return `${lines.join('\n')}\n`;
}

/** Parses a checkpoint's note text (the signed part of the note, ending in a newline). */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n') || CONTROL.test(text))
    throw new VerifyError('a checkpoint is newline-terminated text without control characters');
  const lines = text.slice(0, -1).split('\n');
  const [origin, size, root, ...extensions] = lines;
  if (origin === undefined || size === undefined || root === undefined || lines.some((l) => l === '')) {
    throw new VerifyError('a checkpoint has at least three non-empty lines: origin, size, root');
  }
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size)))
    throw new VerifyError(`checkpoint size ${JSON.stringify(size)} is not a tree size`);
  const rootBytes = fromBase64(root);
  checkHash(rootBytes, 'checkpoint root');
  return { origin, size: Number(size), root: rootBytes, extensions };
}

// ---------------------------------------------------------------------------------------------
// C2SP signed-note, Ed25519 (signature type 0x01)

/** One signature line of a note: `— <name> base64(key ID ‖ signature)`. */
export interface NoteSignature {
  readonly name: string;
  /** The 32-bit key ID, big-endian in the line. */
  readonly keyId: number;
  readonly signature: Uint8Array;
}

/** A public key a reader trusts to sign notes (Ed25519). */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  /** 32-byte Ed25519 public key (RFC 8032). */
  readonly publicKey: Uint8Array;
}

const EM_DASH = '\u2014';
const ED25519 = 0x01;
/** Verifiers must accept 16 signatures; more than this many is refused (as Go's note package does). */
const MAX_SIGNATURES = 100;

export function isKeyName(name: string): boolean {
  return name !== '' && !/[\s+]/u.test(name) && !CONTROL.test(name);
}

/** key ID = SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key)[:4], as a big-endian uint32. */
export async function ed25519KeyId(name: string, publicKey: Uint8Array): Promise<number> {
  const h = await sha256(utf8.encode(name), Uint8Array.of(0x0a, ED25519), publicKey);
  return (h[0] ?? 0) * 0x1000000 + (h[1] ?? 0) * 0x10000 + (h[2] ?? 0) * 0x100 + (h[3] ?? 0);
}

function keyIdBytes(keyId: number): Uint8Array {
  return Uint8Array.of(
    Math.floor(keyId / 0x1000000) % 0x100,
    Math.floor(keyId / 0x10000) % 0x100,
    Math.floor(keyId / 0x100) % 0x100,
    keyId % 0x100,
  );
}

/** `— <name> base64(key ID ‖ signature)\n`. */
export function formatNoteSignature(s: NoteSignature): string {
  if (!isKeyName(s.name)) throw new VerifyError(`${JSON.stringify(s.name)} is not a key name`);
  const blob = new Uint8Array(4 + s.signature.length);
  blob.set(keyIdBytes(s.keyId));
  blob.set(s.signature, 4);
  return `${EM_DASH} ${s.name} ${toBase64(blob)}\n`;
}

/** A note split into its text (ending in newline) and signature lines; nothing verified yet. */
export function parseNote(note: string): { text: string; signatures: NoteSignature[] } {
  if (!note.isWellFormed() || CONTROL.test(note)) throw new VerifyError('malformed note: not UTF-8 text without control characters');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new VerifyError('malformed note: no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) throw new VerifyError('malformed note: no signatures, or no newline after the last');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new VerifyError(`malformed note: more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line): NoteSignature => {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    const name = m?.[1];
    const b64 = m?.[2];
    if (name === undefined || b64 === undefined || !isKeyName(name))
      throw new VerifyError(`malformed note signature line: ${JSON.stringify(line.slice(0, 120))}`);
    const blob = fromBase64(b64);
    if (blob.length < 5) throw new VerifyError(`malformed note signature from ${name}: too short`);
    const keyId = (blob[0] ?? 0) * 0x1000000 + (blob[1] ?? 0) * 0x10000 + (blob[2] ?? 0) * 0x100 + (blob[3] ?? 0);
    return { name, keyId, signature: blob.slice(4) };
  });
  return { text, signatures };
}

/** A verifier key as Go's note package and witnesses write it: `<name>+<8 hex key ID>+base64(0x01 ‖ public key)`. */
export function formatVerifierKey(v: NoteVerifier): string {
  const typed = new Uint8Array(1 + v.publicKey.length);
  typed[0] = ED25519;
  typed.set(v.publicKey, 1);
  return `${v.name}+${v.keyId.toString(16).padStart(8, '0')}+${toBase64(typed)}`;
}

/** Parses a verifier key string, checking that its key ID is the one its name and key give. */
export async function parseVerifierKey(vkey: string): Promise<NoteVerifier> {
  const [name, id, key, ...rest] = vkey.split('+');
  // The base64 key may itself contain '+': everything after the second '+' is the key.
  const b64 = [key, ...rest].join('+');
  if (name === undefined || id === undefined || key === undefined || !isKeyName(name) || !/^[0-9a-f]{8}$/.test(id)) {
    throw new VerifyError(`malformed verifier key ${JSON.stringify(vkey.slice(0, 120))}`);
  }
  const typed = fromBase64(b64);
  if (typed.length !== 33 || typed[0] !== ED25519) throw new VerifyError(`verifier key of ${name} is not an Ed25519 key`);
  const publicKey = typed.slice(1);
  const keyId = parseInt(id, 16);
  if ((await ed25519KeyId(name, publicKey)) !== keyId)
    throw new VerifyError(`verifier key of ${name}: key ID ${id} does not match the key`);
  return { name, keyId, publicKey };
}

/** RFC 8032 Ed25519 with WebCrypto (Node ≥ 22, and current Chrome, Firefox and Safari). */
async function ed25519Verify(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const key = await crypto.subtle
    .importKey('raw', Uint8Array.from(publicKey), { name: 'Ed25519' }, false, ['verify'])
    .catch((e: unknown) => {
      throw new VerifyError(`this runtime cannot verify Ed25519 signatures with WebCrypto (${e instanceof Error ? e.message : String(e)})`);
    });
  return crypto.subtle.verify({ name: 'Ed25519' }, key, Uint8Array.from(signature), Uint8Array.from(message));
}

/**
 * Opens a signed note (C2SP signed-note): signatures by keys not in `verifiers` (same name and key
 * ID) are ignored; a signature by a known key that fails rejects the whole note; at least one must
 * verify. Returns the note text and the keys that signed it; throws VerifyError otherwise.
 */
export async function openNote(note: string, verifiers: readonly NoteVerifier[]): Promise<{ text: string; signedBy: NoteVerifier[] }> {
  const { text, signatures } = parseNote(note);
  const message = utf8.encode(text);
  const signedBy: NoteVerifier[] = [];
  for (const s of signatures) {
    const v = verifiers.find((k) => k.name === s.name && k.keyId === s.keyId);
    if (v === undefined || signedBy.includes(v)) continue;
    if (!(await ed25519Verify(v.publicKey, s.signature, message))) throw new VerifyError(`the signature of ${s.name} does not verify`);
    signedBy.push(v);
  }
  if (signedBy.length === 0) throw new VerifyError('no signature by a known key');
  return { text, signedBy };
}

/**
 * Opens a signed checkpoint: the note must verify under `verifiers` and, when `origin` is given,
 * name that log (a checkpoint of another log proves nothing about this one).
 */
export async function openCheckpoint(note: string, verifiers: readonly NoteVerifier[], origin?: string): Promise<Checkpoint> {
  const { text } = await openNote(note, verifiers);
  const c = parseCheckpoint(text);
  if (origin !== undefined && c.origin !== origin)
    throw new VerifyError(`checkpoint of ${JSON.stringify(c.origin)}, not ${JSON.stringify(origin)}`);
  return c;
}
