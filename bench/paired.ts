/**
 * Paired benchmark of two checkouts (`npm run bench:paired`): is this commit as fast as another
 * one, on the same machine, in the same run? One PostgreSQL database is seeded once with this
 * checkout's code — BENCH_PERSONS synthetic persons (bench/match-population.ts) through
 * `medid import`, 1.5 coverages each — and both checkouts serve it in turn (their migrations
 * must be the same). Each round starts one server, then the other (the order alternates), and
 * drives each with the same loads:
 *   - REST read (`GET Patient/{id}`) and identifier search (`Patient?identifier=` an insured
 *     member id), c=50;
 *   - the same read and search by a hospital (a medical institution under the access policy,
 *     with a care relationship to every sampled person), c=50;
 *   - `Patient/$match` (kana and kanji names, birth date, sex, no identifier) and
 *     `CoverageEligibilityRequest/$submit` by a hospital, c=16.
 * Also reported: within each side and round, the hospital's throughput ÷ the authority's on
 * the same requests (what the access policy costs).
 * Reported: per scenario, the median req/s of each side and the median of the per-round ratios
 * (this ÷ baseline), and the same for the server's CPU time per request — machines here are
 * shared and noisy; a ratio within a round is what counts, and CPU per request moves least.
 * Before each side's run the tables the loads write are vacuumed (autovacuum may be off), so
 * neither side inherits the other's dead rows.
 *
 *   BENCH_BASELINE=/path/to/other/checkout npm run bench:paired
 *   BENCH_BASELINE=. BENCH_BASELINE_ENV='MEDID_ACCESS_LOG=off' npm run bench:paired   (one checkout, two settings)
 *   BENCH_ROUNDS=5 BENCH_DURATION=10 BENCH_PERSONS=100000 BENCH_SCENARIOS='$match,$submit'
 *
 * The baseline checkout needs its own `npm ci`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Parameters, Patient } from '@medplum/fhirtypes';
import pg from 'pg';
import { ID_SYSTEMS, NAME_REPRESENTATION } from '../src/core/systems.ts';
import { HOSPITAL, request, seedCoverages } from './eligibility-data.ts';
import {
  benchAuth,
  benchLog,
  freshPgDatabase,
  median,
  ROOT,
  runLoad,
  serverEnv,
  startServer,
  tempDataDir,
  tokenFromKeyFile,
  writeResults,
} from './lib.ts';
import type { LoadSpec } from './lib.ts';
import { importPopulation, registeredPeople } from './match-population.ts';
import type { Person } from './match-population.ts';

const BASELINE = process.env['BENCH_BASELINE'];
/** Settings for each side's server (`NAME=value …`): one checkout against itself with a feature on and off. */
const envOf = (text: string | undefined): Record<string, string> =>
  Object.fromEntries(
    (text ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
const THIS_ENV = envOf(process.env['BENCH_THIS_ENV']);
const BASELINE_ENV = envOf(process.env['BENCH_BASELINE_ENV']);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const DURATION = Number(process.env['BENCH_DURATION'] ?? 10);
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 3);
const PERSONS = Number(process.env['BENCH_PERSONS'] ?? 100_000);
const PG_URL = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ONLY = process.env['BENCH_SCENARIOS']?.split(',');

interface Sampled {
  p: Person;
  id: string;
}

/** The migrations of a checkout, by file name and content hash. */
function migrationSums(root: string): Map<string, string> {
  const dir = path.join(root, 'src', 'store', 'migrations');
  return new Map(
    fs
      .readdirSync(dir)
      .sort()
      .map((f) => [
        f,
        crypto
          .createHash('sha256')
          .update(fs.readFileSync(path.join(dir, f)))
          .digest('hex'),
      ]),
  );
}

/**
 * Both sides serve one database, seeded by this checkout: the baseline's migrations must be
 * this checkout's, or the first of them (this side may add tables and columns the baseline
 * never touches).
 */
function compatibleMigrations(baseline: string, self: string): boolean {
  const b = migrationSums(baseline);
  const t = migrationSums(self);
  return [...b].every(([f, h]) => t.get(f) === h);
}

function matchQuery(p: Person): Parameters {
  const resource: Patient = {
    resourceType: 'Patient',
    name: [
      { extension: [{ url: NAME_REPRESENTATION, valueCode: 'IDE' }], family: p.familyKanji, given: [p.givenKanji] },
      { extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], family: p.familyKana, given: [p.givenKana] },
    ],
    birthDate: p.birthDate,
    gender: p.sex,
  };
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'resource', resource },
      { name: 'count', valueInteger: 5 },
    ],
  };
}

