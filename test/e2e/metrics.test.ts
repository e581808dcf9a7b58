/**
 * Metrics as an operator meets them: the server started as `npm start` does (src/main.ts, its
 * sweeps on timers), `medid import --server … --metrics-file` run as its own process, and the
 * Grafana dashboard in docs/grafana: it parses, is laid out without overlap, and every metric it
 * queries is one the server's `/metrics` or the import's text file really exposes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticPerson } from '../../bench/registry-data.ts';
import { freePort } from '../helpers/free-port.ts';
import { medid, serve } from '../helpers/medid-process.ts';
import { familiesOf, parseExposition, sample } from '../helpers/prometheus.ts';
import type { Sample } from '../helpers/prometheus.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const DASHBOARD = path.join(ROOT, 'docs', 'grafana', 'medid-dashboard.json');
const PERSONS = 30;

interface Panel {
  type: string;
  id: number;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { type: string; uid: string } }[];
}

/** The metric names a PromQL expression reads (medid's, and prom-client's process and Node.js ones). */
const metricNames = (expr: string): string[] => [...expr.matchAll(/\b((?:medid|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1] ?? '');

describe('metrics of the server process and of an import', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-metrics-'));
  let port: number;
  let server: { ready: boolean; stop: () => Promise<void> } | undefined;
  const env = (): Record<string, string> => ({
    MEDID_DATA_DIR: path.join(dir, 'data'),
    PORT: String(port),
    MEDID_REGISTRY_SWEEP_SECONDS: '1',
    LOG_LEVEL: 'warn',
  });
  let scraped: Sample[] = [];
  let scrapedText = '';
  let textfile: Sample[] = [];

  beforeAll(async () => {
    port = await freePort();
    server = await serve(env(), port);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('counts the sweeps main.ts runs, the registrations an import sends, and writes the import’s progress file', async () => {
    expect(server?.ready).toBe(true);
    const token = medid(['token', '--scope', 'system/*.cruds'], env());
    expect(token.status, token.stderr).toBe(0);
    const file = path.join(dir, 'persons.ndjson');
    fs.writeFileSync(file, `${Array.from({ length: PERSONS }, (_v, i) => JSON.stringify(syntheticPerson(i, 5))).join('\n')}\n`);
    const metricsFile = path.join(dir, 'import.prom');
    const base = `http://127.0.0.1:${port}/fhir`;
    const run = medid(
      ['import', file, '--server', base, '--token', token.stdout.trim(), '--batch', '10', '--quiet', '--metrics-file', metricsFile],
      env(),
    );
    expect(run.status, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;

    // The import's own file: final counts, the file's size of the job, finished.
    textfile = parseExposition(fs.readFileSync(metricsFile, 'utf8'));
    expect(sample(textfile, 'medid_import_records_expected', {})).toBe(PERSONS);
    expect(sample(textfile, 'medid_import_running', {})).toBe(0);
    for (const status of ['created', 'updated', 'unchanged', 'review', 'error'])
      expect(sample(textfile, 'medid_import_records_total', { status }), status).toBe(summary[status] ?? 0);
    expect(sample(textfile, 'medid_import_started_timestamp_seconds', {})).toBeLessThanOrEqual(
      sample(textfile, 'medid_import_last_update_timestamp_seconds', {}) ?? 0,
    );
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(fs.readFileSync(metricsFile, 'utf8')).not.toContain('persons.ndjson');

    // The server saw the same records through Patient/$register, and a read of one of them.
    const created = summary['created'] ?? 0;
    expect(created + (summary['review'] ?? 0)).toBe(PERSONS);
    const one = (await (
      await fetch(`${base}/Patient?_count=1&_elements=id`, { headers: { authorization: `Bearer ${token.stdout.trim()}` } })
    ).json()) as { entry?: { resource: { id: string } }[] };
    const id = one.entry?.[0]?.resource.id ?? '';
    expect((await fetch(`${base}/Patient/${id}`, { headers: { authorization: `Bearer ${token.stdout.trim()}` } })).status).toBe(200);

    // main.ts's sweeps: the registry sweep every second, the access-log drain every 5 s.
    for (let i = 0; i < 100; i++) {
      scrapedText = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      scraped = parseExposition(scrapedText);
      if (
        (sample(scraped, 'medid_sweep_runs_total', { sweep: 'registry', outcome: 'ok' }) ?? 0) >= 2 &&
        (sample(scraped, 'medid_sweep_runs_total', { sweep: 'access_log_drain', outcome: 'ok' }) ?? 0) >= 1
      )
        break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(sample(scraped, 'medid_sweep_runs_total', { sweep: 'registry', outcome: 'ok' })).toBeGreaterThanOrEqual(2);
    expect(sample(scraped, 'medid_sweep_runs_total', { sweep: 'access_log_drain', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sample(scraped, 'medid_sweep_runs_total', { sweep: 'registry', outcome: 'error' })).toBeUndefined();
    expect(sample(scraped, 'medid_sweep_last_success_timestamp_seconds', { sweep: 'registry' })).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(sample(scraped, 'medid_sweep_duration_seconds_count', { sweep: 'registry' })).toBeGreaterThanOrEqual(2);
    expect(sample(scraped, 'medid_sweep_items_total', { sweep: 'registry', item: 'retired' })).toBe(0);
    expect(sample(scraped, 'medid_registrations_total', { status: 'created' })).toBe(created);
    expect(
      sample(scraped, 'medid_http_request_duration_seconds_count', { method: 'POST', route: '/fhir/Patient/$register', status: '200' }),
    ).toBe(Math.ceil(PERSONS / 10));
    expect(sample(scraped, 'medid_http_request_duration_seconds_count', { method: 'GET', route: '/fhir/Patient/:id', status: '200' })).toBe(
      1,
    );
    expect(sample(scraped, 'medid_info', { version: '0.1.0', driver: 'pglite' })).toBe(1);
    expect(scrapedText).not.toContain(id);
  }, 180_000);

  it('the Grafana dashboard parses, its panels do not overlap, and it queries only metrics that exist', () => {
    expect(scraped.length, 'the test above scraped the server').toBeGreaterThan(0);
    const dash = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as {
      uid: string;
      title: string;
      schemaVersion: number;
      panels: Panel[];
      templating: { list: { name: string; type: string; definition?: string }[] };
    };
    expect(dash.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dash.title).toBe('medid');
    expect(dash.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dash.templating.list.map((v) => `${v.name}:${v.type}`)).toEqual(['datasource:datasource', 'instance:query']);
    const ids = dash.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    const names = new Set<string>();
    for (const p of dash.panels) {
      const g = p.gridPos;
      expect(g.x + g.w, p.title).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps another panel at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      if (p.type === 'row') continue;
      expect(['timeseries', 'stat', 'gauge']).toContain(p.type);
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        const used = metricNames(t.expr);
        expect(used.length, t.expr).toBeGreaterThan(0);
        for (const n of used) names.add(n);
      }
    }
    // The node picker reads medid_info.
    for (const v of dash.templating.list) for (const n of metricNames(v.definition ?? '')) names.add(n);
    const exposed = new Set([...familiesOf(scraped), ...familiesOf(textfile)]);
    const missing = [...names].filter((n) => !exposed.has(n));
    expect(missing).toEqual([]);
    // …and every medid metric the server exposes has a panel.
    const unused = [...familiesOf(scraped)]
      .filter((n) => n.startsWith('medid_') && !/_(bucket|sum|count)$/.test(n))
      .filter((n) => ![...names].some((u) => u === n || u.startsWith(`${n}_`)));
    expect(unused).toEqual([]);
  });
});
