/**
 * The access log's appender (audit/access-log.ts) on both databases: each event gets a leaf in
 * the statement that records it, the stored tree equals the tree of the stored leaves, each
 * person's chain is gap-free with each `prev` the previous leaf's hash, events written inside
 * a transaction get theirs when drained, and two appenders on one database (two nodes) never
 * fork the tree or a chain.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessLog } from '../../src/audit/access-log.ts';
import { AuditLog } from '../../src/audit/audit-log.ts';
import { auditRow } from '../../src/audit/balp.ts';
import { entryLeafHash, FIRST_PREV } from '../../src/audit/log-entry.ts';
import type { LogEntry } from '../../src/audit/log-entry.ts';
import { MemoryTree } from '../../src/audit/merkle.ts';
import { insertAuditEvents } from '../../src/store/audit.ts';
import { openTestDb } from '../helpers/db.ts';
import type { Driver, TestDb } from '../helpers/db.ts';
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
      await t.db.query<{ idx: string; event: string; hash: Buffer; entry: string; person: string | null; pseq: number | null }>(
        'SELECT idx, event, hash, entry, person, pseq FROM audit.log_leaf ORDER BY idx',
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
    await t.db.tx((tx) => insertAuditEvents(tx, [row('p2', i++), row('p1', i++)], [], 'pending'));
    expect((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit.log_pending')).rows[0]?.n).toBe(2);
    expect(await b.drain()).toBe(2);
    await logA.record([row('p2', i++)]);

    const all = await leaves();
    const events = (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit.event')).rows[0]?.n;
    expect(all.length).toBe(events);
    expect(all.map((l) => Number(l.idx))).toEqual(all.map((_l, n) => n));
    expect(new Set(all.map((l) => l.event)).size).toBe(all.length);
    // Every stored hash is the hash of its stored entry.
    for (const l of all) expect(entryLeafHash(JSON.parse(l.entry) as LogEntry).equals(Buffer.from(l.hash))).toBe(true);
    // Every stored node equals the node of the tree of the stored leaves.
    const tree = new MemoryTree();
    for (const l of all) tree.append(Buffer.from(l.hash));
    const nodes = await t.db.query<{ level: number; idx: string; hash: Buffer }>('SELECT level, idx, hash FROM audit.log_node');
    expect(nodes.rows.length).toBe(all.length - (all.length.toString(2).match(/1/g) ?? []).length);
    for (const n of nodes.rows) {
      const [h] = tree.read([{ level: n.level, index: Number(n.idx) }]);
      expect(Buffer.from(n.hash).equals(Buffer.from(h)), `node ${n.level}/${n.idx}`).toBe(true);
    }
    // Each person's chain: seq 1, 2, 3… and each prev the previous leaf's hash.
    for (const p of ['p1', 'p2', 'p3']) {
      const chain = all.filter((l) => l.person === person(p)).sort((x, y) => (x.pseq ?? 0) - (y.pseq ?? 0));
      expect(chain.map((l) => l.pseq)).toEqual(chain.map((_l, n) => n + 1));
      chain.forEach((l, n) => {
        const e = JSON.parse(l.entry) as LogEntry;
        expect(e.person).toBe(person(p));
        expect(e.prev).toBe(n === 0 ? FIRST_PREV : Buffer.from(chain[n - 1]?.hash).toString('hex'));
      });
    }
    // An event about no one has no chain; the person is named by the pseudonym, not a field of its own.
    expect(all.filter((l) => l.person === null).length).toBe(6);
    for (const l of all) expect(Object.keys(JSON.parse(l.entry) as object)).not.toContain('patientId');
  });
});
