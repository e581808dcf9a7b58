/**
 * `medid log verify`'s core (issue 17, item 4): the whole access log checked straight from the
 * database, trusting nothing medid computed — every hash is computed again from the entry texts,
 * every entry is rebuilt from the audit.event row it names:
 *
 * 1. leaves: indices 0…n−1 with no gap, each stored hash = SHA-256(0x00 ‖ entry), each entry a
 *    canonical (RFC 8785) entry of a known version whose person and seq are its row's;
 * 2. the tree: rebuilt from the leaf hashes (RFC 9162 §2.1); every stored subtree (audit.log_node)
 *    equals the recomputed one and none is missing; every stored head (audit.log_head) is no larger
 *    than the log, its root is MTH of its size, its checkpoint text carries that size and root, and
 *    — given the log's public key — its signed-note signature verifies; a checkpoint kept outside
 *    (a witness's, a person's) must be a root of this tree, shown by a consistency proof checked by
 *    the dependency-free verifier;
 * 3. events: each leaf's entry rebuilt from its event row (entryOf, with the leaf's own person,
 *    seq, prev and nonce) is the stored text — a rewritten event row shows, by its id; a leaf whose
 *    event row is gone shows; an event from the log's first on with no leaf that is not waiting in
 *    audit.log_pending shows;
 * 4. chains: each person's entries by seq (verify/log-verify.ts `checkChain`): no gap, each prev the
 *    previous entry's leaf hash; the persons whose chain fails are named, and only they.
 *
 * Everything is read on one snapshot, in keyset pages: one page of entry texts in memory at a
 * time, and the tree's hashes (32 bytes per leaf and node).
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import type { Db } from '../store/db.ts';
import {
  chainLeavesAfter,
  headsAfter,
  leavesAfter,
  nodesAfter,
  onSnapshot,
  pendingState,
  unloggedEvents,
} from '../store/access-log-read.ts';
import type { StoredLeaf } from '../store/access-log-read.ts';
import { ed25519PublicKeyBytes } from './checkpoint.ts';
import { entryOf } from './log-entry.ts';
import { MemoryTree } from './merkle.ts';
import {
  canonicalJson,
  checkChain,
  ed25519KeyId,
  ENTRY_VERSION,
  equalBytes,
  openCheckpoint,
  parseCheckpoint,
  parseNote,
  parseVerifierKey,
  toBase64,
  toHex,
  verifyConsistency,
  VerifyError,
} from './verify/log-verify.ts';
import type { ChainHead, Checkpoint, LogEntry, NoteVerifier } from './verify/log-verify.ts';

export type ProblemKind =
  /** Leaf indices are not 0…n−1. */
  | 'leaf-gap'
  /** A stored leaf hash is not SHA-256(0x00 ‖ its entry). */
  | 'leaf-hash'
  /** An entry that is not a canonical entry of a known version, or whose row says another person or seq. */
  | 'leaf-entry'
  /** A leaf whose event row is gone. */
  | 'event-missing'
  /** An event row that no longer gives its leaf's entry. */
  | 'event-rewritten'
  /** An event from the log's first on with no leaf, not waiting in audit.log_pending. */
  | 'event-unlogged'
  /** A queued event that is gone, or that has its leaf already. */
  | 'pending'
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

export interface LogVerifyReport {
  ok: boolean;
  /** The log's size: one past its last leaf index (the leaves read, unless some are missing). */
  size: number;
  /** MTH of all the leaves, recomputed (hex; base64 as checkpoints write it); null when leaves are missing. */
  root: string | null;
  rootBase64: string | null;
  leaves: { checked: number; badHashes: number };
  events: { checked: number; rewritten: number; missing: number; unlogged: number; pending: number; firstLogged: number | null };
  nodes: { checked: number; expected: number };
  heads: {
    checked: number;
    latest: { size: number; root: string; origin: string | null; signedAt: string } | null;
    /** Heads whose signatures (checkpoint note and JWS) verified with the key given; null when no key was given (not checked). */
    signaturesVerified: number | null;
  };
  /** Checkpoints given from outside (a witness's), each with whether this log bears it out. */
  checkpoints: { size: number; origin: string; ok: boolean }[];
  persons: { checked: number; failed: string[]; failedCount: number };
  /** The first `maxProblems` problems, in the order found. */
  problems: Problem[];
  problemCount: number;
  counts: Partial<Record<ProblemKind, number>>;
  /** Whether each person's pseudonym was checked against its event's Patient id (`personOf`). */
  personsFromPatients: boolean;
  seconds: number;
}

