/**
 * `medid log verify`'s core (issue 17, item 4): the whole access log checked straight from the
 * database, trusting nothing medid computed — every hash is computed again, every entry is
 * rebuilt from the audit.event row its leaf names (leaves keep no copy of the text):
 *
 * 1. leaves: indices 0…n−1 with no gap;
 * 2. the tree: rebuilt from the leaf hashes (RFC 9162 §2.1); every stored subtree (audit.log_node)
 *    equals the recomputed one and none the appender stores (level ≥ 8) is missing; every stored
 *    head (audit.log_head) is no larger than the log, its root is MTH of its size, its checkpoint
 *    text carries that size and root, and — given the log's public key — its signed-note signature
 *    verifies; a checkpoint kept outside (a witness's, a person's) must be a root of this tree,
 *    shown by a consistency proof checked by the dependency-free verifier;
 * 3. events and chains (log-audit-entries.ts): each leaf's entry rebuilt from its event row
 *    (entryOf, with the leaf's person and seq, the event's nonce and the previous leaf hash of the
 *    person's chain) hashes to the leaf — a rewritten event row shows, by its id, a changed leaf
 *    hash shows as such; a leaf whose event row is gone shows; each person's entries run seq 1, 2,
 *    3, … in log order; an event from the log's first on with no place that is not waiting in
 *    audit.log_pending shows;
 * 4. places (audit.log_order, migration 0020): each leaf hashes the event placed at its index (a
 *    leaf whose place is gone shows); places not hashed yet (a running server hashes them within milliseconds) are counted, must
 *    follow the leaves without a gap, and must still have their event rows.
 *
 * Everything is read on one snapshot, in keyset pages: one page of rows in memory at a time, the
 * tree's hashes (32 bytes per leaf and node) and the last leaf of each person.
 */