type Scenario = {
  name: string;
  connections: number;
  headers: 'admin' | 'hospital';
  /** Compared with this scenario's authority twin (same requests) within each side and round. */
  twin?: string;
  setup: (s: Sampled) => { method: string; path: string; body?: string };
};

const SCENARIOS: Scenario[] = [
  { name: 'read', connections: 50, headers: 'admin', setup: (s) => ({ method: 'GET', path: `/fhir/Patient/${s.id}` }) },
  {
    name: 'search by identifier',
    connections: 50,
    headers: 'admin',
    setup: (s) => ({
      method: 'GET',
      path: `/fhir/Patient?identifier=${encodeURIComponent(`${ID_SYSTEMS.insuredMemberId}|${s.p.insurer}:${s.p.symbol}:${s.p.number}:${s.p.branch}`)}`,
    }),
  },
  {
    name: 'read (hospital)',
    connections: 50,
    headers: 'hospital',
    twin: 'read',
    setup: (s) => ({ method: 'GET', path: `/fhir/Patient/${s.id}` }),
  },
  {
    name: 'search (hospital)',
    connections: 50,
    headers: 'hospital',
    twin: 'search by identifier',
    setup: (s) => ({
      method: 'GET',
      path: `/fhir/Patient?identifier=${encodeURIComponent(`${ID_SYSTEMS.insuredMemberId}|${s.p.insurer}:${s.p.symbol}:${s.p.number}:${s.p.branch}`)}`,
    }),
  },
  {
    name: '$match',
    connections: 16,
    headers: 'admin',
    setup: (s) => ({ method: 'POST', path: '/fhir/Patient/$match', body: JSON.stringify(matchQuery(s.p)) }),
  },
  {
    name: '$submit',
    connections: 16,
    headers: 'hospital',
    setup: (s) => ({ method: 'POST', path: '/fhir/CoverageEligibilityRequest/$submit', body: JSON.stringify(request(s.p, '2026-11-30')) }),
  },
];

/** The hospital's care relationships with the sampled persons (as valid confirmations record them). */
async function seedCare(url: string, patientIds: readonly string[]): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(
      `INSERT INTO registry.service_use (patient_id, org_code, first_day, last_day)
       SELECT id, $2, current_date, current_date FROM unnest($1::text[]) AS id ON CONFLICT DO NOTHING`,
      [patientIds, HOSPITAL],
    );
    return r.rowCount ?? 0;
  } finally {
    await c.end();
  }
}

