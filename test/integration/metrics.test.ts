/**
 * Prometheus `/metrics` (issue 19 item 4) over real HTTP: the names after some requests, labels
 * that carry route patterns and never an id, a name or a query value, the database pool's use
 * and wait on both drivers, the audit writer's batches, and who may read the endpoint
 * (MEDID_METRICS off, loopback — a real request from a non-loopback address — and bearer).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDrivers } from '../helpers/db.ts';
import type { Driver } from '../helpers/db.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';
import { parseExposition, sample } from '../helpers/prometheus.ts';

const FHIR_JSON = 'application/fhir+json';

async function scrape(root: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; res: Response }> {
  const res = await fetch(`${root}/metrics`, { headers });
  return { status: res.status, text: await res.text(), res };
}

describe.each(testDrivers())('metrics on %s', (driver: Driver) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(driver);
  });
  afterAll(async () => {
    await s.close();
  });
  const auth = (): Record<string, string> => ({ authorization: `Bearer ${s.token}`, accept: FHIR_JSON });

  it('exposes requests by route pattern and status, the pool, audit batches and the process — and no id, name or query value', async () => {
    const family = 'Metricsfamilyzq';
    const created = await fetch(`${s.base}/Patient`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': FHIR_JSON },
      body: JSON.stringify({
        resourceType: 'Patient',
        name: [{ family, given: ['Taro'] }],
        birthDate: '1980-04-01',
        identifier: [{ system: 'urn:example:mrn', value: 'mrn-771943' }],
      }),
    });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as { id: string }).id;
    for (let i = 0; i < 3; i++) expect((await fetch(`${s.base}/Patient/${id}`, { headers: auth() })).status).toBe(200);
    expect((await fetch(`${s.base}/Patient?family=${family}&identifier=urn:example:mrn|mrn-771943`, { headers: auth() })).status).toBe(200);
    expect((await fetch(`${s.base}/Patient/no-such-id-58213`, { headers: auth() })).status).toBe(404);
    expect((await fetch(`${s.base}/NotAType/weird-segment-66120`, { headers: auth() })).status).toBe(404);
    expect((await fetch(`${s.base}/Patient/${id}`)).status).toBe(401);
    expect((await fetch(`${s.base}/Patient/${id}`, { headers: { authorization: 'Bearer not-a-token-31337' } })).status).toBe(401);
    expect((await fetch(`${s.root}/elsewhere-path-90317?q=secret-query-44`)).status).toBe(404);
    expect((await fetch(`${s.base}/metadata`)).status).toBe(200);
    expect((await fetch(`${s.root}/healthz`)).status).toBe(200);
    const token = await fetch(`${s.root}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_assertion=xyz-assertion-5521',
    });
    expect(token.status).toBe(401); // invalid_client

    const { status, text, res } = await scrape(s.root);
    expect(status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const m = parseExposition(text);
    const count = (labels: Record<string, string>): number | undefined => sample(m, 'medid_http_request_duration_seconds_count', labels);
    expect(count({ method: 'GET', route: '/fhir/Patient/:id', status: '200' })).toBe(3);
    expect(count({ method: 'POST', route: '/fhir/Patient', status: '201' })).toBe(1);
    expect(count({ method: 'GET', route: '/fhir/Patient', status: '200' })).toBe(1);
    expect(count({ method: 'GET', route: '/fhir/Patient/:id', status: '404' })).toBe(1);
    expect(count({ method: 'GET', route: '/fhir/Patient/:id', status: '401' })).toBe(1); // anonymous: refused by the route
    expect(count({ method: 'GET', route: '/fhir/metadata', status: '200' })).toBe(1);
    // Unknown FHIR paths and refusals before routing (a bad token): the base alone; outside every route: "unmatched".
    expect(count({ method: 'GET', route: '/fhir/*', status: '404' })).toBe(1);
    expect(count({ method: 'GET', route: '/fhir/*', status: '401' })).toBe(1);
    expect(count({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(count({ method: 'GET', route: '/healthz', status: '200' })).toBe(1);
    expect(count({ method: 'POST', route: '/oauth/token', status: '401' })).toBe(1);
    expect(sample(m, 'medid_http_requests_in_flight', {})).toBe(1); // this scrape
    expect(sample(m, 'medid_info', { version: '0.1.0', driver })).toBe(1);

    // The pool, read when scraped.
    expect(sample(m, 'medid_db_pool_size', { pool: 'main' })).toBe(driver === 'pg' ? 8 : 1);
    expect(sample(m, 'medid_db_pool_connections', { pool: 'main' })).toBeGreaterThanOrEqual(1);
    expect(sample(m, 'medid_db_pool_waiting', { pool: 'main' })).toBe(0);
    expect(sample(m, 'medid_db_pool_wait_seconds_count', { pool: 'main' })).toBeGreaterThan(0);
    // Group commit: every read was audited in some batch (a batch holds one or more events).
    const batches = sample(m, 'medid_audit_batch_rows_count', {}) ?? 0;
    const events = sample(m, 'medid_audit_batch_rows_sum', {}) ?? 0;
    expect(batches).toBeGreaterThan(0);
    expect(events).toBeGreaterThanOrEqual(4); // three reads and a search, at least
    expect(events).toBeGreaterThanOrEqual(batches);
    expect(sample(m, 'medid_audit_queue_events', {})).toBe(0);
    expect(sample(m, 'medid_audit_batch_duration_seconds_count', {})).toBe(batches);
    for (const status of ['created', 'updated', 'unchanged', 'review', 'error'])
      expect(sample(m, 'medid_registrations_total', { status })).toBe(0);
    // The process (prom-client's default collectors).
    expect(sample(m, 'process_cpu_user_seconds_total', {})).toBeGreaterThan(0);
    expect(m.some((x) => x.name === 'nodejs_eventloop_lag_seconds')).toBe(true);

    // No label carries an id, a name, an identifier, a query value or a path.
    for (const secret of [
      id,
      family,
      'mrn-771943',
      'no-such-id-58213',
      'weird-segment-66120',
      'elsewhere-path-90317',
      'secret-query-44',
      'NotAType',
      'not-a-token-31337',
      'xyz-assertion-5521',
    ])
      expect(text).not.toContain(secret);
  });

  it('reports connections in use, requests waiting for one, and how long they waited', async () => {
    const db = s.testDb.db;
    const size = db.poolUse?.().size ?? 0;
    expect(size).toBeGreaterThan(0);
    const before = parseExposition((await scrape(s.root)).text);
    const waitsBefore = sample(before, 'medid_db_pool_wait_seconds_count', { pool: 'main' }) ?? 0;
    const slowBefore = waitsBefore - (sample(before, 'medid_db_pool_wait_seconds_bucket', { pool: 'main', le: '0.1' }) ?? 0);
    // Every connection held by a transaction for 400 ms, and two more transactions queued behind them.
    const hold = (): Promise<void> =>
      db.tx(async (tx) => {
        await tx.query('SELECT 1');
        await new Promise((r) => setTimeout(r, 400));
      });
    const work = [...Array.from({ length: size }, hold), db.tx((tx) => tx.query('SELECT 1')), db.tx((tx) => tx.query('SELECT 1'))];
    await new Promise((r) => setTimeout(r, 150));
    const during = parseExposition((await scrape(s.root)).text);
    await Promise.all(work);
    // Two of ours at least (the server's own background work may queue too).
    expect(sample(during, 'medid_db_pool_waiting', { pool: 'main' })).toBeGreaterThanOrEqual(2);
    expect(sample(during, 'medid_db_pool_idle', { pool: 'main' })).toBe(0);
    expect(sample(during, 'medid_db_pool_connections', { pool: 'main' })).toBe(size);
    const after = parseExposition((await scrape(s.root)).text);
    const waits = sample(after, 'medid_db_pool_wait_seconds_count', { pool: 'main' }) ?? 0;
    const slow = waits - (sample(after, 'medid_db_pool_wait_seconds_bucket', { pool: 'main', le: '0.1' }) ?? 0);
    expect(waits - waitsBefore).toBeGreaterThanOrEqual(size + 2);
    // The two queued transactions waited about 250 ms or more for a connection.
    expect(slow - slowBefore).toBeGreaterThanOrEqual(2);
    expect(sample(after, 'medid_db_pool_waiting', { pool: 'main' })).toBe(0);
  });
});

/** The machine's first non-loopback IPv4 address, if it has one. */
function outsideAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

