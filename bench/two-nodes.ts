/**
 * Two medid nodes on one PostgreSQL against one node, in the same run (`npm run bench:two-nodes`;
 * issue 19 item 5). One database is seeded once — BENCH_PERSONS synthetic persons
 * (bench/match-population.ts) through `medid import`, 1.5 coverages each — then each round runs
 * both set-ups in turn (the order alternates between rounds):
 *   - one: one server process;
 *   - two: two server processes on the same database, with the same keys and the same public base
 *     URL (what a load balancer in front would give them), started together;
 * and drives each with one load generator (autocannon in this process; given both nodes' URLs it
 * spreads its connections over them, as a round-robin balancer would):
 *   - REST read `GET Patient/{id}` by the authority, c=50;
 *   - `CoverageEligibilityRequest/$submit` by a hospital (a service-use write and an audit record
 *     each), c=16.
 * Reported per scenario: the median req/s of each set-up, the median of the per-round ratios
 * (two ÷ one), and the server CPU per request (both nodes' CPU summed for two).
 *
 * What to expect on a small machine: the nodes, PostgreSQL and the load generator share its cores.
 * Where one node already keeps every core busy, a second node adds no CPU, only a second process's
 * overhead; the ratio shows what a second node costs or gains on this machine, not what a second
 * machine would add.
 *
 *   npm run bench:two-nodes
 *   BENCH_ROUNDS=3 BENCH_DURATION=10 BENCH_PERSONS=100000 npm run bench:two-nodes
 *   BENCH_DURATION=3 BENCH_PERSONS=2000 BENCH_ROUNDS=1 BENCH_WARMUP=1 npm run bench:two-nodes   (a smoke run)
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { HOSPITAL, request, seedCoverages } from './eligibility-data.ts';
import {
  benchAuth,
  benchLog,
  cpuMs,
  freshPgDatabase,
  median,
  postgresCpuMs,
  serverEnv,
  startServer,
  stealMeter,
  tempDataDir,
  tokenFromKeyFile,
  writeResults,
} from './lib.ts';
import type { ServerUnderTest } from './lib.ts';
import { importPopulation, registeredPeople } from './match-population.ts';
import type { Person } from './match-population.ts';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const DURATION = Number(process.env['BENCH_DURATION'] ?? 10);
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 3);
const PERSONS = Number(process.env['BENCH_PERSONS'] ?? 100_000);
const PG_URL = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** The public base URL every node is given (a balancer's address): tokens name it as their audience. */
const PUBLIC_BASE = 'http://medid.bench.invalid/fhir';

interface Sampled {
  p: Person;
  id: string;
}

interface Scenario {
  name: string;
  connections: number;
  who: 'admin' | 'hospital';
  setup: (s: Sampled) => { method: string; path: string; body?: string };
}

const SCENARIOS: Scenario[] = [
  { name: 'read', connections: 50, who: 'admin', setup: (s) => ({ method: 'GET', path: `/fhir/Patient/${s.id}` }) },
  {
    name: '$submit',
    connections: 16,
    who: 'hospital',
    setup: (s) => ({ method: 'POST', path: '/fhir/CoverageEligibilityRequest/$submit', body: JSON.stringify(request(s.p, '2026-11-30')) }),
  },
];

const SETUPS = [
  { name: 'one', nodes: 1 },
  { name: 'two', nodes: 2 },
] as const;
type SetupName = (typeof SETUPS)[number]['name'];

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU per request (ms), every node's summed. */
  cpu: number;
  /** PostgreSQL CPU per request (ms). */
  dbCpu: number;
  non2xx: number;
  errors: number;
  steal: number;
  /** Requests each node answered (from autocannon's per-connection spread). */
  perNode: string;
}

/** One load from one autocannon over every node's URL (connection i goes to node i mod n). */
async function load(
  servers: readonly ServerUnderTest[],
  sc: Scenario,
  headers: Record<string, string>,
  duration: number,
  next: () => Sampled,
): Promise<Figures> {
  const steal = stealMeter();
  const cpu0 = servers.map((s) => cpuMs(s.pid));
  const db0 = postgresCpuMs();
  const perUrl = new Map<string, number>();
  const instance = autocannon({
    // autocannon takes several URLs (its README; its types say one) and spreads connections over them.
    url: servers.map((s) => s.base) as unknown as string,
    connections: sc.connections,
    duration,
    headers,
    requests: [{ setupRequest: ((req: Record<string, unknown>) => ({ ...req, ...sc.setup(next()) })) as never }],
  });
  (instance as unknown as NodeJS.EventEmitter).on('response', (client: { opts?: { host?: string } }) => {
    const host = client.opts?.host ?? '?';
    perUrl.set(host, (perUrl.get(host) ?? 0) + 1);
  });
  const r = await instance;
  const total = Math.max(1, r.requests.total);
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    cpu: servers.reduce((sum, s, i) => sum + cpuMs(s.pid) - (cpu0[i] ?? 0), 0) / total,
    dbCpu: (postgresCpuMs() - db0) / total,
    non2xx: r.non2xx,
    errors: r.errors,
    steal: steal(),
    perNode: [...perUrl.values()].join('/'),
  };
}

