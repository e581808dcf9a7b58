/**
 * A real PostgreSQL outage, on a cluster of the suite's own (initdb into a temporary directory;
 * the shared server is never touched): while the database is stopped every request that needs it
 * answers 503 with Retry-After — reads, searches, writes, bundles, $match, the token endpoint —
 * and /readyz is red; once it is back, no request answers 500 and /readyz is green, without a
 * restart. Underneath: a connection lost inside a transaction is a 503, not a crashed process;
 * connections left stale by a restart are dropped, and a statement that met one runs again on a
 * fresh connection when that is safe (a read, or a transaction whose BEGIN failed), never a write
 * that may have reached the server; every connection keeps a bounded number of prepared
 * statements.
 */
import { Writable } from 'node:stream';
import type { OperationOutcome, Patient } from '@medplum/fhirtypes';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOutcomeError, statusOf } from '../../src/core/outcome.ts';
import type { Db, QueryResult } from '../../src/store/db.ts';
import { PgDb } from '../../src/store/pg.ts';
import { MAX_PREPARED_PER_CONNECTION } from '../../src/store/prepared.ts';
import { newClientKeys, registerClient, tokenRequest } from '../helpers/clients.ts';
import type { TestClient } from '../helpers/clients.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { pgClusterUnavailable, startPgCluster } from '../helpers/pg-cluster.ts';
import type { PgCluster } from '../helpers/pg-cluster.ts';
import { insurerNumber, registerBody, registrationPatient } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';
import { startSeveringProxy } from '../helpers/severing-proxy.ts';

const SUITE = 'test/conformance/database-outage.test.ts';
const unavailable = await pgClusterUnavailable();
if (unavailable) console.warn(`\n*** SKIPPED ${SUITE}: no PostgreSQL cluster of its own can be started: ${unavailable} ***\n`);

interface Answer {
  kind: string;
  status: number;
  retryAfter: string | null;
  text: string;
}

/**
 * The suite's database handle, able to kill its own connection inside a transaction just before
 * a statement matching `pattern` runs (pg_terminate_backend): the driver then meets a real lost
 * connection at exactly that point.
 */
class KillingDb implements Db {
  readonly driver: Db['driver'];
  pattern: RegExp | undefined;
  killed = 0;
  private readonly inner: Db;
  constructor(inner: Db) {
    this.inner = inner;
    this.driver = inner.driver;
  }
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], name?: string): Promise<QueryResult<R>> {
    return this.inner.query<R>(sql, params, name);
  }
  tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    return this.inner.tx((t) => {
      const killing: Db = {
        driver: t.driver,
        query: async <R>(sql: string, params?: readonly unknown[], name?: string): Promise<QueryResult<R>> => {
          if (this.pattern?.test(sql)) {
            this.killed++;
            await t.query('SELECT pg_terminate_backend(pg_backend_pid())').catch(() => undefined);
          }
          return t.query<R>(sql, params, name);
        },
        tx: (f) => f(killing),
        exec: (sql) => t.exec(sql),
        noteWrites: (n) => t.noteWrites(n),
        close: () => t.close(),
      };
      return fn(killing);
    });
  }
  exec(sql: string): Promise<void> {
    return this.inner.exec(sql);
  }
  noteWrites(n: number): void {
    this.inner.noteWrites(n);
  }
  close(): Promise<void> {
    return Promise.resolve(); // the test database is closed by its owner
  }
}

const codeOf = (text: string): string | undefined => {
  try {
    return (JSON.parse(text) as OperationOutcome).issue?.[0]?.details?.coding?.[0]?.code;
  } catch {
    return undefined;
  }
};

