/**
 * REST benchmark: 10,000 Patients loaded, then read, create, update, search by identifier,
 * search by family+birthdate and a 100-entry transaction, at concurrency 10 and 50, on
 * PostgreSQL and on PGlite, with SMART tokens and the audit log on (as deployed). Then the
 * read and search scenarios again with MEDID_AUDIT=off, to show what auditing costs.
 * Reports req/s, p50/p99 latency and the server's peak RSS, median of BENCH_RUNS runs.
 *
 *   npm run bench                      # everything (≈ 15 min)
 *   BENCH_DRIVERS=pg BENCH_RUNS=1 BENCH_DURATION=5 npm run bench
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { analyze, benchAuth, freshPgDatabase, median, ROOT, rssMb, runLoad, startServer, tempDataDir } from './lib.ts';
import type { Driver, LoadResult, LoadSpec, ServerUnderTest } from './lib.ts';
import { BENCH_MRN, rng, syntheticPatient } from './synthetic.ts';
import type { SyntheticPatient } from './synthetic.ts';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const DURATION = Number(process.env['BENCH_DURATION'] ?? 10);
const PATIENTS = Number(process.env['BENCH_PATIENTS'] ?? 10_000);
const DRIVERS = (process.env['BENCH_DRIVERS'] ?? 'pg,pglite').split(',') as Driver[];
const CONCURRENCY = (process.env['BENCH_CONCURRENCY'] ?? '10,50').split(',').map(Number);
const PG_URL = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ONLY = process.env['BENCH_SCENARIOS']?.split(',');

interface Loaded {
  ids: string[];
  bodies: SyntheticPatient[];
}

async function loadPatients(base: string, n: number, token: string): Promise<Loaded> {
  const ids: string[] = [];
  const bodies: SyntheticPatient[] = [];
  const batch = 250;
  for (let start = 0; start < n; start += batch) {
    const chunk = Array.from({ length: Math.min(batch, n - start) }, (_v, i) => syntheticPatient(start + i));
    const res = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: chunk.map((resource) => ({ resource, request: { method: 'POST', url: 'Patient' } })),
      }),
    });
    if (!res.ok) throw new Error(`load failed: ${res.status} ${await res.text()}`);
    const bundle = (await res.json()) as { entry: { response: { location: string } }[] };
    for (const [i, e] of bundle.entry.entries()) {
      ids.push(e.response.location.split('/').slice(-3)[0]);
      bodies.push(chunk[i]);
    }
  }
  return { ids, bodies };
}

type Req = Parameters<LoadSpec['setup']>[0];
type Scenario = { name: string; make: (loaded: Loaded, r: () => number) => (req: Req) => Req };

const JSON_HEADERS = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };
let createCounter = 50_000_000;

const SCENARIOS: Scenario[] = [
  {
    name: 'read',
    make: (l, r) => (req) => ({ ...req, method: 'GET', path: `/fhir/Patient/${l.ids[Math.floor(r() * l.ids.length)]}` }),
  },
  {
    name: 'search by identifier',
    make: (l, r) => (req) => {
      const p = l.bodies[Math.floor(r() * l.bodies.length)];
      return {
        ...req,
        method: 'GET',
        path: `/fhir/Patient?identifier=${encodeURIComponent(`${BENCH_MRN}|${p.identifier[0]?.value ?? ''}`)}`,
      };
    },
  },
  {
    name: 'search by family+birthdate',
    make: (l, r) => (req) => {
      const p = l.bodies[Math.floor(r() * l.bodies.length)];
      return {
        ...req,
        method: 'GET',
        path: `/fhir/Patient?family=${encodeURIComponent(p.name[0]?.family ?? '')}&birthdate=${p.birthDate}`,
      };
    },
  },
  {
    name: 'update',
    make: (l, r) => (req) => {
      const i = Math.floor(r() * l.ids.length);
      const id = l.ids[i];
      const body = { ...l.bodies[i], id, telecom: [{ system: 'phone', value: `080-${Math.floor(r() * 1e8)}` }] };
      return { ...req, method: 'PUT', path: `/fhir/Patient/${id}`, headers: JSON_HEADERS, body: JSON.stringify(body) };
    },
  },
  {
    name: 'create',
    make: () => (req) => ({
      ...req,
      method: 'POST',
      path: '/fhir/Patient',
      headers: JSON_HEADERS,
      body: JSON.stringify(syntheticPatient(createCounter++)),
    }),
  },
  {
    name: 'transaction (100 entries)',
    make: () => (req) => {
      const entry = Array.from({ length: 100 }, () => ({
        resource: syntheticPatient(createCounter++),
        request: { method: 'POST', url: 'Patient' },
      }));
      return {
        ...req,
        method: 'POST',
        path: '/fhir',
        headers: { ...JSON_HEADERS, prefer: 'return=minimal' },
        body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }),
      };
    },
  },
];

type Key = `${Driver}|${string}|${number}|${'on' | 'off'}`;
const READ_SCENARIOS = new Set(['read', 'search by identifier', 'search by family+birthdate']);

async function measure(
  driver: Driver,
  audit: 'on' | 'off',
  server: ServerUnderTest,
  token: string,
  loaded: Loaded,
  connections: number,
  s: Scenario,
  results: Map<Key, LoadResult[]>,
): Promise<void> {
  const r = rng(connections * 7 + s.name.length);
  const make = s.make(loaded, r);
  const setup = (req: Req): Req => {
    const out = make(req);
    return { ...out, headers: { ...out.headers, authorization: `Bearer ${token}` } };
  };
  const res = await runLoad({ title: s.name, url: server.base.replace(/\/fhir$/, ''), connections, duration: DURATION, setup }, server.pid);
  const key: Key = `${driver}|${s.name}|${connections}|${audit}`;
  results.set(key, [...(results.get(key) ?? []), res]);
  process.stdout.write(
    `  ${driver} audit ${audit} c=${connections} ${s.name}: ${res.reqPerSec.toFixed(0)} req/s p50 ${res.p50} ms p99 ${res.p99} ms rss ${res.maxRssMb.toFixed(0)} MB steal ${res.stealPct.toFixed(0)}%${res.non2xx || res.errors ? ` (non-2xx ${res.non2xx}, errors ${res.errors})` : ''}\n`,
  );
}

/**
 * One run on one database. On PostgreSQL a second server with MEDID_AUDIT=off runs on the same
 * database, and each read scenario is measured on both back to back, so both see the same
 * machine (a shared machine's noise otherwise swamps the difference). PGlite allows one
 * process per database, so there the audit-off server runs after the other.
 */
