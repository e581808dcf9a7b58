/**
 * Checking the access log from the browser, with the verifier medid's CLI runs (log-verify.js,
 * audit/verify/log-verify.ts with its types stripped), passed in as `V` so this module has no
 * imports and runs as well in a test:
 *
 * 1. the log's key (`_log/key`) is parsed (its key ID must match the key) and the latest signed
 *    head (`_log/head`) is opened with it: a C2SP checkpoint of that key's origin, whose size and
 *    root must be the head's;
 * 2. what this browser saw last time (remembered: key, size, root) must be extended by it: a
 *    consistency proof (`_log/proof/consistency`) from the old size to the new one, so a log
 *    that rewrote or dropped what was already shown is caught (the browser acts as a witness);
 * 3. for each AuditEvent, its inclusion proof (`_log/proof/inclusion?event=`): the entry must be
 *    in RFC 8785 form, hash to the leaf hash given, lead through the proof to the signed root of
 *    the proof's size, and say what the AuditEvent shown says (time, action, outcome, purpose);
 * 4. once all the person's events are read, their verified entries as one chain
 *    (`checkPersonChain`): `seq` 1, 2, 3, … with no gap and each `prev` the leaf hash of the entry
 *    before (privacy-design §6), so no access to their records was hidden from them.
 */

/**
 * @typedef {typeof import('../src/audit/verify/log-verify.ts')} Verifier
 * @typedef {(path: string) => Promise<any>} Get  rejects with an error carrying `status` (0: not reached)
 * @typedef {{ load(): any, save(value: any): void }} Memory
 * @typedef {{ size: number, root: Uint8Array, time: string | undefined }} SignedHead
 * @typedef {{ ok: true, keyName: string, head: SignedHead, consistency: 'first' | 'extended' | 'same', warnings: string[], previousSize?: number }
 *   | { ok: false, reason: 'head' | 'signature' | 'inconsistent', detail: string, previousSize?: number }} LogState
 * @typedef {{ state: 'ok' | 'fail' | 'pending' | 'unavailable', reason?: string, detail?: string, field?: string,
 *   index?: number, size?: number, signedAt?: string, keyName?: string,
 *   entry?: import('../src/audit/verify/log-verify.ts').LogEntry }} ProofResult  `entry`: the log entry, when the proof verified
 * @typedef {'gap' | 'prev' | 'order' | 'person' | 'shape'} ChainProblem
 * @typedef {{ state: 'ok', last: number, pending: number, failed: number }
 *   | { state: 'waiting', checked: number, pending: number, failed: number }
 *   | { state: 'empty', pending: number, failed: number }
 *   | { state: 'broken', problem: ChainProblem, seq: number, after: number, pending: number, failed: number }} ChainResult
 */

/** @param {unknown} e */
const messageOf = (e) => (e instanceof Error ? e.message : String(e));
/** @param {unknown} e */
const statusOf = (e) => (typeof e === 'object' && e !== null && 'status' in e && typeof e.status === 'number' ? e.status : undefined);

/**
 * The purpose an AuditEvent records: purposeOfEvent, else the requesting agent's purposeOfUse.
 * @param {any} ev
 * @returns {string | undefined}
 */
export function purposeOfEvent(ev) {
  const fromEvent = ev?.purposeOfEvent?.flatMap((/** @type {any} */ c) => c?.coding ?? []).find((/** @type {any} */ c) => c?.code)?.code;
  if (fromEvent) return fromEvent;
  for (const a of ev?.agent ?? []) {
    const code = (a?.purposeOfUse ?? []).flatMap((/** @type {any} */ c) => c?.coding ?? []).find((/** @type {any} */ c) => c?.code)?.code;
    if (code) return code;
  }
  return undefined;
}

export class LogChecker {
  /**
   * @param {Verifier} V
   * @param {Get} get
   * @param {Memory} [memory] where what was seen last time is kept (localStorage in the browser)
   */
  constructor(V, get, memory) {
    this.V = V;
    this.get = get;
    this.memory = memory;
    /** @type {Promise<LogState> | undefined} */
    this.logState = undefined;
    /** @type {Map<number, Promise<SignedHead>>} */
    this.heads = new Map();
    /** @type {import('../src/audit/verify/log-verify.ts').NoteVerifier | undefined} */
    this.verifier = undefined;
    this.keyName = '';
  }

  /** The log's state, checked once (again after `reset`). */
  log() {
    this.logState ??= this.checkLog();
    return this.logState;
  }

  reset() {
    this.logState = undefined;
    this.heads.clear();
  }