describe.skipIf(unavailable !== undefined)('a PostgreSQL outage on a cluster of its own', () => {
  let c: PgCluster;
  let s: TestServer;
  let auditDb: PgDb | undefined;
  let killer: KillingDb;
  let client: TestClient;
  let patientId: string;
  const logged: string[] = [];

  beforeAll(async () => {
    c = await startPgCluster();
    // The suite's database is created in this cluster (openTestDb reads TEST_DATABASE_URL).
    const saved = process.env['TEST_DATABASE_URL'];
    process.env['TEST_DATABASE_URL'] = c.url();
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged.push(chunk.toString());
        done();
      },
    });
    try {
      s = await startTestServer('pg', {
        logger: pino({ level: 'warn' }, sink),
        db: (t) => {
          // As in production: a second, small pool for the audit writer.
          auditDb = new PgDb(t.url as string, 2);
          killer = new KillingDb(t.db);
          return killer;
        },
        deps: {
          get auditDb() {
            return auditDb;
          },
        },
      });
    } finally {
      if (saved === undefined) delete process.env['TEST_DATABASE_URL'];
      else process.env['TEST_DATABASE_URL'] = saved;
    }
    useToken(s.token);
    client = await newClientKeys('outage-client');
    await registerClient(s, client, 'system/Patient.rs');
    const created = await fhirFetch<Patient>(`${s.base}/Patient`, {
      method: 'POST',
      json: { resourceType: 'Patient', name: [{ family: 'Ueno', given: ['Taro'] }], birthDate: '1980-01-01', gender: 'male' },
    });
    expect(created.status, created.text).toBe(201);
    patientId = created.body.id ?? '';
  });

  afterAll(async () => {
    try {
      if (c?.running()) await s?.close();
      else await s?.close().catch(() => undefined);
      await auditDb?.close().catch(() => undefined);
    } finally {
      await c?.destroy();
    }
  });

  const at = (kind: string, r: { status: number; headers: Headers; text: string }): Answer => ({
    kind,
    status: r.status,
    retryAfter: r.headers.get('retry-after'),
    text: r.text,
  });

  /** One request of every kind that needs the database. */
  const kinds: Record<string, () => Promise<Answer>> = {
    read: async () => at('read', await fhirFetch(`${s.base}/Patient/${patientId}`)),
    search: async () => at('search', await fhirFetch(`${s.base}/Patient?family=Ueno&birthdate=1980-01-01`)),
    history: async () => at('history', await fhirFetch(`${s.base}/Patient/${patientId}/_history`)),
    auditEvents: async () => at('auditEvents', await fhirFetch(`${s.base}/AuditEvent?_count=2`)),
    create: async () =>
      at(
        'create',
        await fhirFetch(`${s.base}/Patient`, { method: 'POST', json: { resourceType: 'Patient', name: [{ family: 'Outage' }] } }),
      ),
    update: async () =>
      at(
        'update',
        await fhirFetch(`${s.base}/Patient/${patientId}`, {
          method: 'PUT',
          json: {
            resourceType: 'Patient',
            id: patientId,
            name: [{ family: 'Ueno', given: ['Taro'] }],
            birthDate: '1980-01-01',
            gender: 'male',
          },
        }),
      ),
    transaction: async () =>
      at(
        'transaction',
        await fhirFetch(s.base, {
          method: 'POST',
          json: {
            resourceType: 'Bundle',
            type: 'transaction',
            entry: [
              { resource: { resourceType: 'Patient', name: [{ family: 'Bundled' }] }, request: { method: 'POST', url: 'Patient' } },
              { request: { method: 'GET', url: `Patient/${patientId}` } },
            ],
          },
        }),
      ),
    match: async () =>
      at(
        'match',
        await fhirFetch(`${s.base}/Patient/$match`, {
          method: 'POST',
          json: {
            resourceType: 'Parameters',
            parameter: [
              {
                name: 'resource',
                resource: { resourceType: 'Patient', name: [{ family: 'Ueno', given: ['Taro'] }], birthDate: '1980-01-01', gender: 'male' },
              },
            ],
          },
        }),
      ),
    register: async () =>
      at(
        'register',
        await fhirFetch(`${s.base}/Patient/$register`, {
          method: 'POST',
          json: registerBody([{ record: 'r1', patient: registrationPatient({ insurer: insurerNumber('0613809'), number: '77' }) }]),
        }),
      ),
    token: async () => {
      const r = await tokenRequest(s, client, 'system/Patient.rs');
      return { kind: 'token', status: r.status, retryAfter: r.headers.get('retry-after'), text: JSON.stringify(r.body) };
    },
  };

  /** `rounds` rounds of every kind at once, and /readyz. */
  const burst = async (rounds: number): Promise<{ answers: Answer[]; ready: number[] }> => {
    const answers: Answer[] = [];
    const ready: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const [round, readyz] = await Promise.all([
        Promise.all(Object.values(kinds).map((f) => f())),
        fetch(`${s.root}/readyz`).then((r) => r.status),
      ]);
      answers.push(...round);
      ready.push(readyz);
    }
    return { answers, ready };
  };
  const unexpected = (answers: Answer[], ok: (a: Answer) => boolean): string[] =>
    answers.filter((a) => !ok(a)).map((a) => `${a.kind} ${a.status} ${a.text.slice(0, 200)}`);
  const unhandled = (): string[] => logged.filter((l) => l.includes('unhandled error'));

  it('serves every kind of request before the outage', async () => {
    const { answers, ready } = await burst(1);
    expect(unexpected(answers, (a) => a.status < 300)).toEqual([]);
    expect(ready).toEqual([200]);
  });

  it('answers 503 with Retry-After to every request while the database is stopped, and /readyz is red', async () => {
    await c.stop('fast');
    const { answers, ready } = await burst(4);
    expect(answers).toHaveLength(4 * Object.keys(kinds).length);
    expect(unexpected(answers, (a) => a.status === 503 && /^\d+$/.test(a.retryAfter ?? ''))).toEqual([]);
    expect(unexpected(answers, (a) => a.kind === 'token' || codeOf(a.text) === 'unavailable')).toEqual([]);
    // The token endpoint answers as OAuth clients read it (RFC 6749 JSON), not as a FHIR server.
    expect(unexpected(answers, (a) => a.kind !== 'token' || /"error":"temporarily_unavailable"/.test(a.text))).toEqual([]);
    expect(ready).toEqual([503, 503, 503, 503]);
    expect(unhandled()).toEqual([]);
  });

  it('serves again once the database is back: /readyz green, and not one 500 in the requests that follow', async () => {
    await c.start();
    const { answers, ready } = await burst(4);
    expect(unexpected(answers, (a) => a.status < 300)).toEqual([]);
    expect(ready).toEqual([200, 200, 200, 200]);
    expect(unhandled()).toEqual([]);
  });

  it('answers 503 or serves, never 500, when the database crashes under load, and recovers', async () => {
    const load = burst(3);
    await new Promise((r) => setTimeout(r, 30));
    await c.stop('immediate');
    const during = await load;
    expect(unexpected(during.answers, (a) => a.status < 300 || (a.status === 503 && a.retryAfter !== null))).toEqual([]);
    await c.start();
    const after = await burst(3);
    expect(unexpected(after.answers, (a) => a.status < 300)).toEqual([]);
    expect(after.ready).toEqual([200, 200, 200]);
    expect(unhandled()).toEqual([]);
  });

  it('answers 503, not 500, when the connection is lost inside a transaction bundle while its read is being audited', async () => {
    killer.pattern = /INSERT INTO audit\.event/;
    const res = at(
      'transaction',
      await fhirFetch(s.base, {
        method: 'POST',
        json: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'GET', url: `Patient/${patientId}` } }] },
      }),
    );
    killer.pattern = undefined;
    expect(killer.killed).toBeGreaterThan(0);
    expect([res.status, res.retryAfter, codeOf(res.text)], res.text).toEqual([503, '5', 'audit-failed']);
    expect(unhandled()).toEqual([]);
    const { answers } = await burst(1);
    expect(unexpected(answers, (a) => a.status < 300)).toEqual([]);
  });

  describe('the driver underneath', () => {
    const statusOfError = (e: unknown): number | string =>
      isOutcomeError(e) ? statusOf(e.outcome) : `raw ${(e as Error).constructor.name}: ${(e as Error).message}`;

    it('answers 503 when the server is down behind a Unix socket (ENOENT), or refuses TCP connections', async () => {
      for (const url of [`postgres://postgres@/postgres?host=${c.dir}/no-such-socket-dir`, 'postgres://postgres@127.0.0.1:1/postgres']) {
        const db = new PgDb(url, 1);
        try {
          expect(await db.query('SELECT 1').then(() => 'ok', statusOfError)).toBe(503);
          expect(await db.tx((t) => t.query('SELECT 1')).then(() => 'ok', statusOfError)).toBe(503);
        } finally {
          await db.close();
        }
      }
    });

    it('answers 503 for a connection lost inside a transaction, and the process lives on', async () => {
      const db = new PgDb(c.url(), 2);
      try {
        await Promise.all([db.query('SELECT 1'), db.query('SELECT 1')]);
        const work = db.tx(async (t) => {
          await t.query('SELECT 1');
          await c.stop('fast');
          await new Promise((r) => setTimeout(r, 200));
          await t.query('SELECT 1');
        });
        expect(await work.then(() => 'committed', statusOfError)).toBe(503);
        expect(await db.query('SELECT 1').then(() => 'ok', statusOfError)).toBe(503);
        await c.start();
        expect((await db.query<{ n: number }>('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
      } finally {
        if (!c.running()) await c.start();
        await db.close();
      }
    });

    it('drops connections left stale by a restart: reads and transactions run on fresh ones, a lone write that may have gone answers 503', async () => {
      const proxy = await startSeveringProxy('127.0.0.1', c.port);
      const db = new PgDb(`postgres://postgres@127.0.0.1:${proxy.port}/postgres`, 4);
      try {
        await db.exec('CREATE TABLE IF NOT EXISTS stale_probe (n int)');
        // Four idle connections in the pool, then the server forgets them without a word.
        await Promise.all([1, 2, 3, 4].map(() => db.query('SELECT pg_sleep(0.05)')));
        proxy.sever();
        const reads = await Promise.all(
          Array.from({ length: 8 }, (_v, i) =>
            db.query<{ n: number }>('SELECT $1::int AS n', [i]).then((r) => r.rows[0]?.n, statusOfError),
          ),
        );
        expect(reads).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
        expect(proxy.resets).toBeGreaterThan(0);
        // A transaction whose BEGIN met a stale connection starts over on a fresh one.
        await Promise.all([1, 2, 3, 4].map(() => db.query('SELECT pg_sleep(0.05)')));
        proxy.sever();
        const writes = await Promise.all(
          [1, 2, 3].map((n) => db.tx((t) => t.query('INSERT INTO stale_probe VALUES ($1)', [n])).then(() => 'ok', statusOfError)),
        );
        expect(writes).toEqual(['ok', 'ok', 'ok']);
        // A single INSERT on a stale connection may or may not have reached the server: 503, not run twice.
        await Promise.all([1, 2].map(() => db.query('SELECT pg_sleep(0.05)')));
        proxy.sever();
        const lone = await db.query('INSERT INTO stale_probe VALUES (99)').then(() => 'ok', statusOfError);
        expect(lone).toBe(503);
        expect(await db.query('INSERT INTO stale_probe VALUES (100)').then(() => 'ok', statusOfError)).toBe('ok');
        const rows = await db.query<{ n: number }>('SELECT n FROM stale_probe ORDER BY n');
        expect(rows.rows.map((r) => r.n)).toEqual([1, 2, 3, 100]);
      } finally {
        await db.close();
        await proxy.close();
      }
    });

    it('keeps at most a bounded number of prepared statements per connection, deallocating the least recently used', async () => {
      const db = new PgDb(c.url(), 1);
      try {
        const n = MAX_PREPARED_PER_CONNECTION + 80;
        for (let i = 0; i < n; i++) {
          const r = await db.query<{ n: number }>(`SELECT ${i}::int AS n`, [], `probe_${i}`);
          expect(r.rows[0]?.n).toBe(i);
        }
        const counted = await db.preparedStatements();
        expect(counted.server).toBeLessThanOrEqual(MAX_PREPARED_PER_CONNECTION);
        expect(counted.server).toBe(counted.tracked);
        // A deallocated statement is prepared again when it comes back; a kept one still answers.
        expect((await db.query<{ n: number }>('SELECT 0::int AS n', [], 'probe_0')).rows[0]?.n).toBe(0);
        expect((await db.query<{ n: number }>(`SELECT ${n - 1}::int AS n`, [], `probe_${n - 1}`)).rows[0]?.n).toBe(n - 1);
        // Inside a transaction too.
        await db.tx(async (t) => {
          for (let i = n; i < n + 40; i++)
            expect((await t.query<{ n: number }>(`SELECT ${i}::int AS n`, [], `probe_${i}`)).rows[0]?.n).toBe(i);
        });
        expect((await db.preparedStatements()).server).toBeLessThanOrEqual(MAX_PREPARED_PER_CONNECTION);
      } finally {
        await db.close();
      }
    });
  });
});
