/**
 * Benchmark plumbing: the server under test runs as its own process (started like
 * `npm start`), autocannon generates load from this process, and the server's memory is read
 * from /proc while the load runs.
 */
import type { OrgKind } from '../src/core/principal.ts';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { freePort } from '../test/helpers/free-port.ts';

export const ROOT = path.resolve(import.meta.dirname, '..');

export type Driver = 'pg' | 'pglite';

export interface ServerUnderTest {
  base: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** A fresh PostgreSQL database for one benchmark run; dropped by the returned function. */
export async function freshPgDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `medid_bench_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const a = new pg.Client({ connectionString: adminUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

/** `npm start`'s command line: the environment it sets (`NAME=value` before `node`) and Node's flags. */
function startScript(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  return (pkg.scripts['start'] ?? '').split(' ').filter(Boolean);
}

/** The Node flags of `npm start`, so the benchmark runs the server exactly as users do. */
export function startFlags(): string[] {
  if (process.env['BENCH_NODE_FLAGS'] !== undefined) return process.env['BENCH_NODE_FLAGS'].split(' ').filter(Boolean);
  return startScript().filter((a) => a.startsWith('--'));
}

/** The environment `npm start` sets (MALLOC_ARENA_MAX), unless the caller's environment sets it already. */
export function startEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const a of startScript()) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(a);
    if (!m) break;
    const [, name = '', value = ''] = m;
    // `NAME=${NAME:-default}`: the caller's own value wins, as in the shell.
    if (process.env[name] === undefined) env[name] = /^\$\{[A-Z_][A-Z0-9_]*:-(.*)\}$/.exec(value)?.[1] ?? value;
  }
  return env;
}

export async function analyze(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('ANALYZE');
  await c.end();
}

export interface BenchAuth {
  keyFile: string;
  /** The registry secret, shared by servers on one database. */
  secretFile: string;
  /** A system/*.cruds token valid for an hour, for autocannon's Authorization header. */
  token: (base: string) => Promise<string>;
}

/** A signing key for the server under test, generated now (never committed), and tokens from it. */
export async function benchAuth(dir: string): Promise<BenchAuth> {
  const { generateSigningJwks, serverKeysFromJwks } = await import('../src/auth/keys.ts');
  const { AccessTokens } = await import('../src/auth/access-token.ts');
  const { authEndpoints } = await import('../src/auth/smart-configuration.ts');
  const jwks = await generateSigningJwks();
  const keyFile = path.join(dir, 'bench-signing-jwks.json');
  fs.writeFileSync(keyFile, JSON.stringify(jwks), { mode: 0o600 });
  const keys = await serverKeysFromJwks(jwks);
  const secretFile = path.join(dir, 'bench-registry-secret');
  fs.writeFileSync(secretFile, (await import('node:crypto')).randomBytes(32).toString('base64'), { mode: 0o600 });
  return {
    keyFile,
    secretFile,
    token: async (base) => {
      const t = new AccessTokens({ keys, issuer: authEndpoints(base).issuer, audience: base, isResourceType: () => true });
      return (await t.issue('bench', 'benchmark client', { kind: 'authority', code: 'bench' }, 'system/*.cruds', 3600)).accessToken;
    },
  };
}

/** The environment a server (or `medid` command) under test runs with on a benchmark database. */
export function serverEnv(url: string, dir: string, auth: Pick<BenchAuth, 'keyFile' | 'secretFile'>): Record<string, string> {
  return { DATABASE_URL: url, MEDID_DATA_DIR: dir, MEDID_SECRET_FILE: auth.secretFile, MEDID_SIGNING_KEY_FILE: auth.keyFile };
}

/** An hour-long access token for `base`, signed with the key in `keyFile`, for a client acting for `org`. */
export async function tokenFromKeyFile(
  keyFile: string,
  base: string,
  client: {
    id: string;
    name: string;
    org: { kind: OrgKind; code: string };
  },
  scope: string,
): Promise<string> {
  const { serverKeysFromJwks } = await import('../src/auth/keys.ts');
  const { AccessTokens } = await import('../src/auth/access-token.ts');
  const { authEndpoints } = await import('../src/auth/smart-configuration.ts');
  const keys = await serverKeysFromJwks(JSON.parse(fs.readFileSync(keyFile, 'utf8')) as never);
  const tokens = new AccessTokens({ keys, issuer: authEndpoints(base).issuer, audience: base, isResourceType: () => true });
  return (await tokens.issue(client.id, client.name, client.org, scope, 3600)).accessToken;
}

/** Starts `src/main.ts` of the checkout at `root` (this one unless told) as `npm start` would. */
export async function startServer(env: Record<string, string>, root = ROOT): Promise<ServerUnderTest> {
  const port = await freePort();
  const child = spawn(process.execPath, [...startFlags(), 'src/main.ts'], {
    cwd: root,
    env: {
      ...startEnv(),
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      MEDID_BASE_URL: `http://127.0.0.1:${port}/fhir`,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}/fhir`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error('server exited during start-up');
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) break;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    pid: child.pid as number,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'medid-bench-'));
}

