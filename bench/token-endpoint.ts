/**
 * Token endpoint benchmark: SMART Backend Services client_credentials with a fresh ES384
 * client assertion per request (each with its own jti, checked against the replay store),
 * at concurrency 10 and 50, on PostgreSQL and PGlite. Reports tokens/s and latency.
 *
 *   node bench/token-endpoint.ts        (BENCH_DURATION, BENCH_RUNS, BENCH_DRIVERS as in fhir-rest)
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchAuth, freshPgDatabase, median, ROOT, runLoad, startServer, tempDataDir } from './lib.ts';
import type { Driver, LoadResult } from './lib.ts';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const DURATION = Number(process.env['BENCH_DURATION'] ?? 10);
const DRIVERS = (process.env['BENCH_DRIVERS'] ?? 'pg,pglite').split(',') as Driver[];
const PG_URL = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

/** A client key pair and a synchronous assertion signer (autocannon builds requests synchronously). */
function benchClient(): { jwk: crypto.JsonWebKey; sign: (aud: string) => string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const kid = 'bench-es384';
  return {
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES384', use: 'sig' },
    sign: (aud) => {
      const now = Math.floor(Date.now() / 1000);
      const input = `${b64({ alg: 'ES384', kid, typ: 'JWT' })}.${b64({ iss: 'bench-client', sub: 'bench-client', aud, exp: now + 240, jti: crypto.randomUUID() })}`;
      const sig = crypto.sign('sha384', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
      return `${input}.${sig.toString('base64url')}`;
    },
  };
}

async function main(): Promise<void> {
  const results = new Map<string, LoadResult[]>();
  for (let run = 1; run <= RUNS; run++) {
    for (const driver of DRIVERS) {
      const pgdb = driver === 'pg' ? await freshPgDatabase(PG_URL) : undefined;
      const dataDir = tempDataDir();
      const auth = await benchAuth(dataDir);
      const client = benchClient();
      const clientsFile = path.join(dataDir, 'clients.json');
      fs.writeFileSync(
        clientsFile,
        JSON.stringify([
          {
            client_id: 'bench-client',
            name: 'Benchmark client',
            jwks: { keys: [client.jwk] },
            scope: 'system/Patient.rs',
            organization: { kind: 'medical-institution', code: '1312345678' },
          },
        ]),
      );
      const server = await startServer({
        MEDID_SIGNING_KEY_FILE: auth.keyFile,
        MEDID_CLIENTS_FILE: clientsFile,
        ...(driver === 'pg' ? { DATABASE_URL: pgdb?.url as string } : { MEDID_DATA_DIR: dataDir, DATABASE_URL: '' }),
      });
      try {
        const tokenUrl = server.base.replace(/\/fhir$/, '/oauth/token');
        for (const connections of [10, 50]) {
          const res = await runLoad(
            {
              title: 'token',
              url: server.base.replace(/\/fhir$/, ''),
              connections,
              duration: DURATION,
              setup: (req) => ({
                ...req,
                method: 'POST',
                path: '/oauth/token',
                headers: { 'content-type': 'application/x-www-form-urlencoded' },
                body: new URLSearchParams({
                  grant_type: 'client_credentials',
                  scope: 'system/Patient.rs',
                  client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
                  client_assertion: client.sign(tokenUrl),
                }).toString(),
              }),
            },
            server.pid,
          );
          const key = `${driver}|${connections}`;
          results.set(key, [...(results.get(key) ?? []), res]);
          process.stdout.write(
            `  ${driver} c=${connections} token: ${res.reqPerSec.toFixed(0)} tokens/s p50 ${res.p50} ms p99 ${res.p99} ms steal ${res.stealPct.toFixed(0)}%${res.non2xx ? ` (non-2xx ${res.non2xx})` : ''}\n`,
          );
        }
      } finally {
        await server.stop();
        await pgdb?.drop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }
  const lines = ['| database | concurrency | tokens/s | p50 ms | p99 ms | CPU steal % |', '|---|---:|---:|---:|---:|---:|'];
  for (const [key, rs] of results) {
    const [driver, conc] = key.split('|');
    lines.push(
      `| ${driver === 'pg' ? 'PostgreSQL' : 'PGlite'} | ${conc} | ${median(rs.map((r) => r.reqPerSec)).toFixed(0)} | ${median(rs.map((r) => r.p50)).toFixed(0)} | ${median(rs.map((r) => r.p99)).toFixed(0)} | ${median(rs.map((r) => r.stealPct)).toFixed(0)} |`,
    );
  }
  const out = `token endpoint ${new Date().toISOString()} — ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}; median of ${RUNS} run(s) × ${DURATION} s; ES384 assertions signed by the load generator\n\n${lines.join('\n')}\n`;
  process.stdout.write(`\n${out}`);
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `token-endpoint-${new Date().toISOString().replace(/[:.]/g, '-')}.md`), out);
}

await main();
