/**
 * The access log (issue 17) end to end on a real server: every audited call — writes by the
 * authority, reads and searches by hospitals, a refusal — gets one leaf, each person's chain is
 * gap-free, and `verifyAccessLog` (the core of `medid log verify`) holds; then the tamper tests
 * the issue demands: with the triggers disabled, a rewritten event and a deleted one are both
 * named, a rewritten leaf hash fails as such and breaks its person's chain (that person's only), a moved
 * Patient shows with the pseudonym key, and stored heads and outside checkpoints are checked.
 */
import crypto from 'node:crypto';
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519NoteSigner, ed25519VerifierKey, signCheckpoint } from '../../src/audit/checkpoint.ts';
import { parseLogPublicKey, verifyAccessLog } from '../../src/audit/log-audit.ts';
import type { LogVerifyReport } from '../../src/audit/log-audit.ts';
import { entryLeafHash, entryOf } from '../../src/audit/log-entry.ts';
import { auditPersonOf } from '../../src/pseudonym/audit-person.ts';
import { FilePseudonymKeys } from '../../src/pseudonym/file-keys.ts';
import { readAuditEvent } from '../../src/store/audit.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch } from '../helpers/fhir.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const HOSPITAL_A = { kind: 'medical-institution' as const, code: '1311111111' };
const HOSPITAL_B = { kind: 'medical-institution' as const, code: '1322222222' };

/** Runs SQL with a table's triggers off, as a database owner tampering with the log would. */
async function tamper(s: TestServer, table: string, sql: string, params: unknown[] = []): Promise<void> {
  const db = s.testDb.db;
  await db.query(`ALTER TABLE ${table} DISABLE TRIGGER ALL`);
  try {
    await db.query(sql, params);
  } finally {
    await db.query(`ALTER TABLE ${table} ENABLE TRIGGER ALL`);
  }
}

