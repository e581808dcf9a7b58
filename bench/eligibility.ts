/**
 * Eligibility and record-location benchmark (`npm run bench:eligibility`): BENCH_ELIG_PERSONS
 * synthetic persons (bench/match-population.ts) imported with `medid import` into a fresh
 * PostgreSQL database, 1.5 coverages each (every person's card, half of them a second, newer or
 * short-term one) written set-based through the repository, a directory of 50 hospitals with
 * endpoints; then CoverageEligibilityRequest/$submit by a hospital at c=16 (each a service-use
 * write and an audit record) and Patient/$record-locations at c=16, median of 3 × 10 s.
 *
 *   BENCH_ELIG_PERSONS=1000000 BENCH_KEEP_DB=1 BENCH_PROGRESS=1 npm run bench:eligibility
 *   BENCH_ELIG_REUSE=bench/results/eligibility-seed.json npm run bench:eligibility   # load only
 */
import fs from 'node:fs';
import path from 'node:path';
import { HOSPITAL, request, seedCoverages } from './eligibility-data.ts';
import type { Card } from './eligibility-data.ts';
import {
  benchAuth,
  benchLog,
  freshPgDatabase,
  medianLoad,
  ROOT,
  serverEnv,
  startServer,
  tempDataDir,
  tokenFromKeyFile,
  writeResults,
} from './lib.ts';
import { importPopulation, registeredPeople } from './match-population.ts';

const PERSONS = Number(process.env['BENCH_ELIG_PERSONS'] ?? 100_000);
const DURATION = Number(process.env['BENCH_DURATION'] ?? 10);
const PG_URL = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** What a seeded database keeps for a later run (BENCH_KEEP_DB=1 writes it, BENCH_ELIG_REUSE reads it). */
interface Seed {
  persons: number;
  url: string;
  dir: string;
  keyFile: string;
  secretFile: string;
  /** Cards of registered persons the load draws from. */
  sample: { p: Card; id: string }[];
}
const SEED_FILE = path.join(ROOT, 'bench', 'results', 'eligibility-seed.json');

async function seed(log: (s: string) => void): Promise<Seed & { drop: () => Promise<void> }> {
  const dir = tempDataDir();
  const auth = await benchAuth(dir);
  const db = await freshPgDatabase(PG_URL);
  try {
    return await seedInto(db, dir, auth, log);
  } catch (e) {
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function seedInto(
  db: { url: string; drop: () => Promise<void> },
  dir: string,
  auth: { keyFile: string; secretFile: string },
  log: (s: string) => void,
): Promise<Seed & { drop: () => Promise<void> }> {
  const env = { ...process.env, ...serverEnv(db.url, dir, auth) };
  const population = await importPopulation({ persons: PERSONS, seed: 23, dir, env, databaseUrl: db.url }, log);
  const registered = registeredPeople(population);
  const t0 = performance.now();
  const n = await seedCoverages(db.url, dir, auth, registered);
  log(`coverages: ${n} (${(n / registered.length).toFixed(2)} per person) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const step = Math.max(1, Math.floor(registered.length / 50_000));
  const sample = registered
    .filter((_v, i) => i % step === 0)
    .map(({ p, id }) => ({ p: { birthDate: p.birthDate, insurer: p.insurer, symbol: p.symbol, number: p.number, branch: p.branch }, id }));
  return { persons: PERSONS, url: db.url, dir, keyFile: auth.keyFile, secretFile: auth.secretFile, sample, drop: db.drop };
}

async function main(): Promise<void> {
  const reuse = process.env['BENCH_ELIG_REUSE'];
  const reused = reuse ? (JSON.parse(fs.readFileSync(reuse, 'utf8')) as Seed) : undefined;
  const { lines, log } = benchLog(`medid eligibility benchmark: ${reused?.persons ?? PERSONS} persons`);
  const keep = process.env['BENCH_KEEP_DB'] === '1' || reuse !== undefined;
  const s: Seed & { drop?: () => Promise<void> } = reused ?? (await seed(log));
  if (reuse) log(`reusing ${s.url} (${s.sample.length} sampled cards)`);
  try {
    if (s.sample.length === 0) throw new Error('no registered person to draw cards from');
    const server = await startServer(serverEnv(s.url, s.dir, s));
    try {
      const token = await tokenFromKeyFile(
        s.keyFile,
        server.base,
        { id: 'hospital', name: 'bench hospital', org: { kind: 'medical-institution', code: HOSPITAL } },
        'system/CoverageEligibilityRequest.c system/Patient.r',
      );
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };
      const pick = (i: number) => s.sample[(i * 7919) % s.sample.length];
      const load = { url: server.base, connections: 16, duration: DURATION, headers };
      await medianLoad(
        {
          ...load,
          title: 'eligibility $submit',
          setup: (i) => ({
            method: 'POST',
            path: '/fhir/CoverageEligibilityRequest/$submit',
            body: JSON.stringify(request(pick(i).p, '2026-11-30')),
          }),
        },
        server.pid,
        log,
      );
      await medianLoad(
        { ...load, title: 'record locations', setup: (i) => ({ method: 'GET', path: `/fhir/Patient/${pick(i).id}/$record-locations` }) },
        server.pid,
        log,
      );
    } finally {
      await server.stop();
    }
  } finally {
    if (keep) {
      // The database, keys and sample stay for another load run: BENCH_ELIG_REUSE=<seed file>.
      fs.mkdirSync(path.dirname(SEED_FILE), { recursive: true });
      if (!reuse)
        fs.writeFileSync(
          SEED_FILE,
          JSON.stringify({ persons: s.persons, url: s.url, dir: s.dir, keyFile: s.keyFile, secretFile: s.secretFile, sample: s.sample }),
        );
      log(`kept ${s.url}; reuse with BENCH_ELIG_REUSE=${SEED_FILE}`);
    } else {
      await s.drop?.();
      fs.rmSync(s.dir, { recursive: true, force: true });
    }
  }
  writeResults(keep && reuse ? 'eligibility-reuse' : 'eligibility', lines);
}

await main();