/** Vacuums what the loads write, so neither side inherits the other's dead rows (autovacuum may be off). */
async function vacuum(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('VACUUM (ANALYZE) registry.service_use, audit.event, fhir.resource, fhir.resource_version');
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  if (!BASELINE || !fs.existsSync(path.join(BASELINE, 'src', 'main.ts')))
    throw new Error('BENCH_BASELINE must name another medid checkout (with its node_modules)');
  if (!compatibleMigrations(BASELINE, ROOT))
    throw new Error("the baseline's migrations are not this checkout's (or a prefix of them): they cannot serve one database");
  const { lines, log } = benchLog(
    `medid paired benchmark: this checkout ${JSON.stringify(THIS_ENV)} vs ${BASELINE} ${JSON.stringify(BASELINE_ENV)}, ${PERSONS} persons, ${ROUNDS} rounds × ${DURATION} s`,
  );
  const dir = tempDataDir();
  const auth = await benchAuth(dir);
  const db = await freshPgDatabase(PG_URL);
  try {
    const env = { ...process.env, ...serverEnv(db.url, dir, auth) };
    const population = await importPopulation({ persons: PERSONS, seed: 23, dir, env, databaseUrl: db.url }, log);
    const registered = registeredPeople(population);
    log(`coverages: ${await seedCoverages(db.url, dir, auth, registered)}`);
    const step = Math.max(1, Math.floor(registered.length / 20_000));
    const sample = registered.filter((_v, i) => i % step === 0);
    log(
      `care relationships of the hospital: ${await seedCare(
        db.url,
        sample.map((x) => x.id),
      )}`,
    );
    const sides = [
      { name: 'this', root: ROOT, env: THIS_ENV },
      { name: 'baseline', root: path.resolve(BASELINE), env: BASELINE_ENV },
    ] as const;
    const scenarios = SCENARIOS.filter((sc) => !ONLY || ONLY.includes(sc.name));
    type Figures = { rps: number; cpu: number };
    const results = new Map<string, { this: Figures; baseline: Figures }[]>(scenarios.map((sc) => [sc.name, []]));
    const twins = new Map<string, number[]>(scenarios.map((sc) => [sc.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      const got = new Map<string, Partial<Record<'this' | 'baseline', Figures>>>(scenarios.map((sc) => [sc.name, {}]));
      for (const side of order) {
        await vacuum(db.url);
        const server = await startServer({ ...serverEnv(db.url, dir, auth), ...side.env }, side.root);
        try {
          const admin = await tokenFromKeyFile(
            auth.keyFile,
            server.base,
            { id: 'bench', name: 'bench', org: { kind: 'authority', code: 'bench' } },
            'system/*.cruds',
          );
          const hospital = await tokenFromKeyFile(
            auth.keyFile,
            server.base,
            { id: 'hospital', name: 'bench hospital', org: { kind: 'medical-institution', code: HOSPITAL } },
            'system/CoverageEligibilityRequest.c system/Patient.rs',
          );
          for (const sc of scenarios) {
            const headers = {
              authorization: `Bearer ${sc.headers === 'admin' ? admin : hospital}`,
              'content-type': 'application/fhir+json',
              accept: 'application/fhir+json',
            };
            let i = round * 100_003;
            const spec = (duration: number): LoadSpec => ({
              title: sc.name,
              url: server.base,
              headers,
              connections: sc.connections,
              duration,
              setup: (req) => ({ ...req, ...sc.setup(sample[(i++ * 7919) % sample.length]) }),
            });
            await runLoad(spec(WARMUP), server.pid);
            const r = await runLoad(spec(DURATION), server.pid);
            const g = got.get(sc.name);
            if (g) g[side.name] = { rps: r.reqPerSec, cpu: r.cpuMsPerRequest };
            log(
              `round ${round + 1} ${side.name.padEnd(8)} ${sc.name.padEnd(21)} ${Math.round(r.reqPerSec)} req/s p50 ${r.p50} ms p99 ${r.p99} ms, server CPU ${r.cpuMsPerRequest.toFixed(3)} ms/request, PostgreSQL CPU ${r.dbCpuMsPerRequest.toFixed(3)} (non-2xx ${r.non2xx}, steal ${r.stealPct.toFixed(1)} %)`,
            );
            if (r.non2xx > 0 || r.errors > 0) throw new Error(`${side.name} ${sc.name}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
          }
        } finally {
          await server.stop();
        }
      }
      for (const sc of scenarios) {
        const g = got.get(sc.name);
        if (g?.this && g.baseline) results.get(sc.name)?.push({ this: g.this, baseline: g.baseline });
      }
      for (const sc of scenarios) {
        const g = got.get(sc.name);
        const t = sc.twin ? got.get(sc.twin) : undefined;
        if (g?.this && t?.this) twins.get(sc.name)?.push(g.this.rps / t.this.rps);
      }
    }
    const span = (xs: number[]): string => `${median(xs).toFixed(3)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
    log('');
    log(`Medians of ${ROUNDS} rounds; ratios are this ÷ baseline within each round (min–max).`);
    log('| scenario | c | req/s this | req/s baseline | req/s ratio | CPU ms/request this | baseline | CPU ratio |');
    log('|---|---|---|---|---|---|---|---|');
    for (const sc of scenarios) {
      const rs = results.get(sc.name) ?? [];
      if (rs.length === 0) continue;
      log(
        `| ${sc.name} | ${sc.connections} | ${Math.round(median(rs.map((r) => r.this.rps)))} | ${Math.round(median(rs.map((r) => r.baseline.rps)))} | ${span(rs.map((r) => r.this.rps / r.baseline.rps))} | ${median(rs.map((r) => r.this.cpu)).toFixed(3)} | ${median(rs.map((r) => r.baseline.cpu)).toFixed(3)} | ${span(rs.map((r) => r.this.cpu / r.baseline.cpu))} |`,
      );
    }
    log('');
    log('This side: the hospital ÷ the authority on the same requests, per round (median, min–max).');
    for (const sc of scenarios) {
      const rs = twins.get(sc.name) ?? [];
      if (rs.length > 0) log(`| ${sc.name} ÷ ${sc.twin ?? ''} | ${span(rs)} |`);
    }
  } finally {
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  writeResults('paired', lines);
}

await main();
