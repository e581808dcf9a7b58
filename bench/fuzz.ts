/**
 * Fuzz benchmark (`npm run bench:fuzz`): the server runs as its own process, started as
 * `npm start` starts it, on a fresh database, and receives fuzzed requests — the generators of
 * the property test (test/helpers/fuzz-requests.ts): odd paths, garbage search parameters, odd
 * headers, mutated corpus resources, broken Bundles and Parameters, non-JSON, XML — at a
 * concurrency of 8. The server's RSS is read from /proc every 250 ms.
 *
 * Reported: requests, counts by status class and status, the 5xx (with the first requests that
 * caused them and the server's log lines for them), max and p99 latency, the slowest requests,
 * max RSS, and refusals against audit rows: every authenticated refusal the router's audit hook
 * records (api/audit-hook.ts) must have an AuditEvent with its X-Request-Id; the refusals the
 * model says are not audited (edge refusals, no route, not on a patient's record) are counted by
 * where they were refused. Results go to bench/results/fuzz-<instant>.txt.
 *
 * Exits non-zero if any response is a 500 (or any 5xx but 503), any is slower than 5 s, the
 * server's RSS exceeds 250 MB, a request gets no complete response, a response fails the body
 * checks, or an audited refusal has no AuditEvent.
 *
 *   npm run bench:fuzz                                  # 100,000 requests on PGlite
 *   npm run bench:fuzz -- --db both                     # and 100,000 on PostgreSQL
 *   npm run bench:fuzz -- --requests 5000 --seed 7      # a quick run
 *   npm run bench:fuzz -- --db pg --pg-url postgres://postgres@127.0.0.1:5432/postgres
 *
 * On PostgreSQL it creates its own database (on --pg-url, else BENCH_PG_URL, else DATABASE_URL,
 * else postgres://postgres@127.0.0.1:5432/postgres) and drops it after; it never stops the server.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import type { Resource } from '@medplum/fhirtypes';
import fc from 'fast-check';
import pg from 'pg';
import type { HttpMethod } from '../src/api/request.ts';
import { PatientCompartment } from '../src/fhir/compartment.ts';
import { corpusExamples } from '../test/helpers/corpus.ts';
import {
  checkResponse,
  describe,
  EDGE_STATUSES,
  fuzzExamples,
  fuzzRequestArb,
  MAX_RESPONSE_MS,
  predictStage,
  seedServer,
  sendFuzz,
  tokenPurposeOf,
} from '../test/helpers/fuzz-requests.ts';
import type { FuzzRequest, ServerModel, Stage } from '../test/helpers/fuzz-requests.ts';
import { benchAuth, benchLog, freshPgDatabase, ROOT, rssMb, startEnv, startFlags, tempDataDir, writeResults } from './lib.ts';
import type { Driver } from './lib.ts';
import { freePort } from '../test/helpers/free-port.ts';
import { FilePseudonymKeys } from '../src/pseudonym/file-keys.ts';

const MAX_RSS_MB = 250;

interface Options {
  requests: number;
  drivers: Driver[];
  pgUrl: string;
  seed: number;
  concurrency: number;
  /** A failures file of an earlier run: send those requests one by one instead of fuzzing. */
  replay?: string;
}

