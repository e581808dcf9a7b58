/**
 * When the database says no, the client gets an answer it can act on, and nothing is half
 * written: a unique key taken by a concurrent write is 409 `duplicate`; a serialization
 * failure or deadlock is tried again and, if it keeps failing, 503 with Retry-After; a database
 * that is down or unreachable is 503 with Retry-After on every request, and the server serves
 * again as soon as it is back. Never a 500 for any of these.
 */
import type { Bundle, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ATTEMPTS } from '../../src/store/db-errors.ts';
import { PgDb } from '../../src/store/pg.ts';
import { testDrivers } from '../helpers/db.ts';
import { FaultyDb } from '../helpers/faulty-db.ts';
import { insurerNumber, registerBody, registrationPatient } from '../helpers/registry.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';
import type { TcpProxy } from '../helpers/tcp-proxy.ts';

const INSERT_RESOURCE = /INSERT INTO fhir\.resource \(/;
const patient = (id: string, family: string): Patient => ({ resourceType: 'Patient', id, name: [{ family }] });
const codeOf = (o: OperationOutcome): string | undefined => o.issue?.[0]?.details?.coding?.[0]?.code;

describe.each(testDrivers())('database errors on %s', (driver) => {
  let s: TestServer;
  let faulty: FaultyDb;
  beforeAll(async () => {
    s = await startTestServer(driver, {
      db: (t) => {
        faulty = new FaultyDb(t.db);
        return faulty;
      },
    });
    useToken(s.token);
  });
  afterAll(async () => {
    await s.close();
  });

  const put = (id: string, family = 'Sato') =>
    fhirFetch<OperationOutcome>(`${s.base}/Patient/${id}`, { method: 'PUT', json: patient(id, family) });
  const versions = async (id: string) =>
    (
      await s.testDb.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM fhir.resource_version WHERE resource_type = 'Patient' AND id = $1`,
        [id],
      )
    ).rows[0]?.n;
  const audits = async (id: string) =>
    (await s.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit.event WHERE patient_id = $1 AND action = 'C'`, [id]))
      .rows[0]?.n;

  it('answers 409 duplicate when a concurrent write took the key first, and writes nothing', async () => {
    // The database itself raises the unique violation: the create's INSERT runs twice.
    faulty.arm(INSERT_RESOURCE, { kind: 'run-twice' }, 1);
    const res = await put('dup-1');
    faulty.disarm();
    expect(res.status, res.text).toBe(409);
    expect(codeOf(res.body)).toBe('duplicate');
    expect(res.text).not.toMatch(/dup-1|resource_pkey|violates/);
    expect(await versions('dup-1')).toBe(0);
    expect((await fhirFetch(`${s.base}/Patient/dup-1`)).status).toBe(404);
  });

  it('runs a transaction that lost to a deadlock again, and it commits once', async () => {
    faulty.arm(INSERT_RESOURCE, { kind: 'error', code: '40P01', message: 'deadlock detected' }, 1);
    const res = await put('retried-1');
    faulty.disarm();
    expect(res.status, res.text).toBe(201);
    expect(faulty.seen).toBe(1);
    // The failed attempt left nothing: one version, one create audited.
    expect([await versions('retried-1'), await audits('retried-1')]).toEqual([1, 1]);
  });

  it('answers 503 with Retry-After when serialization keeps failing, after a bounded number of tries, writing nothing', async () => {
    faulty.arm(INSERT_RESOURCE, { kind: 'error', code: '40001', message: 'could not serialize access due to concurrent update' });
    const res = await put('never-1');
    const seen = faulty.seen;
    faulty.disarm();
    expect(res.status, res.text).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(codeOf(res.body)).toBe('unavailable');
    expect(seen).toBe(MAX_ATTEMPTS);
    expect(await versions('never-1')).toBe(0);
  });

  it('answers every entry of a transaction bundle together: a 409 inside rolls all of it back', async () => {
    faulty.arm(/INSERT INTO fhir\.resource \(.*\n?.*/, { kind: 'run-twice' }, 1);
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: ['tx-a', 'tx-b'].map((id) => ({ resource: patient(id, 'Kato'), request: { method: 'PUT', url: `Patient/${id}` } })),
    };
    const res = await fhirFetch<OperationOutcome>(s.base, { method: 'POST', json: bundle });
    faulty.disarm();
    expect(res.status, res.text).toBe(409);
    expect([await versions('tx-a'), await versions('tx-b')]).toEqual([0, 0]);
  });
});

