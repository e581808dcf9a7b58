/**
 * The access log's appender (audit/access-log.ts) on both databases: each event gets a leaf in
 * the statement that records it, the stored tree equals the tree of the stored leaves (only
 * levels ≥ 8 stored, the rest folded from the leaves when read), each person's chain is gap-free
 * with each `prev` the previous leaf's hash (every entry rebuilt from its event), events written inside
 * a transaction get theirs when drained, and two appenders on one database (two nodes) never
 * fork the tree or a chain.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessLog } from '../../src/audit/access-log.ts';
import { AuditLog } from '../../src/audit/audit-log.ts';
import { auditRow } from '../../src/audit/balp.ts';
import { verifyAccessLog } from '../../src/audit/log-audit.ts';
import { MemoryTree, rootAt } from '../../src/audit/merkle.ts';
import { storedTree } from '../../src/audit/stored-tree.ts';
import { insertAuditEvents } from '../../src/store/audit.ts';
import { openTestDb } from '../helpers/db.ts';
import type { Driver, TestDb } from '../helpers/db.ts';
import type { Db } from '../../src/store/db.ts';
import { testDrivers } from '../helpers/db.ts';

const person = (pid: string): string => `a.${crypto.createHash('sha256').update(pid).digest('hex').slice(0, 26)}`;
const row = (patientId: string | undefined, i: number) =>
  auditRow({
    action: 'R',
    subtype: 'read',
    outcome: 0,
    principal: {
      clientId: 'c1',
      clientName: 'client one',
      scopes: [],
      org: { kind: 'medical-institution', code: '1311111111' },
      purposeOfUse: 'TREAT',
      tokenId: `t${i}`,
    } as never,
    purposeOfUse: 'TREAT',
    requestId: `r${i}`,
    remoteAddress: undefined,
    patientId,
    entity: patientId ? `Patient/${patientId}` : undefined,
    recorded: new Date(Date.UTC(2026, 11, 1, 0, 0, i)),
  });

/** The database, except that leaves cannot be written: an appender on it places events and never hashes them. */
const leavesRefused = (db: Db): Db => ({
  driver: db.driver,
  query: <R>(sql: string, params?: readonly unknown[], name?: string) =>
    name === 'audit_log_leaves' ? Promise.reject(new Error('leaves refused by the test')) : db.query<R>(sql, params, name),
  tx: (fn) => db.tx(fn),
  exec: (sql) => db.exec(sql),
  noteWrites: (n) => db.noteWrites(n),
  close: () => Promise.resolve(),
});

