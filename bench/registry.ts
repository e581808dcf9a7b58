/**
 * Registry benchmark (`npm run bench:registry`): imports BENCH_PERSONS seeded synthetic persons
 * (bench/registry-data.ts) with `medid import` straight into a fresh PostgreSQL database,
 * reporting records/s and the importer's peak RSS; then starts the server on that database
 * and looks persons up by a random insured member id at concurrency 16 (p50/p99, server RSS).
 * BENCH_PGLITE_PERSONS (default 5000) are imported into embedded PGlite for its rate.
 * Then the review rule (issue 18 item 5) on the `$match` population of BENCH_REVIEW_PERSONS
 * (default BENCH_PERSONS; 0 skips it): review rate and false merges on a fresh load and on a
 * re-load with typos, by threshold (bench/registry-review.ts). BENCH_PERSONS=0 runs only that.
 *
 *   BENCH_PERSONS=1000000 npm run bench:registry
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ID_SYSTEMS } from '../src/core/systems.ts';
import { benchAuth, benchLog, freshPgDatabase, ROOT, rssMb, runLoad, startServer, tempDataDir, writeResults } from './lib.ts';
import { syntheticPerson } from './registry-data.ts';
import { evaluateReviews } from './registry-review.ts';

const PERSONS = Number(process.env['BENCH_PERSONS'] ?? 100_000);
const PGLITE_PERSONS = Number(process.env['BENCH_PGLITE_PERSONS'] ?? 5000);
const REVIEW_PERSONS = Number(process.env['BENCH_REVIEW_PERSONS'] ?? PERSONS);
const DURATION = Number(process.env['BENCH_DURATION'] ?? 10);
const PG_URL = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function writePersons(file: string, n: number): void {
  const fd = fs.openSync(file, 'w');
  let buf: string[] = [];
  for (let i = 0; i < n; i++) {
    buf.push(JSON.stringify(syntheticPerson(i)));
    if (buf.length === 10_000) {
      fs.writeSync(fd, `${buf.join('\n')}\n`);
      buf = [];
    }
  }
  if (buf.length) fs.writeSync(fd, `${buf.join('\n')}\n`);
  fs.closeSync(fd);
}

async function runImport(
  file: string,
  env: Record<string, string>,
): Promise<{ summary: Record<string, unknown>; peakRssMb: number; seconds: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, ['src/cli/main.ts', 'import', file, '--quiet', '--concurrency', '4'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb(child.pid as number).now);
  }, 500);
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  clearInterval(timer);
  return {
    summary: JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>,
    peakRssMb: peak,
    seconds: (performance.now() - started) / 1000,
  };
}

async function main(): Promise<void> {
  const dir = tempDataDir();
  const auth = await benchAuth(dir);
  const { lines, log } = benchLog(`medid registry benchmark: ${PERSONS} persons`);
  if (PERSONS > 0) await throughput(dir, auth, log);
  if (REVIEW_PERSONS > 0) {
    const db = await freshPgDatabase(PG_URL);
    try {
      const env = {
        ...process.env,
        DATABASE_URL: db.url,
        MEDID_DATA_DIR: dir,
        MEDID_SECRET_FILE: auth.secretFile,
        MEDID_SIGNING_KEY_FILE: auth.keyFile,
      };
      await evaluateReviews({ persons: REVIEW_PERSONS, dir, env, databaseUrl: db.url }, log);
    } finally {
      await db.drop();
    }
  }
  writeResults('registry', lines);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Records/s of `medid import` on PostgreSQL and PGlite, the idempotent re-import, and lookups. */
async function throughput(dir: string, auth: Awaited<ReturnType<typeof benchAuth>>, log: (s: string) => void): Promise<void> {
  const file = path.join(dir, 'persons.ndjson');
  writePersons(file, PERSONS);
  const db = await freshPgDatabase(PG_URL);
  try {
    const env = { DATABASE_URL: db.url, MEDID_DATA_DIR: dir, MEDID_SECRET_FILE: auth.secretFile, MEDID_SIGNING_KEY_FILE: auth.keyFile };
    const first = await runImport(file, env);
    log(`pg import: ${JSON.stringify(first.summary)} importer peak RSS ${first.peakRssMb} MB`);
    const again = await runImport(file, env);
    log(`pg re-import (idempotent): ${JSON.stringify(again.summary)}`);
    const server = await startServer(env);
    try {
      const token = await auth.token(server.base);
      let i = 0;
      const r = await runLoad(
        {
          title: 'lookup',
          url: server.base,
          connections: 16,
          duration: DURATION,
          headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' },
          setup: (req) => {
            const p = syntheticPerson((i++ * 7919) % PERSONS);
            const id = `${p['insurer_number'] ?? ''}:${p['symbol'] ?? ''}:${p['number'] ?? ''}:${p['branch'] ?? ''}`;
            return { ...req, method: 'GET', path: `/fhir/Patient?identifier=${encodeURIComponent(`${ID_SYSTEMS.insuredMemberId}|${id}`)}` };
          },
        },
        server.pid,
      );
      log(
        `pg lookup by insured member id at ${PERSONS} persons, c=16: ${Math.round(r.reqPerSec)} req/s p50 ${r.p50} ms p99 ${r.p99} ms server RSS ${r.maxRssMb} MB (errors ${r.errors}, non-2xx ${r.non2xx})`,
      );
    } finally {
      await server.stop();
    }
  } finally {
    await db.drop();
  }
  const small = path.join(dir, 'persons-small.ndjson');
  writePersons(small, PGLITE_PERSONS);
  const pgliteDir = path.join(dir, 'pglite');
  const lite = await runImport(small, {
    MEDID_DATA_DIR: pgliteDir,
    MEDID_SECRET_FILE: auth.secretFile,
    MEDID_SIGNING_KEY_FILE: auth.keyFile,
    DATABASE_URL: '',
  });
  log(`pglite import: ${JSON.stringify(lite.summary)} importer peak RSS ${lite.peakRssMb} MB`);
}

await main();
