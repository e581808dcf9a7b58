/**
 * PostgreSQL backup and point-in-time recovery, as the README's "Backup and restore" tells an
 * operator to do it, on a cluster of the test's own (initdb in a temporary directory, its own
 * port; the shared server is never touched): WAL archived with archive_command; medid serving
 * over HTTP and registering insurers' files (`medid import --server`); a base backup
 * (pg_basebackup) after the first file; a second file; a named restore point; a third file; then
 * the cluster gone. A new cluster from the base backup replays the archive up to the restore
 * point, and then: the persons of the first two files are there with the very medical IDs they
 * were given, the third file's are not, `medid check` finds every uniqueness rule holding, and
 * `medid log verify` passes — and bears out the log checkpoint a witness saw before the restore
 * point (signatures checked with the log's key), but not the one it saw after: recovering to an
 * earlier point rolls back the transparency log, which is exactly what witnesses are there to
 * notice (README says what that asks of an operator). The recovered database takes new writes.
 *
 * Needs PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup): without them the suite
 * says so loudly and does not run — and under CI=true it fails.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticPerson } from '../../bench/registry-data.ts';
import { PgDb } from '../../src/store/pg.ts';
import { freePort } from '../helpers/free-port.ts';
import { medid, serve } from '../helpers/medid-process.ts';
import { pgClusterUnavailable, startPgCluster } from '../helpers/pg-cluster.ts';
import type { PgCluster } from '../helpers/pg-cluster.ts';

const SUITE = 'test/e2e/backup-pitr.test.ts';
const unavailable = await pgClusterUnavailable();
if (unavailable) {
  if (process.env['CI'])
    throw new Error(`${SUITE}: no PostgreSQL cluster of its own can be started (${unavailable}); CI must install PostgreSQL`);
  console.warn(`\n*** NOT RUN ${SUITE}: no PostgreSQL cluster of its own can be started: ${unavailable} ***\n`);
}

const PER_FILE = 15;
const TARGET = 'medid-before-file-3';

/** The registry's state, read straight from a database. */
async function stateOf(url: string): Promise<{ persons: number; mids: string[]; numbers: string[]; leaves: number }> {
  const db = new PgDb(url, 1);
  try {
    const mids = await db.query<{ mid: string }>('SELECT mid FROM registry.medical_id ORDER BY mid');
    const numbers = await db.query<{ value: string }>('SELECT value FROM registry.person_identifier ORDER BY value');
    const counts = await db.query<{ persons: string; leaves: string }>(
      'SELECT (SELECT count(*) FROM registry.person) AS persons, (SELECT count(*) FROM audit.log_order) AS leaves',
    );
    return {
      persons: Number(counts.rows[0]?.persons),
      mids: mids.rows.map((r) => r.mid),
      numbers: numbers.rows.map((r) => r.value),
      leaves: Number(counts.rows[0]?.leaves),
    };
  } finally {
    await db.close();
  }
}