/** The log's public key: a note verifier key (`<name>+<key ID>+<key>`), or a bare Ed25519 key whose name is each checkpoint's origin. */
export type LogPublicKey = { verifier: NoteVerifier } | { publicKey: Uint8Array };

export interface LogVerifyOptions {
  /** Verify every head's signature with it; without, signatures are not checked (and the report says so). */
  key?: LogPublicKey;
  /** Checkpoints kept outside the database (signed notes or bare checkpoint texts): the log must bear each out. */
  checkpoints?: readonly string[];
  /** The audit-domain pseudonym of a Patient id: with it, each entry's person is checked against its event's Patient. */
  personOf?: (patientId: string) => string;
  /** Rows per read (default 1,000). */
  pageSize?: number;
  /** Problems kept in the report (all are counted; default 1,000). */
  maxProblems?: number;
}

/**
 * Parses `--key`: a verifier key string, or a file's text holding one, a PEM Ed25519 key, an
 * Ed25519 JWK, or what `GET [base]/_log/key` answers.
 */
export async function parseLogPublicKey(text: string): Promise<LogPublicKey> {
  const t = text.trim();
  if (t.startsWith('-----BEGIN')) return { publicKey: ed25519PublicKeyBytes(createPublicKey(t)) };
  if (t.startsWith('{')) {
    const json = JSON.parse(t) as Record<string, unknown>;
    // What GET [base]/_log/key answers: {keyName, verifierKey, jwk}.
    if (typeof json['verifierKey'] === 'string') return { verifier: await parseVerifierKey(json['verifierKey']) };
    const jwk = json;
    if (jwk['kty'] !== 'OKP' || jwk['crv'] !== 'Ed25519' || typeof jwk['x'] !== 'string')
      throw new VerifyError('the JWK is not an Ed25519 public key');
    const publicKey = Buffer.from(jwk['x'], 'base64url');
    if (publicKey.length !== 32) throw new VerifyError('the JWK is not an Ed25519 public key');
    return { publicKey };
  }
  if (/^[^\s+]+\+[0-9a-f]{8}\+\S+$/.test(t)) return { verifier: await parseVerifierKey(t) };
  throw new VerifyError('a log key is a verifier key (<name>+<key ID>+<base64 key>), a PEM Ed25519 key or an Ed25519 JWK');
}

/**
 * A head's JWS (compact, EdDSA): what it claims must be its row's origin, size, root and time, and
 * with a key its signature must verify. Returns what is wrong, or undefined.
 */
function checkJws(
  jws: string,
  row: { size: number; root: Uint8Array; signedAt: string },
  origin: string | undefined,
  publicKey: Uint8Array | undefined,
): string | undefined {
  const parts = jws.split('.');
  const [header, payload, signature] = parts;
  if (parts.length !== 3 || header === undefined || payload === undefined || signature === undefined) return 'its JWS is not a compact JWS';
  let h: Record<string, unknown>;
  let c: Record<string, unknown>;
  try {
    h = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>;
    c = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return 'its JWS does not parse';
  }
  if (h['alg'] !== 'EdDSA') return `its JWS is signed with ${JSON.stringify(h['alg'])}, not EdDSA`;
  if (c['size'] !== row.size || c['root'] !== toBase64(row.root) || (origin !== undefined && c['origin'] !== origin))
    return 'its JWS claims another origin, size or root than its checkpoint';
  if (typeof c['time'] !== 'string' || Date.parse(c['time']) !== Date.parse(row.signedAt))
    return 'its JWS claims another time than its row';
  if (publicKey) {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
    if (!verify(null, Buffer.from(`${header}.${payload}`, 'ascii'), key, Buffer.from(signature, 'base64url')))
      return 'its JWS signature does not verify with the key given';
  }
  return undefined;
}

async function verifiersFor(key: LogPublicKey, origin: string): Promise<NoteVerifier[]> {
  if ('verifier' in key) return [key.verifier];
  return [{ name: origin, keyId: await ed25519KeyId(origin, key.publicKey), publicKey: key.publicKey }];
}