  /**
   * Opens a head's checkpoint with the log's key and checks the head says what it signs.
   * @param {any} head
   * @returns {Promise<SignedHead>}
   */
  async openHead(head) {
    const V = this.V;
    if (!this.verifier) throw new V.VerifyError('no log key');
    if (typeof head?.checkpoint !== 'string') throw new V.VerifyError('the head has no checkpoint');
    const c = await V.openCheckpoint(head.checkpoint, [this.verifier], this.keyName);
    if (c.size !== head.size || V.toBase64(c.root) !== head.root)
      throw new V.VerifyError(`the head (size ${head.size}) is not the checkpoint it carries (size ${c.size})`);
    return { size: c.size, root: c.root, time: typeof head.time === 'string' ? head.time : undefined };
  }

  /** @returns {Promise<LogState>} */
  async checkLog() {
    const V = this.V;
    let key;
    let head;
    try {
      [key, head] = await Promise.all([this.get('_log/key'), this.get('_log/head')]);
    } catch (e) {
      return { ok: false, reason: 'head', detail: messageOf(e) };
    }
    /** @type {SignedHead} */
    let latest;
    try {
      this.verifier = await V.parseVerifierKey(String(key?.verifierKey));
      if (typeof key?.keyName === 'string' && key.keyName !== this.verifier.name)
        throw new V.VerifyError(`the key is named ${this.verifier.name}, not ${key.keyName}`);
      this.keyName = this.verifier.name;
      latest = await this.openHead(head);
    } catch (e) {
      return { ok: false, reason: 'signature', detail: messageOf(e) };
    }
    this.heads.set(latest.size, Promise.resolve(latest));
    /** @type {string[]} */
    const warnings = [];
    /** @type {{ verifierKey?: string, size?: number, root?: string } | undefined} */
    let seen;
    try {
      seen = this.memory?.load();
    } catch {
      seen = undefined;
    }
    const remember = () => {
      try {
        this.memory?.save({ verifierKey: key.verifierKey, size: latest.size, root: V.toBase64(latest.root) });
      } catch {
        // Not remembered: checked again from here next time.
      }
    };
    if (!seen || typeof seen.size !== 'number' || typeof seen.root !== 'string') {
      remember();
      return { ok: true, keyName: this.keyName, head: latest, consistency: 'first', warnings };
    }
    const previousSize = seen.size;
    if (seen.verifierKey !== key.verifierKey) warnings.push('log.keyChanged');
    if (previousSize > latest.size) {
      warnings.push('log.shrunk');
      return { ok: true, keyName: this.keyName, head: latest, consistency: 'same', warnings, previousSize };
    }
    let consistent;
    try {
      const oldRoot = V.fromBase64(seen.root);
      if (previousSize === latest.size) consistent = V.equalBytes(oldRoot, latest.root);
      else {
        const p = previousSize === 0 ? { proof: [] } : await this.get(`_log/proof/consistency?first=${previousSize}&second=${latest.size}`);
        consistent = await V.verifyConsistency(previousSize, latest.size, (p?.proof ?? []).map(V.fromBase64), oldRoot, latest.root);
      }
    } catch (e) {
      if (statusOf(e) !== undefined) {
        // The proof could not be fetched: nothing learnt, nothing forgotten.
        return { ok: true, keyName: this.keyName, head: latest, consistency: 'first', warnings, previousSize };
      }
      consistent = false;
    }
    if (!consistent) return { ok: false, reason: 'inconsistent', detail: `size ${previousSize} → ${latest.size}`, previousSize };
    remember();
    return {
      ok: true,
      keyName: this.keyName,
      head: latest,
      consistency: previousSize === latest.size ? 'same' : 'extended',
      warnings,
      previousSize,
    };
  }

  /**
   * The signed head of a size (the one an inclusion proof was made against), opened once.
   * @param {number} size
   */
  headOfSize(size) {
    let p = this.heads.get(size);
    if (!p) {
      p = this.get(`_log/head?size=${size}`).then((h) => this.openHead(h));
      p.catch(() => this.heads.delete(size));
      this.heads.set(size, p);
    }
    return p;
  }