import { createPublicKey, verify } from 'node:crypto';
import type { Db } from '../store/db.ts';
import { headsAfter, leavesAfter, nodesAfter, onSnapshot, pendingState, unhashedPlaces, unloggedEvents } from '../store/access-log-read.ts';
import { ed25519PublicKeyBytes } from './checkpoint.ts';
import { EntryCheck } from './log-audit-entries.ts';
import { Problems } from './log-audit-problems.ts';
import type { Problem, ProblemKind } from './log-audit-problems.ts';
import { MemoryTree } from './merkle.ts';
import { STORED_FROM_LEVEL } from './stored-tree.ts';
import {
  ed25519KeyId,
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
import type { Checkpoint, NoteVerifier } from './verify/log-verify.ts';

export type { Problem, ProblemKind } from './log-audit-problems.ts';

export interface LogVerifyReport {
  ok: boolean;
  /** The log's size: one past its last leaf index (the leaves read, unless some are missing). */
  size: number;
  /** MTH of all the leaves, recomputed (hex; base64 as checkpoints write it); null when leaves are missing. */
  root: string | null;
  rootBase64: string | null;
  leaves: { checked: number; badHashes: number };
  events: {
    checked: number;
    rewritten: number;
    missing: number;
    unlogged: number;
    pending: number;
    /** Placed in the log, leaf not hashed yet. */
    unhashed: number;
    firstLogged: number | null;
  };
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
  /** Rows per read (default 2,000). */
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

/** Checks the access log in `db` (see the module comment); resolves to the report, never throws on what it finds. */
export async function verifyAccessLog(db: Db, o: LogVerifyOptions = {}): Promise<LogVerifyReport> {
  const started = performance.now();
  const page = o.pageSize ?? 2000;
  return onSnapshot(db, async (t) => {
    // Made inside: a transaction the driver runs again (a lost connection) starts the count over.
    const problems = new Problems(o.maxProblems ?? 1000);
    const entries = new EntryCheck(problems, o.personOf, o.maxProblems ?? 1000);
    // 1 and 3: leaves, the tree's bottom, each entry against its event and its person's chain.
    const tree = new MemoryTree();
    let expectIdx = 0;
    let gap = false;
    let leavesRead = 0;
    let firstLogged: number | null = null;
    // The next page is asked for before this one is checked: the database reads while we hash.
    for (let next = leavesAfter(t, -1, page); ;) {
      const leaves = await next;
      const last = leaves.at(-1);
      const more = last !== undefined && leaves.length === page;
      if (more) next = leavesAfter(t, last.idx, page);
      for (const leaf of leaves) {
        if (leaf.idx !== expectIdx) {
          gap = true;
          const missing = leaf.idx === expectIdx + 1 ? `leaf ${expectIdx} is` : `leaves ${expectIdx}–${leaf.idx - 1} are`;
          problems.add({ kind: 'leaf-gap', leaf: expectIdx, message: `${missing} missing` });
        }
        expectIdx = leaf.idx + 1;
        leavesRead++;
        tree.append(leaf.hash);
        if (leaf.eventId === null)
          problems.add({
            kind: 'place',
            leaf: leaf.idx,
            message: `leaf ${leaf.idx} has no place in audit.log_order: its event cannot be named`,
          });
        else firstLogged = firstLogged === null ? leaf.eventId : Math.min(firstLogged, leaf.eventId);
        entries.leaf(leaf);
      }
      if (!more) break;
    }
    const size = expectIdx;

    // 2: the stored subtrees against the recomputed ones.
    let nodesChecked = 0;
    let expected = 0;
    for (let w = 2 ** STORED_FROM_LEVEL; w <= size; w *= 2) expected += Math.floor(size / w);
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
          message: `event ${id} has no place in the log and is not waiting for one: it was written past the log`,
        });
      problems.more('event-unlogged', u.count - u.ids.length);
    }
    // 4: places given and not hashed yet.
    const unhashed = await unhashedPlaces(t, size, o.maxProblems ?? 1000);
    if (!gap && unhashed.end - size !== unhashed.count)
      problems.add({
        kind: 'place',
        leaf: size,
        message: `places ${size}–${unhashed.end - 1} not hashed yet skip ${unhashed.end - size - unhashed.count} index(es)`,
      });
    for (const [leaf, event] of unhashed.gone.places)
      problems.add({ kind: 'place', leaf, event, message: `event ${event}, placed at leaf ${leaf} and not hashed yet, is gone` });
    problems.more('place', unhashed.gone.count - unhashed.gone.places.length);
    const pending = await pendingState(t, o.maxProblems ?? 1000);
    for (const id of pending.gone.ids)
      problems.add({ kind: 'pending', event: id, message: `event ${id} waits for its place in audit.log_pending, but its row is gone` });
    for (const id of pending.logged.ids)
      problems.add({ kind: 'pending', event: id, message: `event ${id} waits in audit.log_pending but has its place already` });
    problems.more('pending', pending.gone.count - pending.gone.ids.length + pending.logged.count - pending.logged.ids.length);

    const root = gap ? null : tree.root();
    return {
      ok: problems.count === 0,
      size,
      root: root ? toHex(root) : null,
      rootBase64: root ? toBase64(root) : null,
      leaves: { checked: leavesRead, badHashes: problems.counts['leaf-hash'] ?? 0 },
      events: {
        checked: entries.eventsChecked,
        rewritten: problems.counts['event-rewritten'] ?? 0,
        missing: problems.counts['event-missing'] ?? 0,
        unlogged,
        pending: pending.waiting,
        unhashed: unhashed.count,
        firstLogged,
      },
      nodes: { checked: nodesChecked, expected },
      heads,
      checkpoints,
      persons: { checked: entries.persons, failed: entries.failed, failedCount: entries.failedCount },
      problems: problems.list,
      problemCount: problems.count,
      counts: problems.counts,
      personsFromPatients: o.personOf !== undefined,
      seconds: Math.round(performance.now() - started) / 1000,
    };
  });
}

/**
 * Every stored subtree against the tree rebuilt from the leaf hashes; none the appender stores
 * (level ≥ STORED_FROM_LEVEL) may be missing. Lower ones stored by earlier versions are checked too.
 */
async function checkNodes(db: Db, tree: MemoryTree, size: number, page: number, problems: Problems): Promise<number> {
  let checked = 0;
  // The next index expected at each level, to see what is missing.
  const next = new Map<number, number>();
  const completeAt = (level: number): number => Math.floor(size / 2 ** level);
  const missing = (level: number, from: number, to: number): void => {
    if (from >= to || level < STORED_FROM_LEVEL) return;
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
  for (let level = STORED_FROM_LEVEL; completeAt(level) > 0; level++) missing(level, next.get(level) ?? 0, completeAt(level));
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
      const bad = (message: string): void => {
        problems.add({ kind: 'head', size: h.size, message: `head of size ${h.size} (signed ${h.signedAt}): ${message}` });
      };
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
  const bad = (message: string): void => {
    problems.add({ kind: 'head', size: c.size, message: `checkpoint of size ${c.size} given: ${message}` });
  };
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