function usage(msg: string): never {
  process.stderr.write(
    `${msg}\nusage: npm run bench:fuzz -- [--requests N] [--db pglite|pg|both] [--pg] [--pg-url URL] [--seed N] [--concurrency N] [--replay FILE]\n`,
  );
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Options {
  const num = (v: string | undefined, name: string): number => {
    const n = Number((v ?? '').replace(/[_,]/g, ''));
    if (!Number.isInteger(n) || n <= 0) usage(`${name} needs a positive integer`);
    return n;
  };
  const o: Options = {
    requests: 100_000,
    drivers: process.env['DATABASE_URL'] ? ['pg'] : ['pglite'],
    pgUrl: process.env['BENCH_PG_URL'] ?? process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    seed: Number(process.env['FUZZ_SEED'] ?? 20261201),
    concurrency: 8,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string | undefined => argv[++i];
    if (a === '--requests') o.requests = num(next(), a);
    else if (a === '--seed') o.seed = num(next(), a);
    else if (a === '--concurrency') o.concurrency = num(next(), a);
    else if (a === '--pg') o.drivers = ['pg'];
    else if (a === '--replay') o.replay = next() ?? usage('--replay needs a file');
    else if (a === '--pg-url') o.pgUrl = next() ?? usage('--pg-url needs a URL');
    else if (a === '--db') {
      const v = next();
      if (v === 'both') o.drivers = ['pglite', 'pg'];
      else if (v === 'pg' || v === 'pglite') o.drivers = [v];
      else usage('--db is pglite, pg or both');
    } else usage(`unknown argument ${a}`);
  }
  return o;
}

// --- The server under test, with its log read line by line -------------------------------------

interface Server {
  root: string;
  base: string;
  pid: number;
  /** The server's log lines at warn and above, by request id (a few per id). */
  logs: Map<string, string[]>;
  /** Log lines at warn and above without a request id. */
  otherLogs: string[];
  stop(): Promise<void>;
}

async function startServer(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const root = `http://127.0.0.1:${port}`;
  const base = `${root}/fhir`;
  const child = spawn(process.execPath, [...startFlags(), 'src/main.ts'], {
    cwd: ROOT,
    env: { ...startEnv(), ...process.env, PORT: String(port), HOST: '127.0.0.1', MEDID_BASE_URL: base, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = new Map<string, string[]>();
  const otherLogs: string[] = [];
  const take = (line: string): void => {
    let id: string | undefined;
    try {
      const v = JSON.parse(line) as { requestId?: unknown; level?: unknown };
      if (typeof v.level === 'number' && v.level < 40) return;
      id = typeof v.requestId === 'string' ? v.requestId : undefined;
    } catch {
      // not a JSON log line (a crash's stack trace, say): keep it
    }
    if (id === undefined) {
      if (otherLogs.length < 200) otherLogs.push(line.slice(0, 2000));
      return;
    }
    const xs = logs.get(id) ?? [];
    if (xs.length < 3) xs.push(line.slice(0, 2000));
    logs.set(id, xs);
  };
  readline.createInterface({ input: child.stdout }).on('line', take);
  readline.createInterface({ input: child.stderr }).on('line', take);
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`server exited during start-up:\n${otherLogs.join('\n')}`);
    if (i > 1200) throw new Error('server did not become ready within 120 s');
    try {
      if ((await fetch(`${root}/readyz`)).ok) break;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    root,
    base,
    pid: child.pid as number,
    logs,
    otherLogs,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

// --- The model of the server's routes (for "which refusals are audited") -------------------------

/** The server's own route table, built in this process over a database that is never asked anything. */
async function routeModel(): Promise<{ match: ServerModel['match']; toXml: (r: unknown) => string | undefined }> {
  const { createApp } = await import('../src/app.ts');
  const { generateSigningJwks, serverKeysFromJwks } = await import('../src/auth/keys.ts');
  const { loadDefinitions } = await import('../src/fhir/definitions/index.ts');
  const { createLogger } = await import('../src/core/logger.ts');
  const { resourceToFhirXml } = await import('../src/fhir/xml/write.ts');
  const defs = await loadDefinitions(path.join(ROOT, 'profiles'));
  const refuse = (): never => {
    throw new Error('the route model has no database');
  };
  const db = {
    driver: 'pglite' as const,
    query: refuse,
    tx: refuse,
    exec: refuse,
    noteWrites: () => undefined,
    close: () => Promise.resolve(),
  };
  const app = createApp({
    config: { baseUrl: 'http://127.0.0.1/fhir', audit: true },
    db,
    defs,
    logger: createLogger('silent'),
    keys: await serverKeysFromJwks(await generateSigningJwks()),
    registrySecret: crypto.randomBytes(32),
    pseudonymKeys: new FilePseudonymKeys(crypto.randomBytes(32)),
  });
  return {
    match: (method, p) => {
      const m = app.router.match(method as HttpMethod, p);
      return m.route ? { route: m.route, params: m.params } : {};
    },
    toXml: (r) => resourceToFhirXml(r),
  };
}

// --- Replaying the failures of an earlier run ---------------------------------------------------

async function replayRequests(srv: Server, token: string, m: ServerModel, file: string, log: (s: string) => void): Promise<boolean> {
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as (FuzzRequest & { requestId: string; problem: string })[];
  const agent = new http.Agent({ keepAlive: false });
  let ok = true;
  for (const [i, r] of saved.entries()) {
    const requestId = `replay-${i}`;
    const res = await sendFuzz(srv.root, r, token, requestId, agent);
    const problems = checkResponse(r, res, predictStage(r, m));
    ok &&= problems.length === 0;
    log(
      `${requestId} (was ${r.requestId}: ${r.problem}) → ${res.status} in ${res.ms.toFixed(0)} ms${problems.length > 0 ? `: ${problems.join('; ')}` : ''}`,
    );
    log(`  request: ${describe(r, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const l of srv.logs.get(requestId) ?? []) log(`  server log: ${l}`);
  }
  agent.destroy();
  return ok;
}

// --- One run -------------------------------------------------------------------------------------

interface Failure {
  requestId: string;
  problem: string;
  request: string;
  response: string;
  /** The whole request, for the replay file. */
  raw?: FuzzRequest;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function auditedRequests(driver: Driver, url: string | undefined, dataDir: string): Promise<Map<string, Set<number>>> {
  const sql = `SELECT request_id, outcome FROM audit.event WHERE request_id LIKE 'fz-%' GROUP BY request_id, outcome`;
  let rows: { request_id: string; outcome: number }[];
  if (driver === 'pg') {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    rows = (await c.query<{ request_id: string; outcome: number }>(sql)).rows;
    await c.end();
  } else {
    const { PgliteDb } = await import('../src/store/pglite.ts');
    const db = await PgliteDb.open(path.join(dataDir, 'pglite'));
    rows = (await db.query<{ request_id: string; outcome: number }>(sql)).rows;
    await db.close();
  }
  const out = new Map<string, Set<number>>();
  for (const r of rows) out.set(r.request_id, (out.get(r.request_id) ?? new Set()).add(r.outcome));
  return out;
}

async function run(
  driver: Driver,
  o: Options,
  examples: readonly Resource[],
  model: Awaited<ReturnType<typeof routeModel>>,
  log: (s: string) => void,
): Promise<boolean> {
  const dataDir = tempDataDir();
  const pgdb = driver === 'pg' ? await freshPgDatabase(o.pgUrl) : undefined;
  const auth = await benchAuth(dataDir);
  const env = {
    MEDID_SIGNING_KEY_FILE: auth.keyFile,
    MEDID_SECRET_FILE: auth.secretFile,
    MEDID_DATA_DIR: dataDir,
    DATABASE_URL: pgdb?.url ?? '',
  };
  let server: Server | undefined;
  try {
    server = await startServer(env);
    const srv = server;
    const rssAtStart = rssMb(srv.pid).now;
    const token = await auth.token(srv.base);
    const ids = await seedServer(srv.base, token, examples);
    const seeded = Object.entries(ids)
      .map(([t, xs]) => `${t} ${xs.length}`)
      .join(', ');
    log(
      `${driver}: server pid ${srv.pid}, RSS ${Math.round(rssAtStart)} MB when ready, ${Math.round(rssMb(srv.pid).now)} MB after seeding ${seeded}`,
    );
    const compartment = new PatientCompartment();
    const m: ServerModel = {
      match: model.match,
      inCompartment: (t) => compartment.has(t),
      tokenPurpose: tokenPurposeOf(token, ''),
      mountPath: '/fhir',
    };
    if (o.replay) return await replayRequests(srv, token, m, o.replay, log);
    const arb = fuzzRequestArb({ examples, ids }, model.toXml);

    // RSS every 250 ms.
    let maxRss = rssMb(srv.pid).now;
    let lastRss = maxRss;
    const sampler = setInterval(() => {
      try {
        lastRss = rssMb(srv.pid).now;
        maxRss = Math.max(maxRss, lastRss);
      } catch {
        // the process is gone: the requests will say so
      }
    }, 250);

    const latencies = new Float64Array(o.requests);
    const byStatus = new Map<number, number>();
    const byStage = new Map<string, number>();
    const failures = new Map<string, Failure[]>();
    const failureCounts = new Map<string, number>();
    const slowest: { ms: number; requestId: string; request: string; status: number }[] = [];
    /** Authenticated refusals the audit hook records: request id → the outcome wanted (4 or 8), and the request. */
    const wantAudit = new Map<string, { outcome: number; status: number; request: string; raw?: FuzzRequest }>();
    let done = 0;
    const fail = (kind: string, f: Failure): void => {
      failureCounts.set(kind, (failureCounts.get(kind) ?? 0) + 1);
      const xs = failures.get(kind) ?? [];
      if (xs.length < 20) xs.push(f);
      failures.set(kind, xs);
    };

    // Requests are generated in chunks, each from its own seed (seed + chunk index): any request
    // can be regenerated from the seed and its number.
    const CHUNK = 250;
    let queue: FuzzRequest[] = [];
    let chunk = 0;
    let next = 0;
    const take = (): { r: FuzzRequest; n: number } | undefined => {
      if (next >= o.requests) return undefined;
      if (queue.length === 0) queue = fc.sample(arb, { seed: o.seed + chunk++, numRuns: CHUNK });
      const r = queue.shift() as FuzzRequest;
      return { r, n: next++ };
    };
    const t0 = performance.now();
    let lastReport = t0;
    const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
    const worker = async (): Promise<void> => {
      for (let job = take(); job; job = take()) {
        const { r, n } = job;
        const requestId = `fz-${o.seed}-${n}`;
        const res = await sendFuzz(srv.root, r, token, requestId, agent);
        const stage: Stage = predictStage(r, m);
        latencies[n] = res.ms;
        byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
        const key = `${stage} → ${res.error ? 'no response' : `${Math.floor(res.status / 100)}xx`}`;
        byStage.set(key, (byStage.get(key) ?? 0) + 1);
        const short = (): Failure => ({
          requestId,
          problem: '',
          request: describe(r, 600),
          response: `${res.status} ${res.body.toString('utf8').slice(0, 300)}`,
          raw: r,
        });
        for (const p of checkResponse(r, res, stage)) {
          const kind = p.startsWith('slow') ? 'slow (> 5 s)' : p.startsWith('status 5') ? p : p.replace(/: .*/, '');
          fail(kind, { ...short(), problem: p });
        }
        const expected = EDGE_STATUSES[stage];
        if (!res.error && expected && !expected.includes(res.status) && res.status !== 503) {
          fail(`model: ${stage} answered ${res.status}`, { ...short(), problem: `expected ${expected.join('/')}` });
        }
        if (stage === 'audited-route' && res.status >= 400 && res.status !== 503) {
          // Kept short: the whole request only when its body is small.
          wantAudit.set(requestId, {
            outcome: res.status >= 500 ? 8 : 4,
            status: res.status,
            request: describe(r, 300),
            ...((r.body?.length ?? 0) < 20_000 ? { raw: r } : {}),
          });
        }
        if (slowest.length < 5 || res.ms > (slowest[slowest.length - 1]?.ms ?? 0)) {
          slowest.push({ ms: res.ms, requestId, request: describe(r, 200), status: res.status });
          slowest.sort((a, b) => b.ms - a.ms);
          slowest.length = Math.min(slowest.length, 5);
        }
        done++;
        const now = performance.now();
        if (now - lastReport > 15_000) {
          lastReport = now;
          log(
            `  ${driver}: ${done} requests, ${Math.round((done * 1000) / (now - t0))} req/s, RSS ${Math.round(lastRss)} MB (max ${Math.round(maxRss)} MB)`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, () => worker()));
    const seconds = (performance.now() - t0) / 1000;
    agent.destroy();
    clearInterval(sampler);
    try {
      maxRss = Math.max(maxRss, rssMb(srv.pid).now);
    } catch {
      // gone
    }
    await srv.stop();
    server = undefined;

    // Refusals against audit rows.
    const audited = await auditedRequests(driver, pgdb?.url, dataDir);
    let missing = 0;
    for (const [rid, w] of wantAudit) {
      if (!audited.get(rid)?.has(w.outcome)) {
        missing++;
        fail('refusal not audited', {
          requestId: rid,
          problem: `answered ${w.status}, but no AuditEvent with outcome ${w.outcome} (outcomes recorded: ${[...(audited.get(rid) ?? [])].join(', ') || 'none'})`,
          request: w.request,
          response: '',
          ...(w.raw ? { raw: w.raw } : {}),
        });
      }
    }
    const failedRows = [...audited.values()].filter((s) => s.has(4) || s.has(8)).length;

    // Report.
    const sorted = Float64Array.from(latencies.subarray(0, done)).sort();
    const classes = new Map<string, number>();
    for (const [s, n] of byStatus) {
      const c = s <= 0 ? 'no response' : `${Math.floor(s / 100)}xx`;
      classes.set(c, (classes.get(c) ?? 0) + n);
    }
    const fmt = (mp: Map<string | number, number>): string =>
      [...mp.entries()]
        .sort(([a], [b]) => String(a).localeCompare(String(b)))
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ');
    const fivexx = [...byStatus.entries()].filter(([s]) => s >= 500).reduce((a, [, n]) => a + n, 0);
    const five00 = byStatus.get(500) ?? 0;
    const maxMs = sorted[sorted.length - 1] ?? 0;
    log(
      `${driver}: ${done} requests in ${seconds.toFixed(0)} s (${Math.round(done / seconds)} req/s) at c=${o.concurrency}, seed ${o.seed}`,
    );
    log(`  by class: ${fmt(classes)}`);
    log(`  by status: ${fmt(byStatus)}`);
    log(`  500s: ${five00}; other 5xx: ${fivexx - five00 - (byStatus.get(503) ?? 0)}; 503: ${byStatus.get(503) ?? 0}`);
    log(`  latency: p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${maxMs.toFixed(0)} ms`);
    log(`  server RSS: max ${Math.round(maxRss)} MB (limit ${MAX_RSS_MB} MB)`);
    log(
      `  refusals the audit hook records: ${wantAudit.size}; with their AuditEvent: ${wantAudit.size - missing}; missing: ${missing} (requests with a failure AuditEvent: ${failedRows})`,
    );
    log(`  where requests were decided (model stage → class):`);
    for (const [k, v] of [...byStage.entries()].sort(([a], [b]) => a.localeCompare(b))) log(`    ${k}: ${v}`);
    log(`  slowest:`);
    for (const s of slowest) log(`    ${s.ms.toFixed(0)} ms → ${s.status} ${s.requestId}: ${s.request}`);
    if (failures.size === 0) log('  failures: none');
    const replay: (FuzzRequest & { requestId: string; problem: string; log: string[] })[] = [];
    for (const [kind, xs] of failures) {
      log(`  FAILURE ${kind}: ${failureCounts.get(kind) ?? 0} request(s); first ${Math.min(5, xs.length)}:`);
      for (const f of xs)
        if (f.raw) replay.push({ ...f.raw, requestId: f.requestId, problem: f.problem, log: srv.logs.get(f.requestId) ?? [] });
      for (const f of xs.slice(0, 5)) {
        log(`    ${f.requestId}: ${f.problem}`);
        log(`      request: ${f.request}`);
        if (f.response) log(`      response: ${f.response}`);
        for (const l of srv.logs.get(f.requestId) ?? []) log(`      server log: ${l}`);
      }
    }
    if (srv.otherLogs.length > 0) {
      log(`  server log lines at warn or above without a request id (${srv.otherLogs.length}, first 10):`);
      for (const l of srv.otherLogs.slice(0, 10)) log(`    ${l}`);
    }
    if (replay.length > 0) {
      const file = path.join(ROOT, 'bench', 'results', `fuzz-failures-${driver}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify(replay, null, 1));
      log(`  the failing requests, whole (up to 20 of each kind): ${path.relative(ROOT, file)} (npm run bench:fuzz -- --replay <file>)`);
    }
    const ok = failures.size === 0 && maxRss <= MAX_RSS_MB && maxMs <= MAX_RESPONSE_MS;
    log(`${driver}: ${ok ? 'PASS' : 'FAIL'}`);
    return ok;
  } finally {
    if (server) await server.stop();
    if (pgdb) await pgdb.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const { lines, log } = benchLog(`bench:fuzz, ${o.requests} requests per database, c=${o.concurrency}, seed ${o.seed}`);
  const examples = fuzzExamples(corpusExamples());
  if (examples.length === 0) {
    log('*** the shared corpus was not found (../shared/corpus, /work/shared/corpus, MEDID_CORPUS_DIR): nothing to fuzz with ***');
    process.exit(2);
  }
  const model = await routeModel();
  let ok = true;
  for (const d of o.drivers) ok = (await run(d, o, examples, model, log)) && ok;
  writeResults(o.replay ? 'fuzz-replay' : 'fuzz', lines);
  process.exit(ok ? 0 : 1);
}

await main();