describe.each(testDrivers())('the access log on %s', (driver) => {
  let s: TestServer;
  const keys = new FilePseudonymKeys(crypto.randomBytes(32));
  const personOf = (patientId: string): string => auditPersonOf(keys, patientId);
  const pids: string[] = [];
  let clean: LogVerifyReport;

  const call = (path: string, token: string, init: RequestInit & { json?: unknown } = {}) =>
    fhirFetch(`${s.base}${path}`, { ...init, headers: { authorization: `Bearer ${token}` } });
  const rows = async <R>(sql: string, params: unknown[] = []): Promise<R[]> => (await s.testDb.db.query<R>(sql, params)).rows;

  /** The root of the first n leaves, folded here from the stored leaf hashes as RFC 9162 §2.1.1 defines it. */
  const rootAt = async (n: number): Promise<Uint8Array> => {
    const leaves = await rows<{ hash: Uint8Array }>(`SELECT hash FROM audit.log_leaf WHERE idx < $1 ORDER BY idx`, [n]);
    const node = (l: Uint8Array, r: Uint8Array): Uint8Array =>
      crypto.createHash('sha256').update(Buffer.of(1)).update(l).update(r).digest();
    const mth = (hs: Uint8Array[]): Uint8Array => {
      if (hs.length === 1) return hs[0];
      let k = 1;
      while (k * 2 < hs.length) k *= 2;
      return node(mth(hs.slice(0, k)), mth(hs.slice(k)));
    };
    return mth(leaves.map((l) => Buffer.from(l.hash)));
  };

  beforeAll(async () => {
    s = await startTestServer(driver, { config: { accessLog: true }, deps: { pseudonymKeys: keys } });
    // Writes by the authority (audited inside their transactions, given leaves before the response).
    for (const family of ['Yamada', 'Suzuki', 'Sato']) {
      const res = await call('/Patient', s.token, {
        method: 'POST',
        json: { resourceType: 'Patient', identifier: [{ system: 'urn:test:al', value: family }], name: [{ family }] },
      });
      expect(res.status).toBe(201);
      pids.push((res.body as Patient & { id: string }).id);
    }
    const [p1 = '', p2 = '', p3 = ''] = pids;
    const a = await s.tokenFor('system/Patient.rs', 'hospital-a', HOSPITAL_A, 'TREAT');
    const b = await s.tokenFor('system/Patient.rs', 'hospital-b', HOSPITAL_B, 'TREAT');
    const obsOnly = await s.tokenFor('system/Observation.rs', 'lab-c', HOSPITAL_B, 'TREAT');
    // Reads and searches by different clients, about the three persons, concurrently (group commit).
    await Promise.all([
      call(`/Patient/${p1}`, a),
      call(`/Patient/${p1}`, s.token),
      call(`/Patient/${p2}`, a),
      call(`/Patient/${p2}`, b),
      call(`/Patient/${p3}`, b),
      call(`/Patient?identifier=urn:test:al|Yamada`, a),
      call(`/Patient?family=Suzuki`, s.token),
    ]);
    for (let i = 0; i < 3; i++) await call(`/Patient/${p1}`, b);
    // A refusal is audited too.
    expect((await call(`/Patient/${p3}`, obsOnly)).status).toBe(403);
    await call(`/Patient/${p2}`, s.token, {
      method: 'PUT',
      json: { resourceType: 'Patient', id: p2, name: [{ family: 'Suzuki', given: ['Jiro'] }] },
    });
    // Every response waited for its event's place; the leaves follow within moments — wait for them.
    await s.app.auditLog.settle(true);
  });
  afterAll(async () => {
    await s.close();
  });

  it('holds on an untouched log: every check passes, signatures said not checked', async () => {
    clean = await verifyAccessLog(s.testDb.db, { personOf, pageSize: 7 });
    expect(clean.problems).toEqual([]);
    expect(clean.ok).toBe(true);
    expect(clean.size).toBeGreaterThanOrEqual(12);
    expect(clean.root).toMatch(/^[0-9a-f]{64}$/);
    expect(clean.events.checked).toBe(clean.size);
    expect(clean.nodes.checked).toBe(clean.nodes.expected);
    expect(clean.heads.signaturesVerified).toBeNull();
    expect(clean.persons.checked).toBeGreaterThanOrEqual(3);
    expect(clean.personsFromPatients).toBe(true);
  });

  it('has one leaf per event, and nothing waiting', async () => {
    const [counts] = await rows<{ events: number; leaves: number; pending: number; distinct: number }>(
      `SELECT (SELECT count(*)::int FROM audit.event) AS events, (SELECT count(*)::int FROM audit.log_leaf) AS leaves,
              (SELECT count(*)::int FROM audit.log_pending) AS pending, (SELECT count(DISTINCT o.event)::int FROM audit.log_leaf l JOIN audit.log_order o ON o.idx = l.idx) AS distinct`,
    );
    expect(counts?.pending).toBe(0);
    expect(counts?.leaves).toBe(counts?.events);
    expect(counts?.distinct).toBe(counts?.events);
    const unmatched = await rows(
      `SELECT seq FROM audit.event e WHERE NOT EXISTS (SELECT 1 FROM audit.log_order o JOIN audit.log_leaf l ON l.idx = o.idx WHERE o.event = e.seq)`,
    );
    expect(unmatched).toEqual([]);
    // Leaves name their persons by pseudonym, not by Patient id; they keep no entry text.
    const persons = await rows<{ person: string }>(`SELECT person FROM audit.log_leaf WHERE person IS NOT NULL`);
    expect(persons.length).toBeGreaterThan(0);
    for (const { person } of persons) {
      expect(person).toMatch(/^a\.[0-9A-Z]{26}$/);
      expect(pids.map(personOf)).toContain(person);
    }
    const columns = await rows<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = 'audit' AND table_name = 'log_leaf'`,
    );
    expect(columns.map((c) => c.column_name)).not.toContain('entry');
  });

  it('gives each person a gap-free chain: seq 1, 2, 3, … in log order, each prev the leaf hash before', async () => {
    for (const pid of pids) {
      const chain = await rows<{ idx: string | number; event: string | number; pseq: number; hash: Uint8Array; patient: string }>(
        `SELECT l.idx, o.event, l.pseq, l.hash, e.patient_id AS patient FROM audit.log_leaf l JOIN audit.log_order o ON o.idx = l.idx JOIN audit.event e ON e.seq = o.event
         WHERE l.person = $1 ORDER BY l.pseq`,
        [personOf(pid)],
      );
      expect(chain.length, pid).toBeGreaterThanOrEqual(2);
      let prev = '0'.repeat(64);
      let lastIdx = -1;
      for (const [i, c] of chain.entries()) {
        expect(c.pseq).toBe(i + 1);
        expect(c.patient).toBe(pid);
        expect(Number(c.idx)).toBeGreaterThan(lastIdx);
        lastIdx = Number(c.idx);
        // The entry, rebuilt from its event with this seq and prev, is what the leaf hashes.
        const event = await readAuditEvent(s.testDb.db, Number(c.event));
        if (!event?.nonce) throw new Error(`event ${c.event} has no nonce`);
        const entry = entryOf(event, { person: personOf(pid), seq: i + 1, prev }, event.nonce);
        expect(entryLeafHash(entry).equals(Buffer.from(c.hash)), `${pid} seq ${i + 1}`).toBe(true);
        prev = Buffer.from(c.hash).toString('hex');
      }
    }
  });

  it('checks the signed heads (checkpoint and JWS) with the log key, and checkpoints kept outside', async () => {
    const heads = s.app.treeHeads;
    if (!heads) throw new Error('the test server signs no heads');
    const head = await heads.signNow();
    expect(head?.size).toBe(clean.size);
    const logKey = heads.publicKey();
    const mine = (r: LogVerifyReport) => r.problems.filter((p) => p.kind === 'head');

    const signed = await verifyAccessLog(s.testDb.db, {
      key: await parseLogPublicKey(logKey.verifierKey),
      checkpoints: [head?.checkpoint ?? ''],
    });
    expect(signed.problems).toEqual([]);
    expect(signed.heads.checked).toBeGreaterThanOrEqual(1);
    expect(signed.heads.signaturesVerified).toBe(signed.heads.checked);
    expect(signed.heads.latest?.origin).toBe(logKey.keyName);
    expect(signed.checkpoints).toEqual([{ size: clean.size, origin: logKey.keyName, ok: true }]);
    // The key as GET [base]/_log/key answers it, and as its JWK: the same verdict.
    for (const form of [JSON.stringify(logKey), JSON.stringify(logKey.jwk)])
      expect((await verifyAccessLog(s.testDb.db, { key: await parseLogPublicKey(form) })).heads.signaturesVerified).toBe(
        signed.heads.checked,
      );

    // Another key: neither signature is the log's.
    const { privateKey } = crypto.generateKeyPairSync('ed25519');
    const other = await verifyAccessLog(s.testDb.db, { key: await parseLogPublicKey(ed25519VerifierKey(logKey.keyName, privateKey)) });
    expect(other.ok).toBe(false);
    expect(other.heads.signaturesVerified).toBe(0);
    expect(
      mine(other)
        .map((p) => p.message)
        .join(),
    ).toContain('signature does not verify');
    const pem = crypto.createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
    expect((await verifyAccessLog(s.testDb.db, { key: await parseLogPublicKey(pem) })).heads.signaturesVerified).toBe(0);

    // A checkpoint a witness was shown of a root this log never had, and one beyond its size.
    const signer = ed25519NoteSigner(logKey.keyName, privateKey);
    const root = await rootAt(clean.size - 3);
    expect(Buffer.from(root).toString('hex')).not.toBe(clean.root);
    const forged = await signCheckpoint({ origin: logKey.keyName, size: clean.size - 2, root }, [signer]);
    const beyond = await signCheckpoint({ origin: logKey.keyName, size: clean.size + 5, root }, [signer]);
    const honest = await signCheckpoint({ origin: logKey.keyName, size: clean.size - 3, root }, [signer]);
    const witness = await verifyAccessLog(s.testDb.db, { checkpoints: [forged, beyond, honest] });
    expect(witness.checkpoints.map((c) => c.ok)).toEqual([false, false, true]);
    expect(mine(witness).map((p) => p.message)).toEqual([
      expect.stringContaining('does not extend it'),
      expect.stringContaining('leaves were removed'),
    ]);
  });

  it('names a rewritten event and a deleted one; no chain breaks (their leaves are still there)', async () => {
    expect((await verifyAccessLog(s.testDb.db)).problems).toEqual([]);
    const [p1 = '', p2 = ''] = pids;
    const [rewritten] = await rows<{ seq: string | number }>(
      `SELECT seq FROM audit.event WHERE patient_id = $1 AND action = 'R' ORDER BY seq LIMIT 1`,
      [p1],
    );
    const [deleted] = await rows<{ seq: string | number }>(
      `SELECT seq FROM audit.event WHERE patient_id = $1 AND action = 'R' ORDER BY seq LIMIT 1`,
      [p2],
    );
    const r = Number(rewritten?.seq);
    const d = Number(deleted?.seq);
    expect(r).toBeGreaterThan(0);
    expect(d).toBeGreaterThan(0);
    await tamper(s, 'audit.event', `UPDATE audit.event SET purpose = 'HMARKT' WHERE seq = $1`, [r]);
    await tamper(s, 'audit.event', `DELETE FROM audit.event WHERE seq = $1`, [d]);

    const report = await verifyAccessLog(s.testDb.db, { personOf });
    expect(report.ok).toBe(false);
    const found = report.problems;
    const expected: [string, number][] = [
      ['event-rewritten', r],
      ['event-missing', d],
    ];
    expect(found.map((p) => [p.kind, p.event])).toEqual(expected.sort((x, y) => x[1] - y[1]));
    const rewrite = found.find((p) => p.event === r);
    expect(rewrite?.message).toContain('purpose differs');
    expect(rewrite?.person).toBe(personOf(p1));
    expect(found.find((p) => p.event === d)?.person).toBe(personOf(p2));
    expect(report.events.rewritten).toBe(1);
    expect(report.events.missing).toBe(1);
    expect(report.persons.failed).toEqual([]);
    expect(report.leaves.badHashes).toBe(0);
  });

  it("a rewritten leaf hash fails as such, and its person's chain — that person's only", async () => {
    const [, , p3 = ''] = pids;
    const victim = personOf(p3);
    const [first] = await rows<{ idx: string | number; hash: Uint8Array; fields: Uint8Array }>(
      `SELECT idx, hash, fields FROM audit.log_leaf WHERE person = $1 AND pseq = 1`,
      [victim],
    );
    const idx = Number(first?.idx);
    await tamper(s, 'audit.log_leaf', `UPDATE audit.log_leaf SET hash = sha256(hash) WHERE idx = $1`, [idx]);
    const report = await verifyAccessLog(s.testDb.db, { personOf });
    const mine = report.problems.filter((p) => p.leaf === idx || p.kind === 'chain');
    expect(mine.map((p) => p.kind).sort()).toEqual(['chain', 'leaf-hash']);
    expect(report.leaves.badHashes).toBe(1);
    expect(report.persons.failed).toEqual([victim]);
    expect(report.persons.failedCount).toBe(1);
    expect(mine.find((p) => p.kind === 'chain')?.message).toContain("seq 2's prev is not the leaf hash of seq 1");
    expect(mine.find((p) => p.kind === 'leaf-hash')?.message).toContain(`leaf ${idx}'s hash was changed`);
    // Without the fingerprints, the person's next entry still tells the hash from the event.
    await tamper(s, 'audit.log_leaf', `UPDATE audit.log_leaf SET fields = NULL WHERE idx = $1`, [idx]);
    const blind = await verifyAccessLog(s.testDb.db, { personOf });
    expect(blind.problems.filter((p) => p.leaf === idx).map((p) => [p.kind, p.message])).toEqual([
      ['leaf-hash', expect.stringContaining('links to the hash of the entry event')],
    ]);
    expect(blind.persons.failed).toEqual([victim]);
    // As it was, for the tests after (the tree and the signed heads hold again).
    await tamper(s, 'audit.log_leaf', `UPDATE audit.log_leaf SET hash = $2, fields = $3 WHERE idx = $1`, [idx, first?.hash, first?.fields]);
    expect((await verifyAccessLog(s.testDb.db)).persons.failed).toEqual([]);
  });

  it('reports a stored head the log does not bear out (a forged root, a JWS that claims otherwise)', async () => {
    const size = clean.size - 1;
    const origin = s.app.treeHeads?.keyName ?? '';
    const { privateKey } = crypto.generateKeyPairSync('ed25519');
    const root = Buffer.alloc(32, 7);
    const checkpoint = await signCheckpoint({ origin, size, root }, [ed25519NoteSigner(origin, privateKey)]);
    const claims = Buffer.from(
      JSON.stringify({ origin, size: size + 1, root: root.toString('base64'), time: new Date().toISOString() }),
    ).toString('base64url');
    const jws = `${Buffer.from('{"alg":"EdDSA"}').toString('base64url')}.${claims}.AAAA`;
    await s.testDb.db.query(`INSERT INTO audit.log_head (size, root, checkpoint, jws, signed_at) VALUES ($1, $2, $3, $4, now())`, [
      size,
      root,
      checkpoint,
      jws,
    ]);
    const report = await verifyAccessLog(s.testDb.db);
    const forged = report.problems.filter((p) => p.kind === 'head');
    expect(forged.map((p) => p.size)).toEqual([size, size]);
    expect(forged.map((p) => p.message)).toEqual([
      expect.stringContaining('its root is not the root of the log at that size'),
      expect.stringContaining('its JWS claims another origin, size or root'),
    ]);
  });

  it('a Patient moved to another event shows only with the pseudonym key; a removed leaf shows as a gap', async () => {
    const [p1 = '', p2 = ''] = pids;
    const [moved] = await rows<{ seq: string | number }>(`SELECT seq FROM audit.event WHERE patient_id = $1 ORDER BY seq DESC LIMIT 1`, [
      p1,
    ]);
    const m = Number(moved?.seq);
    await tamper(s, 'audit.event', `UPDATE audit.event SET patient_id = $2 WHERE seq = $1`, [m, p2]);
    const blind = await verifyAccessLog(s.testDb.db);
    expect(blind.problems.some((p) => p.event === m)).toBe(false);
    const keyed = await verifyAccessLog(s.testDb.db, { personOf });
    expect(keyed.problems.find((p) => p.event === m)?.message).toContain('patient differs');

    const [last] = await rows<{ idx: string | number }>(`SELECT max(idx) AS idx FROM audit.log_leaf`);
    const gone = Number(last?.idx) - 1;
    await tamper(s, 'audit.log_leaf', `DELETE FROM audit.log_leaf WHERE idx = $1`, [gone]);
    const gap = await verifyAccessLog(s.testDb.db);
    expect(gap.problems.find((p) => p.kind === 'leaf-gap')?.leaf).toBe(gone);
    expect(gap.root).toBeNull();
    // Its event still has its place: not unlogged, until the place goes too.
    expect(gap.problems.some((p) => p.kind === 'event-unlogged')).toBe(false);
    await tamper(s, 'audit.log_order', `DELETE FROM audit.log_order WHERE idx = $1`, [gone]);
    const unplaced = await verifyAccessLog(s.testDb.db);
    expect(unplaced.problems.some((p) => p.kind === 'event-unlogged')).toBe(true);
  });
});
