/**
 * The access log at scale (`npm run bench:log-verify`, issue 17): BENCH_ENTRIES audit events
 * (1,000,000 unless told) appended to a fresh PostgreSQL database through the real appender
 * (audit/access-log.ts) in the audit writer's batches — reads, searches with and without a person,
 * vreads, token requests, refusals; a few in a hundred written inside transactions and drained
 * from the queue, as writes are; a signed head every 20 batches — then `npx medid log verify`
 * run on it as an operator would, BENCH_VERIFY_RUNS times (3). Reported: entries appended per
 * second, and each verify's wall time (median).
 *
 *   npm run bench:log-verify
 *   BENCH_ENTRIES=100000 BENCH_BATCH=200 BENCH_DB=medid_log100k npm run bench:log-verify
 *
 * The database (BENCH_DB, default medid_log1m, on BENCH_PG_URL's server) is dropped at the end.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import pg from 'pg';
import { AccessLog } from '../src/audit/access-log.ts';
import { FileLogKey } from '../src/audit/log-key.ts';
import { TreeHeads } from '../src/audit/tree-heads.ts';
import { auditPersonOf } from '../src/pseudonym/audit-person.ts';
import { FilePseudonymKeys } from '../src/pseudonym/file-keys.ts';
import { insertAuditEvents } from '../src/store/audit.ts';
import type { AuditRow } from '../src/store/audit.ts';
import { migrate } from '../src/store/migrate.ts';
import { PgDb } from '../src/store/pg.ts';
import { analyzeStale } from '../src/store/statistics.ts';
import { benchLog, median, ROOT, tempDataDir, writeResults } from './lib.ts';
import { rng } from './synthetic.ts';

const ADMIN_URL = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ENTRIES = Number(process.env['BENCH_ENTRIES'] ?? 1_000_000);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 500);
const RUNS = Number(process.env['BENCH_VERIFY_RUNS'] ?? 3);
const DB_NAME = process.env['BENCH_DB'] ?? 'medid_log1m';
const PATIENTS = 200_000;
const CLIENTS = 40;

const hex = (r: () => number, n: number): string => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');

/** One audited request's event, as the audit hook records them: mostly reads, a skewed population (some persons are read often). */
function event(r: () => number, at: number): AuditRow {
  const kind = r();
  const client = Math.floor(r() * CLIENTS);
  const patient = `p${Math.floor(r() * r() * PATIENTS)
    .toString(36)
    .padStart(4, '0')}`;
  const base = {
    recorded: new Date(Date.UTC(2026, 11, 1) + at * 20).toISOString(),
    eventType: 'rest' as const,
    subtypeIhe: null,
    outcome: 0,
    outcomeDesc: null,
    clientId: `client-${client}`,
    clientName: `Hospital ${client} 病院`,
    orgKind: 'medical-institution',
    orgCode: `13${String(10_000_000 + client * 7919).slice(-8)}`,
    purpose: r() < 0.9 ? 'TREAT' : 'HPAYMT',
    requestId: `${hex(r, 8)}-${hex(r, 4)}-${hex(r, 4)}`,
    remoteAddr: `10.${client}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`,
    tokenId: `${hex(r, 8)}-${hex(r, 4)}`,
    entityRef: null,
    query: null,
    patientId: null,
  };
  if (kind < 0.65) return { ...base, action: 'R', subtype: 'read', patientId: patient, entityRef: `Patient/${patient}` };
  if (kind < 0.7) return { ...base, action: 'R', subtype: 'vread', patientId: patient, entityRef: `Patient/${patient}/_history/2` };
  if (kind < 0.85)
    return {
      ...base,
      action: 'E',
      subtype: 'search-type',
      patientId: patient,
      query: `identifier=urn:oid:1.2.392.100495.20.3.51|${hex(r, 12)}`,
    };
  if (kind < 0.9)
    return { ...base, action: 'E', subtype: 'search-type', query: `family=${hex(r, 6)}&birthdate=19${Math.floor(r() * 90 + 10)}` };
  if (kind < 0.95)
    return {
      ...base,
      action: 'R',
      subtype: 'read',
      outcome: 4,
      outcomeDesc: 'Insufficient scope',
      patientId: patient,
      entityRef: `Patient/${patient}`,
    };
  return { ...base, eventType: 'login', action: 'E', subtype: 'login', entityRef: null, remoteAddr: base.remoteAddr };
}

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const { lines, log } = benchLog(
    `medid access log: ${ENTRIES} entries appended in batches of ${BATCH}, then \`medid log verify\` ${RUNS} times`,
  );
  const u = new URL(ADMIN_URL);
  u.pathname = `/${DB_NAME}`;
  const url = u.toString();
  await admin(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${DB_NAME}`);
  const dir = tempDataDir();
  const db = new PgDb(url, 2);
  try {
    await migrate(db);
    const keys = new FilePseudonymKeys(crypto.randomBytes(32));
    const appender = new AccessLog({ db, personOf: (patientId) => auditPersonOf(keys, patientId) });
    const heads = new TreeHeads({
      db,
      key: new FileLogKey(crypto.randomBytes(32), 'bench.example/medid-log'),
      now: () => new Date(),
      headSeconds: 3600,
      headEntries: Number.MAX_SAFE_INTEGER,
      caughtUp: () => appender.caughtUp(),
    });
    const r = rng(17); // the same log every run
    const t0 = performance.now();
    let queued = 0;
    let analyzed = t0;
    for (let n = 0, batch = 0; n < ENTRIES; n += BATCH, batch++) {
      const rows = Array.from({ length: Math.min(BATCH, ENTRIES - n) }, (_v, i) => event(r, n + i));
      // Writes audit inside their transactions: their events queue, then get places once drained (leaves follow).
      const viaQueue = rows.filter(() => r() < 0.03);
      const direct = rows.filter((row) => !viaQueue.includes(row));
      if (viaQueue.length > 0) {
        await db.tx((tx) => insertAuditEvents(tx, appender.stamped(viaQueue), [], 'pending'));
        queued += await appender.drain();
      }
      await appender.append(direct, []);
      if (batch % 20 === 19) await heads.signNow();
      // As the server does (MEDID_ANALYZE_SECONDS, 30 s): autovacuum may be off, and plans made on
      // the statistics of an empty table would scan it whole.
      if (performance.now() - analyzed > 30_000) {
        await analyzeStale(db);
        analyzed = performance.now();
      }
      if ((n + rows.length) % 100_000 < BATCH)
        log(`  ${n + rows.length} appended (${Math.round((n + rows.length) / ((performance.now() - t0) / 1000))} entries/s)`);
    }
    const head = await heads.signNow();
    const appendSeconds = (performance.now() - t0) / 1000;
    log(
      `appended ${ENTRIES} entries in ${appendSeconds.toFixed(1)} s: ${Math.round(ENTRIES / appendSeconds)} entries/s (${queued} through the queue); signed head of size ${head?.size}`,
    );
    await db.query('ANALYZE');
    const { rows: size } = await db.query<{ mb: string }>(
      `SELECT round(sum(pg_total_relation_size(c.oid)) / 1048576.0) AS mb FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'audit' AND c.relkind = 'r'`,
    );
    log(`audit schema on disk (tables and indexes): ${size[0]?.mb ?? '?'} MB`);
    await db.close();

    const times: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const v0 = performance.now();
      const res = spawnSync(process.execPath, ['bin/medid.js', 'log', 'verify', '--format', 'json'], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: url, MEDID_DATA_DIR: dir },
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      });
      const wall = (performance.now() - v0) / 1000;
      const report = JSON.parse(res.stdout || '{}') as { ok?: boolean; size?: number; seconds?: number; problemCount?: number };
      if (res.status !== 0 || !report.ok)
        throw new Error(`log verify failed (exit ${res.status}): ${res.stderr || res.stdout.slice(0, 2000)}`);
      times.push(wall);
      log(`verify run ${run}: ${wall.toFixed(1)} s wall (${report.seconds} s checking), ${report.size} leaves, OK`);
    }
    log(`medid log verify on ${ENTRIES} entries: median ${median(times).toFixed(1)} s (${times.map((t) => t.toFixed(1)).join(', ')})`);
  } finally {
    await db.close().catch(() => undefined);
    await admin(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  writeResults('log-verify', lines);
}

await main();