/** Resident set size of a process in MB, from /proc (VmRSS now, VmHWM the peak so far). */
export function rssMb(pid: number): { now: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { now: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** CPU time (ms, user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
}

/**
 * CPU time of every PostgreSQL process on the machine (ms): the database's share of a load,
 * read as the difference between two readings (other databases' work on the same cluster
 * counts too; the bench machine runs nothing else during a load).
 */
export function postgresCpuMs(): number {
  let total = 0;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/** USER_HZ, the unit of /proc's CPU times: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/** CPU time stolen by the hypervisor, in % of all CPU time, between two readings. */
export function stealMeter(): () => number {
  const read = (): [number, number] => {
    const f = (fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    return [f.reduce((a, b) => a + b, 0), f[7] ?? 0];
  };
  const [t0, s0] = read();
  return () => {
    const [t1, s1] = read();
    return t1 > t0 ? (100 * (s1 - s0)) / (t1 - t0) : 0;
  };
}

export interface LoadResult {
  /** Hypervisor steal during the run (%): above a few percent, the figures are depressed. */
  stealPct: number;
  reqPerSec: number;
  /**
   * CPU time the server process spent per request (ms, user + system, from /proc): far less
   * sensitive than req/s to what else the machine is doing, so the better figure for comparing
   * two builds of the server.
   */
  cpuMsPerRequest: number;
  /** CPU time of the PostgreSQL processes per request (ms): the database's share. */
  dbCpuMsPerRequest: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  maxRssMb: number;
}

export interface LoadSpec {
  title: string;
  url: string;
  headers?: Record<string, string>;
  connections: number;
  duration: number;
  method?: 'GET' | 'POST' | 'PUT';
  /** Builds each request (path and body) so every request differs. */
  setup: (req: { method: string; path: string; body?: string; headers: Record<string, string> }) => {
    method: string;
    path: string;
    body?: string;
    headers: Record<string, string>;
  };
}

/** Runs autocannon and samples the server's RSS every 200 ms while it runs. */
export async function runLoad(spec: LoadSpec, pid: number): Promise<LoadResult> {
  let maxRss = rssMb(pid).now;
  const steal = stealMeter();
  const cpu0 = cpuMs(pid);
  const db0 = postgresCpuMs();
  const timer = setInterval(() => {
    maxRss = Math.max(maxRss, rssMb(pid).now);
  }, 200);
  try {
    const result = await autocannon({
      url: spec.url,
      connections: spec.connections,
      duration: spec.duration,
      headers: spec.headers,
      requests: [{ setupRequest: spec.setup as never }],
    });
    return {
      stealPct: steal(),
      reqPerSec: result.requests.average,
      cpuMsPerRequest: (cpuMs(pid) - cpu0) / Math.max(1, result.requests.total),
      dbCpuMsPerRequest: (postgresCpuMs() - db0) / Math.max(1, result.requests.total),
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.errors,
      non2xx: result.non2xx,
      maxRssMb: maxRss,
    };
  } finally {
    clearInterval(timer);
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs the same load `runs` times (each with a fresh request counter), logs each run and the
 * median; returns the medians.
 */
export async function medianLoad(
  spec: Omit<LoadSpec, 'setup'> & { setup: (i: number) => { method: string; path: string; body?: string } },
  pid: number,
  log: (s: string) => void,
  runs = 3,
): Promise<{ rps: number; p50: number; p99: number; rss: number }> {
  const out: { rps: number; p50: number; p99: number; rss: number }[] = [];
  for (let k = 0; k < runs; k++) {
    let i = k * 100_003;
    const r = await runLoad({ ...spec, setup: (req) => ({ ...req, ...spec.setup(i++) }) }, pid);
    out.push({ rps: r.reqPerSec, p50: r.p50, p99: r.p99, rss: r.maxRssMb });
    log(
      `${spec.title} run ${k + 1}: ${Math.round(r.reqPerSec)} req/s p50 ${r.p50} ms p99 ${r.p99} ms server RSS ${Math.round(r.maxRssMb)} MB (steal ${r.stealPct.toFixed(1)} %, non-2xx ${r.non2xx})`,
    );
  }
  const m = {
    rps: median(out.map((o) => o.rps)),
    p50: median(out.map((o) => o.p50)),
    p99: median(out.map((o) => o.p99)),
    rss: Math.max(...out.map((o) => o.rss)),
  };
  log(
    `${spec.title} median of ${runs} at c=${spec.connections}: ${Math.round(m.rps)} req/s, p50 ${m.p50} ms, p99 ${m.p99} ms, server RSS ≤ ${Math.round(m.rss)} MB`,
  );
  return m;
}

/** Writes a benchmark's log lines to bench/results/<name>-<instant>.txt. */
export function writeResults(name: string, lines: readonly string[]): void {
  fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(
    path.join(ROOT, 'bench', 'results', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.txt`),
    `${lines.join('\n')}\n`,
  );
}

/** A benchmark's log: a header line naming the machine, then every line also printed. */
export function benchLog(title: string): { lines: string[]; log: (s: string) => void } {
  const lines = [
    `${title}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.split(' ').slice(0, 2).join(' ') ?? ''}), ${new Date().toISOString()}`,
  ];
  return {
    lines,
    log: (s) => {
      lines.push(s);
      process.stdout.write(`${s}\n`);
    },
  };
}