describe.each(testDrivers())('the access log on %s', (driver: Driver) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb(driver);
  });
  afterAll(async () => {
    await t.close();
  });

  const leaves = async () =>
    (
      await t.db.query<{ idx: string; event: string; hash: Buffer; person: string | null; pseq: number | null }>(
        'SELECT l.idx, o.event, l.hash, l.person, l.pseq FROM audit.log_leaf l JOIN audit.log_order o ON o.idx = l.idx ORDER BY l.idx',
      )
    ).rows;

  it('logs every event with its leaf, keeps each person’s chain and the stored tree right — across two appenders and the queue', async () => {
    const a = new AccessLog({ db: t.db, personOf: person });
    const b = new AccessLog({ db: t.db, personOf: person });
    const logA = new AuditLog(t.db, { enabled: true, accessLog: a });
    const logB = new AuditLog(t.db, { enabled: true, accessLog: b });
    let i = 0;
    // Interleaved batches from two "nodes": B's view of the tree goes stale after each of A's.
    for (let round = 0; round < 6; round++) {
      await logA.record([row('p1', i++), row('p2', i++), row(undefined, i++)]);
      await logB.record([row('p1', i++), row('p3', i++)]);
    }
    // Events written inside a transaction wait in the queue until drained.
    await t.db.tx((tx) => insertAuditEvents(tx, a.stamped([row('p2', i++), row('p1', i++)]), [], 'pending'));
    expect((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit.log_pending')).rows[0]?.n).toBe(2);
    expect(await b.drain()).toBe(2);
    await logA.record([row('p2', i++)]);
    // Enough leaves for the stored levels (≥ 8: 256 leaves), then B again, whose tree is stale.
    await logA.record(Array.from({ length: 600 }, (_v, k) => row(k % 3 === 0 ? undefined : `q${k % 50}`, i++)));
    await logB.record([row('p1', i++), row('q7', i++)]);

    // Once record() resolved, every event has its place (what a response waits for); the leaves follow.
    const events = (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit.event')).rows[0]?.n;
    const placed = await t.db.query<{ n: number; end: number }>('SELECT count(*)::int AS n, max(idx)::int + 1 AS end FROM audit.log_order');
    expect(placed.rows[0]).toEqual({ n: events, end: events });
    await a.caughtUp();
    await b.caughtUp();
    const all = await leaves();
    expect(all.length).toBe(events);
    expect(all.map((l) => Number(l.idx))).toEqual(all.map((_l, n) => n));
    expect(new Set(all.map((l) => l.event)).size).toBe(all.length);
    // Every stored node equals the node of the tree of the stored leaves; only levels ≥ 8 are stored.
    const tree = new MemoryTree();
    for (const l of all) tree.append(Buffer.from(l.hash));
    const nodes = await t.db.query<{ level: number; idx: string; hash: Buffer }>('SELECT level, idx, hash FROM audit.log_node');
    let expected = 0;
    for (let w = 256; w <= all.length; w *= 2) expected += Math.floor(all.length / w);
    expect(expected).toBeGreaterThanOrEqual(3);
    expect(nodes.rows.length).toBe(expected);
    for (const n of nodes.rows) {
      const [h] = tree.read([{ level: n.level, index: Number(n.idx) }]);
      expect(Buffer.from(n.hash).equals(Buffer.from(h)), `node ${n.level}/${n.idx}`).toBe(true);
    }
    // The tree as read back from storage (low levels folded from the leaves) is the tree of the leaves.
    for (const size of [1, 255, 256, 257, 511, 512, all.length])
      expect(Buffer.from(await rootAt(size, storedTree(t.db))).equals(Buffer.from(tree.root(size))), `root at ${size}`).toBe(true);
    // Each person's chain: seq 1, 2, 3… in log order.
    for (const p of ['p1', 'p2', 'p3', 'q7']) {
      const chain = all.filter((l) => l.person === person(p));
      expect(chain.map((l) => l.pseq)).toEqual(chain.map((_l, n) => n + 1));
    }
    // Each entry, rebuilt from its event with its person, seq and the previous leaf hash of its
    // person's chain as prev, is the hash of its leaf: what `medid log verify` checks.
    const report = await verifyAccessLog(t.db, { personOf: person });
    expect(report.problems).toEqual([]);
    expect(report.events.checked).toBe(all.length);
    expect(report.nodes).toEqual({ checked: expected, expected });
    // An event about no one has no chain.
    expect(all.filter((l) => l.person === null).length).toBe(6 + 200);
  });

  it('a response waits for its place only: places an appender could not hash are hashed by any other, and the verifier counts them meanwhile', async () => {
    const blocked = new AccessLog({ db: leavesRefused(t.db), personOf: person });
    const log = new AuditLog(t.db, { enabled: true, accessLog: blocked });
    let i = 10_000;
    await log.record([row('p1', i++), row('p9', i++), row(undefined, i++)]);
    await t.db.tx((tx) => insertAuditEvents(tx, blocked.stamped([row('p9', i++)]), [], 'pending'));
    expect(await blocked.drain()).toBe(1);
    await expect(blocked.caughtUp()).rejects.toThrow('leaves refused by the test');
    const waiting = await verifyAccessLog(t.db, { personOf: person });
    expect(waiting.problems).toEqual([]);
    expect(waiting.events.unhashed).toBe(4);

    // Another process (a node, the next start) reads the placed events back and hashes them, in order.
    const other = new AccessLog({ db: t.db, personOf: person });
    await other.caughtUp();
    const done = await verifyAccessLog(t.db, { personOf: person });
    expect(done.problems).toEqual([]);
    expect(done.events.unhashed).toBe(0);
    expect(done.size).toBe(waiting.size + 4);
    const p9 = (await leaves()).filter((l) => l.person === person('p9'));
    expect(p9.map((l) => l.pseq)).toEqual([1, 2]);

    // A placed event removed behind the triggers' back stops the hashing there, and the verifier names it.
    await log.record([row('p1', i++)]);
    const [gone] = (await t.db.query<{ event: string }>('SELECT event FROM audit.log_order ORDER BY idx DESC LIMIT 1')).rows;
    await t.db.query('ALTER TABLE audit.event DISABLE TRIGGER ALL');
    await t.db.query('DELETE FROM audit.event WHERE seq = $1', [gone?.event]);
    await t.db.query('ALTER TABLE audit.event ENABLE TRIGGER ALL');
    await expect(other.caughtUp()).rejects.toThrow(`the event placed at leaf ${done.size} is gone`);
    const broken = await verifyAccessLog(t.db, { personOf: person });
    expect(broken.problems).toEqual([
      expect.objectContaining({ kind: 'place', leaf: done.size, event: Number(gone?.event), message: expect.stringContaining('is gone') }),
    ]);
  });
});