class Problems {
  readonly list: Problem[] = [];
  count = 0;
  readonly counts: Partial<Record<ProblemKind, number>> = {};
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  add(p: Problem): void {
    this.count++;
    this.counts[p.kind] = (this.counts[p.kind] ?? 0) + 1;
    if (this.list.length < this.max) this.list.push(p);
  }
  /** Problems of a kind counted beyond those listed (a query returned only the first ones). */
  more(kind: ProblemKind, n: number): void {
    if (n <= 0) return;
    this.count += n;
    this.counts[kind] = (this.counts[kind] ?? 0) + n;
  }
}

const leafHashOf = (entry: string): Buffer => createHash('sha256').update(Buffer.of(0x00)).update(entry, 'utf8').digest();

/** An entry's JSON, if it is an object with the fields the log relies on. */
function entryShape(text: string): LogEntry | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'the entry is not JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'the entry is not a JSON object';
  const e = v as Record<string, unknown>;
  if (e['v'] !== ENTRY_VERSION) return `the entry's version ${JSON.stringify(e['v'])} is not ${ENTRY_VERSION}`;
  if (typeof e['nonce'] !== 'string') return 'the entry has no nonce';
  const person = e['person'];
  if (person === null) {
    if (e['seq'] !== null || e['prev'] !== null) return 'an entry about no one has a seq or prev';
  } else if (typeof person !== 'string' || !Number.isSafeInteger(e['seq']) || typeof e['prev'] !== 'string') {
    return "a person's entry needs person, seq and prev";
  }
  return v as LogEntry;
}

/** The top-level fields in which two entries differ. */
function differing(a: LogEntry, b: LogEntry): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => (k in a ? canonicalJson(a[k]) : undefined) !== (k in b ? canonicalJson(b[k]) : undefined));
}

/** Checks the access log in `db` (see the module comment); resolves to the report, never throws on what it finds. */
export async function verifyAccessLog(db: Db, o: LogVerifyOptions = {}): Promise<LogVerifyReport> {
  const started = performance.now();
  const page = o.pageSize ?? 1000;
  return onSnapshot(db, async (t) => {
    // Made inside: a transaction the driver runs again (a lost connection) starts the count over.
    const problems = new Problems(o.maxProblems ?? 1000);
    // 1 and 3: leaves, the tree's bottom, each entry against its event.
    const tree = new MemoryTree();
    let expectIdx = 0;
    let gap = false;
    let badHashes = 0;
    let leavesRead = 0;
    let eventsChecked = 0;
    let firstLogged: number | null = null;
    for (let after = -1; ;) {
      const leaves = await leavesAfter(t, after, page);
      for (const leaf of leaves) {
        if (leaf.idx !== expectIdx) {
          gap = true;
          const missing = leaf.idx === expectIdx + 1 ? `leaf ${expectIdx} is` : `leaves ${expectIdx}–${leaf.idx - 1} are`;
          problems.add({ kind: 'leaf-gap', leaf: expectIdx, message: `${missing} missing` });
        }
        expectIdx = leaf.idx + 1;
        leavesRead++;
        tree.append(leaf.hash);
        const hashOk = equalBytes(leafHashOf(leaf.entry), leaf.hash);
        if (!hashOk) {
          badHashes++;
          problems.add({
            kind: 'leaf-hash',
            ...where(leaf),
            message: `leaf ${leaf.idx}'s hash is not SHA-256(0x00 ‖ its entry): the entry or the hash was changed`,
          });
        }
        firstLogged = firstLogged === null ? leaf.eventId : Math.min(firstLogged, leaf.eventId);
        if (checkLeaf(leaf, hashOk, problems, o.personOf)) eventsChecked++;
      }
      const last = leaves.at(-1);
      if (!last || leaves.length < page) break;
      after = last.idx;
    }
    const size = expectIdx;

    // 2: the stored subtrees against the recomputed ones.
    let nodesChecked = 0;
    let expected = 0;
    for (let w = 2; w <= size; w *= 2) expected += Math.floor(size / w);
    if (!gap) nodesChecked = await checkNodes(t, tree, size, page, problems);

    // 2: the stored heads, and checkpoints kept elsewhere.
    const heads = await checkHeads(t, gap ? undefined : tree, size, page, o.key, problems);
    const checkpoints: LogVerifyReport['checkpoints'] = [];
    for (const note of o.checkpoints ?? []) checkpoints.push(await checkOutside(note, gap ? undefined : tree, size, o.key, problems));

    // 3: events with no leaf, and the queue.
    let unlogged = 0;
    if (firstLogged !== null) {
      const u = await unloggedEvents(t, firstLogged, o.maxProblems ?? 1000);
      unlogged = u.count;
      for (const id of u.ids)
        problems.add({
          kind: 'event-unlogged',
          event: id,
          message: `event ${id} has no leaf and is not waiting for one: it was written past the log`,
        });
      problems.more('event-unlogged', u.count - u.ids.length);
    }
    const pending = await pendingState(t, o.maxProblems ?? 1000);
    for (const id of pending.gone.ids)
      problems.add({ kind: 'pending', event: id, message: `event ${id} waits for its leaf in audit.log_pending, but its row is gone` });
    for (const id of pending.logged.ids)
      problems.add({ kind: 'pending', event: id, message: `event ${id} waits in audit.log_pending but has its leaf already` });
    problems.more('pending', pending.gone.count - pending.gone.ids.length + pending.logged.count - pending.logged.ids.length);

    // 4: each person's chain.
    const persons = await checkChains(t, page, problems, o.maxProblems ?? 1000);

    const root = gap ? null : tree.root();
    return {
      ok: problems.count === 0,
      size,
      root: root ? toHex(root) : null,
      rootBase64: root ? toBase64(root) : null,
      leaves: { checked: leavesRead, badHashes },
      events: {
        checked: eventsChecked,
        rewritten: problems.counts['event-rewritten'] ?? 0,
        missing: problems.counts['event-missing'] ?? 0,
        unlogged,
        pending: pending.waiting,
        firstLogged,
      },
      nodes: { checked: nodesChecked, expected },
      heads,
      checkpoints,
      persons,
      problems: problems.list,
      problemCount: problems.count,
      counts: problems.counts,
      personsFromPatients: o.personOf !== undefined,
      seconds: Math.round(performance.now() - started) / 1000,
    };
  });
}