  /**
   * Checks one AuditEvent's place in the log.
   * @param {any} ev an AuditEvent as the API returned it
   * @returns {Promise<ProofResult>}
   */
  async verifyEvent(ev) {
    const V = this.V;
    const log = await this.log();
    if (!log.ok) return { state: 'fail', reason: log.reason === 'head' ? 'head' : 'signature', detail: log.detail };
    let p;
    try {
      p = await this.get(`_log/proof/inclusion?event=${encodeURIComponent(String(ev?.id))}`);
    } catch (e) {
      const status = statusOf(e);
      if (status === 409) return { state: 'pending', reason: 'pending', detail: messageOf(e) };
      if (status === 404) return { state: 'unavailable', reason: 'server', detail: messageOf(e) };
      if (status === 0 || status === undefined) return { state: 'pending', reason: 'network' };
      return { state: 'fail', reason: 'server', detail: messageOf(e) };
    }
    /** @type {SignedHead} */
    let head;
    try {
      head = await this.headOfSize(Number(p?.size));
    } catch (e) {
      return { state: 'fail', reason: statusOf(e) === undefined ? 'signature' : 'head', detail: messageOf(e) };
    }
    const where = { index: p.index, size: head.size, signedAt: head.time, keyName: this.keyName };
    /** @type {any} */
    let entry;
    try {
      if (typeof p.entry !== 'string') throw new V.VerifyError('the proof carries no entry');
      entry = JSON.parse(p.entry);
      if (V.canonicalJson(entry) !== p.entry) throw new V.VerifyError('the entry is not in its RFC 8785 form');
    } catch (e) {
      return { state: 'fail', reason: 'entry', detail: messageOf(e), ...where };
    }
    const leaf = await V.entryLeafHash(entry);
    if (V.toBase64(leaf) !== p.leafHash) return { state: 'fail', reason: 'leaf', ...where };
    let included;
    try {
      const proof = (Array.isArray(p.proof) ? p.proof : []).map((/** @type {string} */ x) => V.fromBase64(x));
      included = await V.verifyInclusion(p.index, p.size, leaf, proof, head.root);
    } catch (e) {
      return { state: 'fail', reason: 'inclusion', detail: messageOf(e), ...where };
    }
    if (!included) return { state: 'fail', reason: 'inclusion', ...where };
    const field = differingField(entry, ev);
    if (field) return { state: 'fail', reason: 'mismatch', field, ...where };
    return { state: 'ok', ...where, entry };
  }
}

/**
 * The first field the log entry and the AuditEvent disagree on (both must state it), if any.
 * @param {any} entry
 * @param {any} ev
 */
export function differingField(entry, ev) {
  if (entry.time != null && ev.recorded != null && Date.parse(entry.time) !== Date.parse(ev.recorded)) return 'time';
  if (entry.action != null && ev.action != null && entry.action !== ev.action) return 'action';
  if (entry.outcome != null && ev.outcome != null && String(entry.outcome) !== String(ev.outcome)) return 'outcome';
  const purpose = purposeOfEvent(ev);
  if (entry.purpose != null && purpose !== undefined && entry.purpose !== purpose) return 'purpose';
  return undefined;
}

/**
 * The person's chain over the entries whose proofs verified (`V.checkChain`, sorted by seq): seq
 * 1, 2, 3, … with no gap, each `prev` the leaf hash of the entry before. `pending` entries (not
 * under a signed head yet) have no entry to check: they are the newest, the chain's tail, and are
 * counted as not yet checkable. Only when a head was signed while the proofs were fetched (a
 * verified proof is of a bigger tree than `signedSize`) can a pending entry be older than a
 * verified one: a gap they could fill (no more seqs missing than entries pending) is then
 * `waiting`, checked up to before the gap, not `broken`. `failed` proofs are left out (each shows
 * its own ✗), so the entries they hide are a gap.
 * @param {Verifier} V
 * @param {Iterable<ProofResult>} results one per AuditEvent, none still being checked
 * @param {number} signedSize the size of the signed head the checker saw when it began
 * @returns {Promise<ChainResult>}
 */
export async function checkPersonChain(V, results, signedSize) {
  /** @type {import('../src/audit/verify/log-verify.ts').LogEntry[]} */
  const entries = [];
  let pending = 0;
  let failed = 0;
  let headSigned = false;
  for (const r of results) {
    if (r.state === 'ok' && r.entry) {
      entries.push(r.entry);
      if ((r.size ?? 0) > signedSize) headSigned = true;
    } else if (r.state === 'pending') pending++;
    else if (r.state === 'fail') failed++;
  }
  // An entry without a seq sorts first, where checkChain names it (`shape`).
  const seqOf = (/** @type {{ seq: unknown }} */ e) => (typeof e.seq === 'number' && Number.isSafeInteger(e.seq) ? e.seq : 0);
  entries.sort((a, b) => seqOf(a) - seqOf(b));
  if (entries.length === 0) return pending > 0 ? { state: 'waiting', checked: 0, pending, failed } : { state: 'empty', pending, failed };
  const c = await V.checkChain(entries);
  if (c.ok) return { state: 'ok', last: c.head?.seq ?? 0, pending, failed };
  const before = entries[c.position - 1];
  const after = before ? seqOf(before) : 0;
  if (c.problem === 'gap' && pending > 0 && headSigned) {
    const last = entries[entries.length - 1];
    const missing = (last ? seqOf(last) : 0) - new Set(entries.map(seqOf)).size;
    if (missing <= pending) return { state: 'waiting', checked: after, pending, failed };
  }
  return { state: 'broken', problem: c.problem, seq: c.seq, after, pending, failed };
}

/**
 * Runs `fn` over `items`, `limit` at a time.
 * @template T
 * @param {readonly T[]} items
 * @param {number} limit
 * @param {(item: T) => Promise<void>} fn
 */
export async function eachLimited(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = /** @type {T} */ (items[next++]);
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