async function sql<R>(url: string, text: string): Promise<R[]> {
  const db = new PgDb(url, 1);
  try {
    return (await db.query<R>(text)).rows;
  } finally {
    await db.close();
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, seconds = 30): Promise<T> {
  for (let i = 0; i < seconds * 10; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(unavailable !== undefined)('PostgreSQL base backup, WAL archive and point-in-time recovery', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-pitr-'));
  const clusters: PgCluster[] = [];
  afterAll(async () => {
    for (const c of clusters) await c.destroy();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('recovers to a named restore point: data, medical IDs and the access log as they were there', async () => {
    const primary = await startPgCluster({ archive: true });
    clusters.push(primary);
    const archive = primary.archiveDir as string;
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/fhir`;
    const env = {
      DATABASE_URL: primary.url(),
      MEDID_DATA_DIR: path.join(work, 'data'), // the keys, shared by the server and the commands
      PORT: String(port),
      MEDID_BASE_URL: base,
      MEDID_LOG_HEAD_SECONDS: '1',
    };
    const files = [1, 2, 3].map((n) => {
      const file = path.join(work, `insurer-file-${n}.ndjson`);
      const lines = Array.from({ length: PER_FILE }, (_v, i) => JSON.stringify(syntheticPerson((n - 1) * PER_FILE + i, 19)));
      fs.writeFileSync(file, `${lines.join('\n')}\n`);
      return file;
    });
    /** A witness's view: the latest signed checkpoint, once it covers every leaf placed so far. */
    const witness = async (): Promise<{ text: string; size: number }> => {
      const { leaves } = await stateOf(primary.url());
      return until(`a signed head over ${leaves} leaves`, async () => {
        const r = await fetch(`${base}/_log/checkpoint`);
        const text = await r.text();
        const size = Number(text.split('\n')[1]);
        return r.ok && size >= leaves ? { text, size } : undefined;
      });
    };

    const server = await serve(env, port);
    let atTarget: Awaited<ReturnType<typeof stateOf>>;
    let before: { text: string; size: number };
    let after: { text: string; size: number };
    const backup = path.join(primary.dir, 'base-backup');
    try {
      expect(server.ready, primary.log()).toBe(true);
      const token = medid(['token', '--scope', 'system/*.cruds'], env).stdout.trim();
      const load = (file: string): void => {
        const r = medid(['import', file, '--server', base, '--token', token, '--quiet'], env);
        expect(r.status, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}')).toMatchObject({ created: PER_FILE, error: 0 });
      };
      load(files[0]);
      // The base backup, taken while medid serves (no exclusive lock, nothing stopped).
      await primary.program('pg_basebackup', [
        '-h',
        '127.0.0.1',
        '-p',
        String(primary.port),
        '-U',
        'postgres',
        '-D',
        backup,
        '-X',
        'stream',
        '-c',
        'fast',
      ]);
      load(files[1]);
      before = await witness();
      atTarget = await stateOf(primary.url());
      await sql(primary.url(), `SELECT pg_create_restore_point('${TARGET}')`);
      load(files[2]);
      after = await witness();
      expect(after.size).toBeGreaterThan(before.size);
      const key = await fetch(`${base}/_log/key`);
      expect(key.status).toBe(200);
      fs.writeFileSync(path.join(work, 'log-key.json'), await key.text());
    } finally {
      await server.stop();
    }
    fs.writeFileSync(path.join(work, 'before.checkpoint'), before.text);
    fs.writeFileSync(path.join(work, 'after.checkpoint'), after.text);
    expect(atTarget.persons).toBe(2 * PER_FILE);
    const atEnd = await stateOf(primary.url());
    expect(atEnd.persons).toBe(3 * PER_FILE);

    // Close the segment holding the restore point and everything after it, and wait for the archive to have it.
    const [{ segment }] = await sql<{ segment: string }>(primary.url(), 'SELECT pg_walfile_name(pg_switch_wal()) AS segment');
    await until(`WAL segment ${segment} archived`, () => Promise.resolve(fs.existsSync(path.join(archive, segment)) ? true : undefined));
    await primary.stop('fast');

    // A new cluster from the base backup, replaying the archive up to the restore point.
    const recovered = await startPgCluster({
      recover: {
        backup,
        conf: [
          `restore_command = 'cp ${archive}/%f %p'`,
          `recovery_target_name = '${TARGET}'`,
          `recovery_target_action = 'promote'`,
          'archive_mode = off',
        ],
      },
    });
    clusters.push(recovered);
    await until(
      'the recovered cluster to leave recovery',
      async () => (!(await sql<{ r: boolean }>(recovered.url(), 'SELECT pg_is_in_recovery() AS r'))[0]?.r ? true : undefined),
      60,
    );
    expect(recovered.log()).toContain(`recovery stopping at restore point "${TARGET}"`);

    const restored = await stateOf(recovered.url());
    expect(restored.persons).toBe(2 * PER_FILE);
    expect(restored.mids).toEqual(atTarget.mids); // the same medical IDs, none lost, none extra
    expect(restored.numbers).toEqual(atTarget.numbers);
    const third = atEnd.numbers.filter((n) => !atTarget.numbers.includes(n));
    expect(third).toHaveLength(PER_FILE);
    expect(restored.numbers.filter((n) => third.includes(n))).toEqual([]);

    const renv = { ...env, DATABASE_URL: recovered.url() };
    const check = medid(['check'], renv);
    expect(check.stdout).toContain('OK');
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const keyFile = path.join(work, 'log-key.json');
    const verified = medid(['log', 'verify', '--key', keyFile, '--checkpoint', path.join(work, 'before.checkpoint')], renv);
    expect(verified.stdout).toContain('the log extends it');
    expect(verified.stdout).toMatch(/[1-9]\d* signatures? verified with the key given/);
    expect(verified.status, verified.stdout).toBe(0);
    // The witness that saw the log after the restore point: the recovered log does not bear it out.
    const forked = medid(['log', 'verify', '--checkpoint', path.join(work, 'after.checkpoint')], renv);
    expect(forked.stdout).toContain(`checkpoint of size ${after.size} given: NOT borne out`);
    expect(forked.status).toBe(1);

    // The recovered database takes writes again: the lost file registered anew, every rule still holding.
    const redo = medid(['import', files[2], '--quiet'], renv);
    expect(redo.status, redo.stderr).toBe(0);
    const end = await stateOf(recovered.url());
    expect(end.persons).toBe(3 * PER_FILE);
    expect(new Set(end.mids).size).toBe(end.mids.length);
    const last = medid(['check'], renv);
    expect(last.status, last.stdout).toBe(0);
  }, 180_000);
});