function where(leaf: StoredLeaf): Pick<Problem, 'leaf' | 'event' | 'person'> {
  return { leaf: leaf.idx, event: leaf.eventId, ...(leaf.person !== null ? { person: leaf.person } : {}) };
}

/**
 * The entry's own shape, and the entry rebuilt from its event row; true when the event was
 * compared. With `hashOk` false the entry changed after it was hashed: a difference from its event
 * is the entry's doing, not the event's.
 */
function checkLeaf(leaf: StoredLeaf, hashOk: boolean, problems: Problems, personOf: ((patientId: string) => string) | undefined): boolean {
  const at = where(leaf);
  const entry = entryShape(leaf.entry);
  if (typeof entry === 'string') {
    problems.add({ kind: 'leaf-entry', ...at, message: `leaf ${leaf.idx}: ${entry}` });
    return false;
  }
  if (entry.person !== leaf.person || entry.seq !== leaf.pseq)
    problems.add({ kind: 'leaf-entry', ...at, message: `leaf ${leaf.idx}'s row says another person or seq than its entry` });
  const event = leaf.event;
  // The entry rebuilt from its event row, in canonical form: when it is the stored text, that
  // text is canonical too (the common case, one canonicalization per leaf).
  const changed: string[] = [];
  let rebuilt: string | undefined;
  if (event) {
    const link = entry.person === null ? null : { person: entry.person, seq: entry.seq ?? 0, prev: entry.prev ?? '' };
    try {
      const e = entryOf(event, link, entry.nonce);
      rebuilt = canonicalJson(e);
      if (rebuilt !== leaf.entry) changed.push(...differing(entry, e));
    } catch (err) {
      changed.push(`(the row gives no entry: ${(err as Error).message})`);
    }
  }
  if (rebuilt !== leaf.entry) {
    let canonical: string | undefined;
    try {
      canonical = canonicalJson(entry);
    } catch {
      // not I-JSON: not canonical either
    }
    if (canonical !== leaf.entry)
      problems.add({ kind: 'leaf-entry', ...at, message: `leaf ${leaf.idx}'s entry is not in its canonical (RFC 8785) form` });
  }
  if (!event) {
    problems.add({ kind: 'event-missing', ...at, message: `event ${leaf.eventId} (leaf ${leaf.idx}) is gone: its row was deleted` });
    return false;
  }
  // The Patient id is not in the entry: the person is (by its pseudonym), so a row that gained,
  // lost or (given the key) changed its Patient shows here.
  if ((event.patientId === null) !== (entry.person === null)) changed.push('patient');
  else if (personOf && event.patientId !== null && personOf(event.patientId) !== entry.person) changed.push('patient');
  if (event.nonce && event.nonce !== entry.nonce) changed.push('nonce');
  if (changed.length > 0) {
    const fields = [...new Set(changed)];
    const what = `${fields.join(', ')} ${fields.length === 1 ? 'differs' : 'differ'}`;
    problems.add(
      hashOk
        ? {
            kind: 'event-rewritten',
            ...at,
            message: `event ${leaf.eventId} (leaf ${leaf.idx}) was rewritten: its row no longer gives its leaf's entry (${what})`,
          }
        : {
            kind: 'leaf-entry',
            ...at,
            message: `leaf ${leaf.idx}'s entry was rewritten: it no longer matches event ${leaf.eventId} (${what})`,
          },
    );
  }
  return true;
}