/** Vacuums what the loads write, so no set-up inherits the other's dead rows (autovacuum may be off). */
async function vacuum(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('VACUUM (ANALYZE) registry.service_use, audit.event, audit.log_order, audit.log_leaf, audit.log_node');
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const { lines, log } = benchLog(
    `medid two nodes vs one on one PostgreSQL: ${PERSONS} persons, ${ROUNDS} rounds × ${DURATION} s (warm-up ${WARMUP} s)`,
  );
  const dir = tempDataDir();
  const auth = await benchAuth(dir);
  const db = await freshPgDatabase(PG_URL);
  try {
    // Every node is given the same keys, as files (two nodes starting at once must not each generate one).
    const secret = (name: string): string => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, crypto.randomBytes(32).toString('base64'), { mode: 0o600 });
      return file;
    };
    const env = {
      ...serverEnv(db.url, dir, auth),
      MEDID_PSEUDONYM_KEY_FILE: secret('bench-pseudonym-secret'),
      MEDID_ENVELOPE_KEY_FILE: secret('bench-envelope-secret'),
      MEDID_LOG_KEY_FILE: secret('bench-log-secret'),
      MEDID_BASE_URL: PUBLIC_BASE,
    };
    const population = await importPopulation(
      { persons: PERSONS, seed: 23, dir, env: { ...process.env, ...env }, databaseUrl: db.url },
      log,
    );
    const registered = registeredPeople(population);
    log(`coverages: ${await seedCoverages(db.url, dir, auth, registered)}`);
    const step = Math.max(1, Math.floor(registered.length / 20_000));
    const sample = registered.filter((_v, i) => i % step === 0);
    const admin = await tokenFromKeyFile(
      auth.keyFile,
      PUBLIC_BASE,
      { id: 'bench', name: 'bench', org: { kind: 'authority', code: 'bench' } },
      'system/*.cruds',
    );
    const hospital = await tokenFromKeyFile(
      auth.keyFile,
      PUBLIC_BASE,
      { id: 'hospital', name: 'bench hospital', org: { kind: 'medical-institution', code: HOSPITAL } },
      'system/CoverageEligibilityRequest.c system/Patient.rs',
    );
    const results = new Map<string, Record<SetupName, Figures>[]>(SCENARIOS.map((sc) => [sc.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? SETUPS : [...SETUPS].reverse();
      const got = new Map<string, Partial<Record<SetupName, Figures>>>(SCENARIOS.map((sc) => [sc.name, {}]));
      for (const setup of order) {
        await vacuum(db.url);
        const servers = await Promise.all(Array.from({ length: setup.nodes }, () => startServer(env)));
        try {
          for (const sc of SCENARIOS) {
            const headers = {
              authorization: `Bearer ${sc.who === 'admin' ? admin : hospital}`,
              'content-type': 'application/fhir+json',
              accept: 'application/fhir+json',
            };
            let i = round * 100_003;
            const next = (): Sampled => sample[(i++ * 7919) % sample.length];
            await load(servers, sc, headers, WARMUP, next);
            const r = await load(servers, sc, headers, DURATION, next);
            const g = got.get(sc.name);
            if (g) g[setup.name] = r;
            log(
              `round ${round + 1} ${setup.name} node${setup.nodes > 1 ? 's' : ''} ${sc.name.padEnd(8)} c=${sc.connections}: ${Math.round(r.rps)} req/s p50 ${r.p50} ms p99 ${r.p99} ms, server CPU ${r.cpu.toFixed(3)} ms/request, PostgreSQL CPU ${r.dbCpu.toFixed(3)} (answers per node ${r.perNode}; non-2xx ${r.non2xx}, errors ${r.errors}, steal ${r.steal.toFixed(1)} %)`,
            );
            if (r.non2xx > 0 || r.errors > 0) throw new Error(`${setup.name} ${sc.name}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
          }
        } finally {
          await Promise.all(servers.map((s) => s.stop()));
        }
      }
      for (const sc of SCENARIOS) {
        const g = got.get(sc.name);
        if (g?.one && g.two) results.get(sc.name)?.push({ one: g.one, two: g.two });
      }
    }
    const span = (xs: number[]): string => `${median(xs).toFixed(3)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
    log('');
    log(`Medians of ${ROUNDS} round(s); ratios are two ÷ one within each round (min–max). Server CPU: both nodes' summed.`);
    log(
      '| scenario | c | req/s one node | req/s two nodes | req/s ratio | server CPU ms/request one | two | PostgreSQL CPU ms/request one | two |',
    );
    log('|---|---|---|---|---|---|---|---|---|');
    for (const sc of SCENARIOS) {
      const rs = results.get(sc.name) ?? [];
      if (rs.length === 0) continue;
      const m = (f: (r: Record<SetupName, Figures>) => number): number => median(rs.map(f));
      log(
        `| ${sc.name} | ${sc.connections} | ${Math.round(m((r) => r.one.rps))} | ${Math.round(m((r) => r.two.rps))} | ${span(rs.map((r) => r.two.rps / r.one.rps))} | ${m((r) => r.one.cpu).toFixed(3)} | ${m((r) => r.two.cpu).toFixed(3)} | ${m((r) => r.one.dbCpu).toFixed(3)} | ${m((r) => r.two.dbCpu).toFixed(3)} |`,
      );
    }
  } finally {
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  writeResults('two-nodes', lines);
}

await main();
