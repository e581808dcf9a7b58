/**
 * `medid import` as an insurer's operator runs it: a file with a few bad records loads the rest
 * and reports the bad ones beside the input; running it again changes nothing; an import killed
 * midway and run again ends in the same state as one that was never interrupted.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticPerson } from '../../bench/registry-data.ts';
import { openDb } from '../../src/store/open.ts';
import { openTestDb, testDrivers } from '../helpers/db.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const N = 400;

function medid(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['bin/medid.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: '', ...env },
    encoding: 'utf8',
  });
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    summary: JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, number | string | null>,
  };
}

const STATE_SQL = `SELECT
  (SELECT count(*)::int FROM registry.person) AS persons,
  (SELECT count(*)::int FROM registry.medical_id) AS mids,
  (SELECT count(*)::int FROM registry.person_identifier) AS numbers,
  (SELECT count(*)::int FROM registry.my_number) AS my_numbers,
  (SELECT count(*)::int FROM registry.review) AS reviews,
  (SELECT count(*)::int FROM fhir.resource WHERE resource_type = 'Patient') AS patients,
  (SELECT count(*)::int FROM (SELECT kid FROM registry.person_identifier GROUP BY kid HAVING count(*) > 1) x) AS multi`;

describe.each(testDrivers())('medid import on %s', (driver) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-import-'));
  const dbs: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const d of dbs) await d.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const file = path.join(dir, 'persons.ndjson');
  const lines = Array.from({ length: N }, (_v, i) => JSON.stringify(syntheticPerson(i, 11)));
  lines.splice(10, 0, JSON.stringify({ ...syntheticPerson(9999, 11), insurer_number: '88134458' }), '{not json');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  const secret = path.join(dir, 'secret');
  fs.writeFileSync(secret, Buffer.alloc(32, 7).toString('base64'));

  /** A target database for one import: PGlite in its own data dir, or a fresh PostgreSQL database. */
  const target = async (
    name: string,
  ): Promise<{ env: Record<string, string>; state: () => Promise<Record<string, unknown> | undefined> }> => {
    const dataDir = path.join(dir, name);
    if (driver === 'pglite') {
      return {
        env: { MEDID_DATA_DIR: dataDir, MEDID_SECRET_FILE: secret },
        state: async () => {
          const db = await openDb({ databaseUrl: undefined, dataDir, poolSize: 1 });
          // Killed before its migrations ran, a database has no registry yet: nothing was loaded.
          try {
            return (await db.query(STATE_SQL)).rows[0];
          } catch {
            return { persons: 0 };
          } finally {
            await db.close();
          }
        },
      };
    }
    const t = await openTestDb('pg');
    dbs.push(t);
    return {
      env: { MEDID_DATA_DIR: dataDir, MEDID_SECRET_FILE: secret, DATABASE_URL: t.url as string },
      state: async () => (await t.db.query(STATE_SQL)).rows[0],
    };
  };

  it('loads the good records, reports the bad ones beside the input, and changes nothing when run again', async () => {
    const t = await target('a');
    const first = medid(['import', file, '--batch', '50'], t.env);
    expect(first.status, first.stderr).toBe(1); // some records failed
    expect(first.summary).toMatchObject({ records: N + 2, error: 2 });
    expect(Number(first.summary['created']) + Number(first.summary['review'])).toBe(N);
    const report = fs
      .readFileSync(`${file}.errors.ndjson`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; status: string; issues: { expression: string; rule: string; text: string }[] });
    const errs = report.filter((r) => r.status === 'error');
    expect(errs.map((r) => r.line)).toEqual([11, 12]);
    expect(errs[0]?.issues[0]).toMatchObject({ expression: 'insurer_number', rule: 'insurer-number.check-digit' });
    expect(errs[1]?.issues[0]?.rule).toBe('import.syntax');
    const before = await t.state();
    const again = medid(['import', file, '--batch', '50'], t.env);
    expect(again.summary).toMatchObject({ records: N + 2, created: 0, updated: 0, error: 2 });
    expect(await t.state()).toEqual(before);
    expect(before).toMatchObject({ persons: Number(first.summary['created']), mids: Number(first.summary['created']), multi: 0 });
    expect(fs.readFileSync(`${file}.errors.ndjson`, 'utf8')).not.toContain(syntheticPerson(9999, 11)['my_number'] || 'no-my-number');
  }, 120_000); // two CLI runs, each starting embedded PostgreSQL: ~20 s idle, more on a busy machine

  it('loads directory lines (Organization, then its Endpoint) upserted by identifier, idempotently', async () => {
    const t = await target('directory');
    const dirFile = path.join(dir, 'directory.ndjson');
    const org = {
      resourceType: 'Organization',
      id: 'org-1312345678',
      identifier: [{ system: 'http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no', value: '1312345678' }],
      active: true,
      name: '東都病院',
      type: [{ text: 'hospital' }],
    };
    const ep = {
      resourceType: 'Endpoint',
      id: 'ep-1312345678',
      identifier: [{ system: 'urn:example:endpoint', value: 'toto-fhir' }],
      status: 'active',
      connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'hl7-fhir-rest' },
      managingOrganization: { reference: 'Organization/org-1312345678' },
      payloadType: [{ text: 'any' }],
      address: 'https://fhir.toto.example/r4',
    };
    fs.writeFileSync(dirFile, `${JSON.stringify(org)}\n${JSON.stringify(ep)}\n`);
    const first = medid(['import', dirFile], t.env);
    expect(first.status, first.stderr).toBe(0);
    expect(first.summary).toMatchObject({ records: 2, created: 2 });
    const again = medid(['import', dirFile], t.env);
    expect(again.summary).toMatchObject({ records: 2, created: 0, updated: 0, unchanged: 2 });
  });

  it('ends an import killed midway and run again in the same state as an uninterrupted one', async () => {
    const whole = await target('whole');
    medid(['import', file, '--batch', '20'], whole.env);
    const killed = await target('killed');
    const child = spawn(process.execPath, ['bin/medid.js', 'import', file, '--batch', '20', '--concurrency', '1', '--progress', '0'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '', ...killed.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise((r) => child.once('exit', r));
    // Killed once a progress line shows a quarter of the file loaded: midway, on any machine.
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        const done = [...chunk.toString().matchAll(/ (\d+)\/\d+ /g)].map((m) => Number(m[1]));
        if (done.some((n) => n >= N / 4)) resolve();
      });
      void exited.then(() => resolve());
    });
    child.kill('SIGKILL');
    await exited;
    const partial = await killed.state();
    expect(Number(partial?.['persons'] ?? 0)).toBeLessThan(N);
    expect(Number(partial?.['persons'] ?? 0)).toBeGreaterThan(0);
    const rerun = medid(['import', file, '--batch', '20'], killed.env);
    expect(rerun.summary['records']).toBe(N + 2);
    expect(await killed.state()).toEqual(await whole.state());
  }, 300_000);
});