/** Every stored subtree (level ≥ 1) against the tree rebuilt from the leaf hashes; none may be missing. */
async function checkNodes(db: Db, tree: MemoryTree, size: number, page: number, problems: Problems): Promise<number> {
  let checked = 0;
  // The next index expected at each level, to see what is missing.
  const next = new Map<number, number>();
  const completeAt = (level: number): number => Math.floor(size / 2 ** level);
  const missing = (level: number, from: number, to: number): void => {
    if (from >= to) return;
    problems.add({
      kind: 'node',
      level,
      index: from,
      message: to - from === 1 ? `subtree (${level}, ${from}) is not stored` : `subtrees (${level}, ${from}–${to - 1}) are not stored`,
    });
  };
  for (let after = { level: 0, idx: -1 }; ;) {
    const nodes = await nodesAfter(db, after, page);
    for (const n of nodes) {
      const complete = completeAt(n.level);
      missing(n.level, next.get(n.level) ?? 0, Math.min(n.idx, complete));
      next.set(n.level, Math.max(next.get(n.level) ?? 0, n.idx + 1));
      if (n.idx >= complete) {
        problems.add({
          kind: 'node',
          level: n.level,
          index: n.idx,
          message: `subtree (${n.level}, ${n.idx}) covers leaves the log does not have`,
        });
        continue;
      }
      checked++;
      const [recomputed] = tree.read([{ level: n.level, index: n.idx }]);
      if (!recomputed || !equalBytes(recomputed, n.hash))
        problems.add({
          kind: 'node',
          level: n.level,
          index: n.idx,
          message: `subtree (${n.level}, ${n.idx}) is not the hash of its leaves`,
        });
    }
    const last = nodes.at(-1);
    if (!last || nodes.length < page) break;
    after = { level: last.level, idx: last.idx };
  }
  for (let level = 1; completeAt(level) > 0; level++) missing(level, next.get(level) ?? 0, completeAt(level));
  return checked;
}

/** A checkpoint note or bare checkpoint text: what it says, and whether it is signed. */
function readCheckpoint(note: string): { checkpoint: Checkpoint; signed: boolean } {
  if (note.includes('\n\n')) {
    const { text, signatures } = parseNote(note);
    return { checkpoint: parseCheckpoint(text), signed: signatures.length > 0 };
  }
  return { checkpoint: parseCheckpoint(note), signed: false };
}

async function checkHeads(
  db: Db,
  tree: MemoryTree | undefined,
  size: number,
  page: number,
  key: LogPublicKey | undefined,
  problems: Problems,
): Promise<LogVerifyReport['heads']> {
  let checked = 0;
  let verified = 0;
  let origin: string | undefined;
  let latest: LogVerifyReport['heads']['latest'] = null;
  for (let after = -1; ;) {
    const heads = await headsAfter(db, after, page);
    for (const h of heads) {
      checked++;
      const bad = (message: string): void =>
        problems.add({ kind: 'head', size: h.size, message: `head of size ${h.size} (signed ${h.signedAt}): ${message}` });
      let said: Checkpoint | undefined;
      try {
        said = readCheckpoint(h.checkpoint).checkpoint;
      } catch (e) {
        bad(`its checkpoint does not parse (${(e as Error).message})`);
      }
      latest = { size: h.size, root: toHex(h.root), origin: said?.origin ?? null, signedAt: h.signedAt };
      if (h.size > size) bad(`the log has only ${size} leaves: leaves were removed`);
      else if (tree && !equalBytes(tree.root(h.size), h.root)) bad('its root is not the root of the log at that size');
      if (said) {
        if (said.size !== h.size || !equalBytes(said.root, h.root)) bad('its checkpoint says another size or root than its row');
        if (origin === undefined) origin = said.origin;
        else if (said.origin !== origin)
          bad(`its checkpoint names the log ${JSON.stringify(said.origin)}, the others ${JSON.stringify(origin)}`);
      }
      let signed = true;
      if (key && said) {
        try {
          await openCheckpoint(h.checkpoint, await verifiersFor(key, said.origin));
        } catch (e) {
          signed = false;
          bad(`its signature does not verify with the key given (${(e as Error).message})`);
        }
      }
      const jwsWrong = checkJws(h.jws, h, said?.origin, key ? ('verifier' in key ? key.verifier.publicKey : key.publicKey) : undefined);
      if (jwsWrong) {
        signed = false;
        bad(jwsWrong);
      }
      if (key && said && signed) verified++;
    }
    const last = heads.at(-1);
    if (!last || heads.length < page) break;
    after = last.size;
  }
  return { checked, latest, signaturesVerified: key ? verified : null };
}