describe('who may read /metrics', () => {
  const servers: TestServer[] = [];
  const extra: http.Server[] = [];
  afterAll(async () => {
    for (const x of extra) {
      x.closeAllConnections();
      await new Promise<void>((r) => x.close(() => r()));
    }
    for (const x of servers) await x.close();
  });
  const start = async (metrics: NonNullable<Parameters<typeof startTestServer>[1]>['config']): Promise<TestServer> => {
    const t = await startTestServer('pglite', { config: metrics });
    servers.push(t);
    return t;
  };

  it('MEDID_METRICS=off: /metrics answers 404 like an unknown path, and nothing is measured', async () => {
    const t = await start({ metrics: { mode: 'off' } });
    const r = await scrape(t.root);
    const unknown = await fetch(`${t.root}/no-such-endpoint`);
    expect(r.status).toBe(404);
    expect(r.text).not.toContain('medid_');
    expect(r.text).toBe((await unknown.text()).replace('/no-such-endpoint', '/metrics'));
    expect(t.app.metrics).toBeUndefined();
  });

  it('loopback (the default): answers on 127.0.0.1, refuses a non-loopback connection and a proxied request with 404', async () => {
    const t = await start({});
    expect((await scrape(t.root)).status).toBe(200);
    // A same-host reverse proxy connects from loopback: its forwarding headers give it away.
    for (const h of ['x-forwarded-for', 'forwarded', 'x-real-ip']) {
      const r = await scrape(t.root, { [h]: h === 'forwarded' ? 'for=203.0.113.9' : '203.0.113.9' });
      expect(r.status).toBe(404);
      expect(r.text).not.toContain('medid_');
    }
    // The same app on every interface, reached from this machine's own non-loopback address:
    // the connection's peer is that address, so the request is refused as one from outside.
    const address = outsideAddress();
    expect(address, 'this test needs a non-loopback IPv4 interface').toBeDefined();
    const all = http.createServer(t.app.express);
    extra.push(all);
    await new Promise<void>((r) => all.listen(0, '0.0.0.0', r));
    const port = (all.address() as AddressInfo).port;
    const outside = await fetch(`http://${address ?? ''}:${port}/metrics`);
    expect(outside.status).toBe(404);
    expect(await outside.text()).not.toContain('medid_');
    // …while the FHIR API on that address works as ever, and loopback on that server still gets metrics.
    expect((await fetch(`http://${address ?? ''}:${port}/fhir/metadata`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
  });

  it('bearer:<secret>: a missing or wrong secret answers 401, the right one the metrics (also not from loopback)', async () => {
    const secret = 'Sc-8f2a41d0c7e9b35a';
    const t = await start({ metrics: { mode: 'bearer', secret } });
    const none = await scrape(t.root);
    expect(none.status).toBe(401);
    expect(none.res.headers.get('www-authenticate')).toBe('Bearer realm="medid-metrics"');
    expect(none.text).not.toContain('medid_http');
    for (const wrong of [`Bearer ${secret.slice(0, -1)}`, `Bearer ${secret}x`, `Basic ${secret}`, secret, `Bearer ${t.token}`]) {
      const r = await scrape(t.root, { authorization: wrong });
      expect(r.status, wrong.slice(0, 12)).toBe(401);
      expect(r.text).not.toContain('medid_http');
    }
    const ok = await scrape(t.root, { authorization: `Bearer ${secret}` });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('medid_http_request_duration_seconds');
    expect((await scrape(t.root, { authorization: `bearer ${secret}` })).status).toBe(200);
    // The FHIR token opens no metrics, and the metrics secret opens no FHIR data.
    expect((await fetch(`${t.base}/Patient`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
    const address = outsideAddress();
    expect(address).toBeDefined();
    const all = http.createServer(t.app.express);
    extra.push(all);
    await new Promise<void>((r) => all.listen(0, '0.0.0.0', r));
    const port = (all.address() as AddressInfo).port;
    expect((await fetch(`http://${address ?? ''}:${port}/metrics`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
    expect((await fetch(`http://${address ?? ''}:${port}/metrics`)).status).toBe(401);
  });
});