describe.each(testDrivers().filter((d) => d === 'pg'))('a PostgreSQL outage on %s', (driver) => {
  let s: TestServer;
  let proxy: TcpProxy;
  beforeAll(async () => {
    s = await startTestServer(driver, {
      db: async (t) => {
        const u = new URL(t.url as string);
        proxy = await startTcpProxy(u.hostname, Number(u.port || 5432));
        u.hostname = '127.0.0.1';
        u.port = String(proxy.port);
        return new PgDb(u.toString(), 4);
      },
    });
    useToken(s.token);
  });
  afterAll(async () => {
    await s.close();
    await proxy.close();
  });

  it('answers 503 with Retry-After to reads, searches and writes while the database is away, and serves again when it is back', async () => {
    const created = await fhirFetch<Patient>(`${s.base}/Patient`, {
      method: 'POST',
      json: { resourceType: 'Patient', name: [{ family: 'Ueno' }] },
    });
    expect(created.status).toBe(201);
    proxy.cut();
    const during = await Promise.all([
      fhirFetch(`${s.base}/Patient/${created.body.id ?? ''}`),
      fhirFetch(`${s.base}/Patient?family=Ueno`),
      fhirFetch(`${s.base}/Patient`, { method: 'POST', json: { resourceType: 'Patient', name: [{ family: 'Outage' }] } }),
      fhirFetch(`${s.base}/Patient/$register`, {
        method: 'POST',
        json: registerBody([{ record: 'r1', patient: registrationPatient({ insurer: insurerNumber('0613809'), number: '77' }) }]),
      }),
      fhirFetch(`${s.root}/readyz`),
    ]);
    // $register too: an outage is the call's 503, not one error per record.
    expect(during.map((r) => r.status)).toEqual([503, 503, 503, 503, 503]);
    for (const r of during.slice(0, 4)) {
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(codeOf(r.body as OperationOutcome)).toBe('unavailable');
    }
    proxy.restore();
    const after = await fhirFetch<Patient>(`${s.base}/Patient/${created.body.id ?? ''}`);
    expect(after.status).toBe(200);
    // The write refused during the outage never happened.
    expect((await fhirFetch<Bundle>(`${s.base}/Patient?family=Outage&_total=accurate`)).body.total).toBe(0);
  });

  it('commits both of two transactions that deadlock: PostgreSQL aborts one, medid runs it again', async () => {
    for (const id of ['lock-x', 'lock-y']) expect((await put(id)).status).toBeLessThan(300);
    const deadlocks = async () => {
      const r = await s.testDb.db.query<{ n: number }>(
        `SELECT pg_stat_clear_snapshot(), deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()`,
      );
      return r.rows[0]?.n ?? 0;
    };
    const before = await deadlocks();
    // Each bundle locks one Patient, writes 40 others (time for the other to lock its first),
    // then wants the Patient the other holds.
    const bundle = (first: string, last: string, pad: string): Bundle => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [first, ...Array.from({ length: 40 }, (_v, i) => `${pad}-${i}`), last].map((id) => ({
        resource: patient(id, pad),
        request: { method: 'PUT', url: `Patient/${id}` },
      })),
    });
    const [a, b] = await Promise.all([
      fhirFetch(s.base, { method: 'POST', json: bundle('lock-x', 'lock-y', 'pad-a') }),
      fhirFetch(s.base, { method: 'POST', json: bundle('lock-y', 'lock-x', 'pad-b') }),
    ]);
    expect([a.status, b.status], `${a.text.slice(0, 300)} ${b.text.slice(0, 300)}`).toEqual([200, 200]);
    // PostgreSQL did detect the deadlock (its statistics reach other sessions within a second or so).
    let seen = before;
    for (let i = 0; i < 30 && seen === before; i++) {
      await new Promise((r) => setTimeout(r, 500));
      seen = await deadlocks();
    }
    expect(seen).toBeGreaterThan(before);
    expect([await versions('pad-a-39'), await versions('pad-b-39')]).toEqual([1, 1]);
  });

  const put = (id: string) => fhirFetch(`${s.base}/Patient/${id}`, { method: 'PUT', json: patient(id, 'Lock') });
  const versions = async (id: string) =>
    (
      await s.testDb.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM fhir.resource_version WHERE resource_type = 'Patient' AND id = $1`,
        [id],
      )
    ).rows[0]?.n;
});

describe.each(testDrivers().filter((d) => d === 'pglite'))('an embedded database that is gone on %s', (driver) => {
  it('answers 503 with Retry-After, not 500', async () => {
    const t = await startTestServer(driver);
    useToken(t.token);
    const created = await fhirFetch<Patient>(`${t.base}/Patient`, {
      method: 'POST',
      json: { resourceType: 'Patient', name: [{ family: 'Gone' }] },
    });
    await t.testDb.db.close();
    const res = await Promise.all([
      fhirFetch(`${t.base}/Patient/${created.body.id ?? ''}`),
      fhirFetch(`${t.base}/Patient`, { method: 'POST', json: { resourceType: 'Patient' } }),
    ]);
    expect(res.map((r) => r.status)).toEqual([503, 503]);
    expect(res.map((r) => r.headers.get('retry-after'))).toEqual(['5', '5']);
    await t.close();
  });
});