/**
 * A checkpoint kept outside the database: signed by the key (when given), of a size the log has,
 * and the log at that size has its root — shown as a witness would check it, by the consistency
 * proof from its size to the whole log's, verified by the dependency-free verifier.
 */
async function checkOutside(
  note: string,
  tree: MemoryTree | undefined,
  size: number,
  key: LogPublicKey | undefined,
  problems: Problems,
): Promise<LogVerifyReport['checkpoints'][number]> {
  let c: Checkpoint;
  try {
    c = readCheckpoint(note).checkpoint;
  } catch (e) {
    problems.add({ kind: 'head', message: `a checkpoint given does not parse (${(e as Error).message})` });
    return { size: -1, origin: '', ok: false };
  }
  const before = problems.count;
  const bad = (message: string): void =>
    problems.add({ kind: 'head', size: c.size, message: `checkpoint of size ${c.size} given: ${message}` });
  if (key) {
    try {
      await openCheckpoint(note, await verifiersFor(key, c.origin));
    } catch (e) {
      bad(`its signature does not verify with the key given (${(e as Error).message})`);
    }
  }
  if (c.size > size) bad(`the log has only ${size} leaves: leaves were removed`);
  else if (!tree) bad('not checked: leaves are missing');
  else if (c.size > 0) {
    const proof = tree.consistencyProof(c.size, size);
    if (!(await verifyConsistency(c.size, size, proof, c.root, tree.root(size))))
      bad('the log does not extend it (its root is not the log at that size)');
  }
  return { size: c.size, origin: c.origin, ok: problems.count === before };
}

/** Each person's entries by seq, page by page (checkChain continuing from the head so far). */
async function checkChains(db: Db, page: number, problems: Problems, maxNamed: number): Promise<LogVerifyReport['persons']> {
  let checked = 0;
  const failed: string[] = [];
  let failedCount = 0;
  let person: string | undefined;
  let head: ChainHead | undefined;
  let broken = false;
  const fail = (p: string, leaf: number, message: string): void => {
    broken = true;
    failedCount++;
    if (failed.length < maxNamed) failed.push(p);
    problems.add({ kind: 'chain', person: p, leaf, message: `person ${p}: ${message}` });
  };
  for (let after: { person: string; pseq: number } | null = null; ;) {
    const leaves = await chainLeavesAfter(db, after, page);
    for (const l of leaves) {
      if (l.person !== person) {
        person = l.person;
        head = undefined;
        broken = false;
        checked++;
      }
      if (broken) continue;
      const entry = entryShape(l.entry);
      if (typeof entry === 'string') {
        fail(l.person, l.idx, `leaf ${l.idx} (seq ${l.pseq}): ${entry}`);
        continue;
      }
      if (entry.person !== l.person) {
        fail(l.person, l.idx, `leaf ${l.idx} (seq ${l.pseq}) is another person's entry`);
        continue;
      }
      let r: Awaited<ReturnType<typeof checkChain>>;
      try {
        r = await checkChain([entry], head);
      } catch (e) {
        fail(l.person, l.idx, `leaf ${l.idx} (seq ${l.pseq}): ${(e as Error).message}`);
        continue;
      }
      if (r.ok) head = r.head ?? undefined;
      else fail(l.person, l.idx, `${r.message} (leaf ${l.idx})`);
    }
    const last = leaves.at(-1);
    if (!last || leaves.length < page) break;
    after = { person: last.person, pseq: last.pseq };
  }
  return { checked, failed, failedCount };
}