async function oneRun(driver: Driver, results: Map<Key, LoadResult[]>, startup: Map<Driver, number[]>): Promise<void> {
  const pgdb = driver === 'pg' ? await freshPgDatabase(PG_URL) : undefined;
  const dataDir = tempDataDir();
  const auth = await benchAuth(dataDir);
  const env = {
    MEDID_SIGNING_KEY_FILE: auth.keyFile,
    MEDID_SECRET_FILE: auth.secretFile,
    ...(driver === 'pg' ? { DATABASE_URL: pgdb?.url as string } : { MEDID_DATA_DIR: dataDir, DATABASE_URL: '' }),
  };
  let on: ServerUnderTest | undefined;
  let off: ServerUnderTest | undefined;
  try {
    on = await startServer({ ...env, MEDID_AUDIT: 'on' });
    startup.set(driver, [...(startup.get(driver) ?? []), rssMb(on.pid).peak]);
    const tokenOn = await auth.token(on.base);
    const t0 = performance.now();
    const loaded = await loadPatients(on.base, PATIENTS, tokenOn);
    process.stdout.write(`  ${driver}: loaded ${PATIENTS} patients in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    // After a bulk load a DBA (or autovacuum, within a minute) refreshes planner statistics;
    // the embedded database does it itself (store/pglite.ts).
    if (pgdb) await analyze(pgdb.url);
    if (driver === 'pg') off = await startServer({ ...env, MEDID_AUDIT: 'off' });
    const tokenOff = off ? await auth.token(off.base) : '';
    for (const connections of CONCURRENCY) {
      for (const s of SCENARIOS) {
        if (ONLY && !ONLY.includes(s.name)) continue;
        await measure(driver, 'on', on, tokenOn, loaded, connections, s, results);
        if (off && READ_SCENARIOS.has(s.name)) await measure(driver, 'off', off, tokenOff, loaded, connections, s, results);
      }
    }
    if (driver === 'pglite') {
      await on.stop();
      on = undefined;
      off = await startServer({ ...env, MEDID_AUDIT: 'off' });
      const token = await auth.token(off.base);
      for (const connections of CONCURRENCY) {
        for (const s of SCENARIOS.filter((x) => READ_SCENARIOS.has(x.name) && (!ONLY || ONLY.includes(x.name)))) {
          await measure(driver, 'off', off, token, loaded, connections, s, results);
        }
      }
    }
  } finally {
    await on?.stop();
    await off?.stop();
    await pgdb?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const results = new Map<Key, LoadResult[]>();
  const startup = new Map<Driver, number[]>();
  process.stdout.write(
    `medid REST benchmark: ${PATIENTS} patients, ${RUNS} run(s) × ${DURATION} s per scenario, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'})\n`,
  );
  for (let run = 1; run <= RUNS; run++) {
    process.stdout.write(`run ${run}/${RUNS}\n`);
    for (const d of DRIVERS) await oneRun(d, results, startup);
  }
  const lines = [
    `| database | scenario | concurrency | audit | req/s | p50 ms | p99 ms | server RSS MB (max during load) | CPU steal % |`,
    `|---|---|---:|---|---:|---:|---:|---:|---:|`,
  ];
  for (const [key, rs] of results) {
    const [driver, name, conc, audit] = key.split('|');
    lines.push(
      `| ${driver === 'pg' ? 'PostgreSQL' : 'PGlite'} | ${name} | ${conc} | ${audit} | ${median(rs.map((r) => r.reqPerSec)).toFixed(0)} | ${median(rs.map((r) => r.p50)).toFixed(0)} | ${median(rs.map((r) => r.p99)).toFixed(0)} | ${median(rs.map((r) => r.maxRssMb)).toFixed(0)} | ${median(rs.map((r) => r.stealPct)).toFixed(0)} |`,
    );
  }
  const ratios: string[] = [];
  for (const [key, on] of results) {
    if (!key.endsWith('|on')) continue;
    const off = results.get(key.replace(/\|on$/, '|off') as Key);
    if (!off) continue;
    const [driver, name, conc] = key.split('|');
    ratios.push(
      `- ${driver === 'pg' ? 'PostgreSQL' : 'PGlite'} ${name} c=${conc}: audit on = ${((100 * median(on.map((r) => r.reqPerSec))) / median(off.map((r) => r.reqPerSec))).toFixed(0)}% of audit off`,
    );
  }
  const table = `${lines.join('\n')}\n\nCost of auditing every disclosure (throughput with audit on, relative to off):\n${ratios.join('\n')}`;
  const head = `medid ${new Date().toISOString()} — ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; load generator (autocannon) on the same machine; median of ${RUNS} run(s) × ${DURATION} s; ${PATIENTS} Patients loaded.`;
  const startupNote = [...startup].map(([d, xs]) => `${d}: RSS at ready ${median(xs).toFixed(0)} MB (peak since start)`).join('; ');
  const out = `${head}\n\n${table}\n\n${startupNote}\n`;
  process.stdout.write(`\n${out}`);
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `fhir-rest-${new Date().toISOString().replace(/[:.]/g, '-')}.md`), out);
}

await main();
