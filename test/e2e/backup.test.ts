/**
 * `npx medid backup` / `restore` / `check` on the embedded database, as an operator runs them:
 * refused while the server holds the database (naming its process); a backup with its keys and
 * SHA-256 manifest; a damaged backup refused before anything is touched; a restore whose server
 * finds a person again by My Number (the MAC key came back: no second medical ID) and whose access
 * log verifies; --force keeps the old database aside; a --without-keys backup restores only once
 * the data's own keys are back; a key that differs is refused; and a database whose medical IDs
 * are no longer unique fails `medid check`, and its backup is refused by `restore` (nothing changed).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Parameters } from '@medplum/fhirtypes';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticPerson } from '../../bench/registry-data.ts';
import type { Manifest } from '../../src/cli/backup-manifest.ts';
import { PgliteDb } from '../../src/store/pglite.ts';
import { fhirFetch } from '../helpers/fhir.ts';
import { freePort } from '../helpers/free-port.ts';
import { medid, serve } from '../helpers/medid-process.ts';
import { insurerNumber, myNumber, registerBody, registrationPatient, results } from '../helpers/registry.ts';

const MY_NUMBER = myNumber('48213579106');

describe('medid backup and restore (embedded database)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-backup-'));
  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });
  const at = (...p: string[]): string => path.join(root, ...p);

  /** Registers one person over HTTP on a server of `dataDir`; returns the $register result. */
  const register = async (env: Record<string, string>, insurer: string, number: string) => {
    const base = env['MEDID_BASE_URL'];
    const token = medid(['token', '--scope', 'system/*.cruds'], env).stdout.trim();
    const res = await fhirFetch<Parameters>(`${base}/Patient/$register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      json: registerBody([
        {
          record: number,
          patient: registrationPatient({
            insurer,
            number,
            myNumber: MY_NUMBER,
            kana: ['サトウ', 'ハナコ'],
            kanji: ['佐藤', '花子'],
            gender: 'female',
          }),
        },
      ]),
    });
    expect(res.status).toBe(200);
    const [r] = results(res.body);
    return r;
  };

  it('backs up with keys and a manifest, restores only what verifies, and the restored server knows its persons', async () => {
    const port = await freePort();
    const env = (dataDir: string): Record<string, string> => ({
      MEDID_DATA_DIR: dataDir,
      PORT: String(port),
      MEDID_BASE_URL: `http://127.0.0.1:${port}/fhir`,
      MEDID_LOG_HEAD_SECONDS: '1',
    });
    const source = env(at('data'));
    let first: Awaited<ReturnType<typeof register>>;
    const server = await serve(source, port);
    try {
      expect(server.ready).toBe(true);
      first = await register(source, insurerNumber('0613809'), '101');
      expect(first?.status).toBe('created');
      expect(first?.medicalId).toMatch(/^1\d{13}$/);
      await new Promise((r) => setTimeout(r, 1200)); // a signed head over the registration's events

      // The server holds the database: refused, naming the process and what to do.
      const refused = medid(['backup', at('while-running')], source);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toMatch(/is open in process \d+ \(a running medid server\?\)/);
      expect(refused.stderr).toContain('Stop that process');
      expect(fs.existsSync(at('while-running'))).toBe(false);
    } finally {
      await server.stop();
    }

    const made = medid(['backup', at('b1')], source);
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    expect(made.stdout).toContain('keys: INCLUDED');
    const manifest = JSON.parse(fs.readFileSync(at('b1', 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest.keys.included).toBe(true);
    expect(manifest.keys.files.map((f) => f.file)).toEqual(expect.arrayContaining(['keys/registry-secret', 'keys/signing-jwks.json']));
    for (const f of manifest.keys.files) expect(fs.readFileSync(at('b1', f.file))).toEqual(fs.readFileSync(at('data', f.file)));
    expect(fs.statSync(at('b1', 'keys', 'registry-secret')).mode & 0o077).toBe(0);
    expect(manifest.check?.ok).toBe(true);
    expect(manifest.check?.registry.counts.medicalIds).toBe(1);
    expect(manifest.check?.log.latestHead).toBeGreaterThan(0);
    expect(medid(['backup', at('b1')], source).stderr).toContain('is not empty');

    // A damaged copy is refused before anything is touched.
    fs.cpSync(at('b1'), at('damaged'), { recursive: true });
    const tar = fs.readFileSync(at('damaged', 'database.tar.gz'));
    tar[tar.length >> 1] = (tar[tar.length >> 1] ?? 0) ^ 0xff;
    fs.writeFileSync(at('damaged', 'database.tar.gz'), tar);
    const damaged = medid(['restore', at('damaged')], env(at('r-damaged')));
    expect(damaged.status).toBe(2);
    expect(damaged.stderr).toContain('database.tar.gz: SHA-256 differs from the manifest');
    expect(fs.existsSync(at('r-damaged'))).toBe(false);

    // Restored into a fresh directory: its server finds the person again by My Number.
    const restoredEnv = env(at('r1'));
    const restored = medid(['restore', at('b1')], restoredEnv);
    expect(restored.stderr).toBe('');
    expect(restored.status).toBe(0);
    expect(restored.stdout).toContain('counts and access-log root equal those recorded at backup');
    const again = await serve(restoredEnv, port);
    try {
      expect(again.ready).toBe(true);
      const second = await register(restoredEnv, insurerNumber('0113001'), '202');
      expect(second?.status).toBe('updated');
      expect(second?.medicalId).toBe(first?.medicalId);
    } finally {
      await again.stop();
    }
    expect(medid(['log', 'verify'], restoredEnv).status).toBe(0);
    expect(medid(['check'], restoredEnv).status).toBe(0);

    // A second restore needs --force, which keeps the replaced database aside.
    expect(medid(['restore', at('b1')], restoredEnv).stderr).toContain('already holds a database');
    const forced = medid(['restore', at('b1'), '--force'], restoredEnv);
    expect(forced.status).toBe(0);
    expect(fs.readdirSync(at('r1')).filter((f) => f.startsWith('pglite.before-restore-'))).toHaveLength(1);

    // --without-keys: the data's own keys must be back first.
    const bare = medid(['backup', at('b2'), '--without-keys'], source);
    expect(bare.status).toBe(0);
    expect(bare.stdout).toContain('keys: NOT included');
    expect(fs.existsSync(at('b2', 'keys'))).toBe(false);
    const noKeys = medid(['restore', at('b2')], env(at('r2')));
    expect(noKeys.status).toBe(2);
    expect(noKeys.stderr).toContain('--without-keys: put the data');
    expect(fs.existsSync(at('r2', 'pglite'))).toBe(false);
    fs.cpSync(at('data', 'keys'), at('r2', 'keys'), { recursive: true });
    expect(medid(['restore', at('b2')], env(at('r2'))).status).toBe(0);

    // Keys in the target that are not the data's: refused unless --force.
    fs.mkdirSync(at('r3', 'keys'), { recursive: true });
    fs.writeFileSync(at('r3', 'keys', 'registry-secret'), Buffer.alloc(32, 9).toString('base64'));
    const otherKey = medid(['restore', at('b1')], env(at('r3')));
    expect(otherKey.status).toBe(2);
    expect(otherKey.stderr).toContain('differs from the key in the backup');
  }, 240_000);

  it('fails medid check when medical IDs are no longer unique, and restore refuses a backup of it', async () => {
    const dataDir = at('dup');
    const env = { MEDID_DATA_DIR: dataDir };
    const file = at('dup.ndjson');
    fs.writeFileSync(file, `${[0, 1, 2].map((i) => JSON.stringify(syntheticPerson(i, 5))).join('\n')}\n`);
    expect(medid(['import', file, '--quiet'], env).status).toBe(0);
    expect(medid(['check'], env).status).toBe(0);
    const db = await PgliteDb.open(path.join(dataDir, 'pglite'));
    try {
      // What a bad copy or a hand edit could leave: the constraint gone, one ID issued twice.
      await db.query('ALTER TABLE registry.medical_id DROP CONSTRAINT medical_id_pkey CASCADE');
      await db.query(`INSERT INTO registry.medical_id (mid, kid, status) SELECT mid, kid, 'replaced' FROM registry.medical_id LIMIT 1`);
    } finally {
      await db.close();
    }
    const check = medid(['check'], env);
    expect(check.status).toBe(1);
    expect(check.stdout).toContain('FAIL medical ID issued once (registry.medical_id.mid): 1 broken');

    const made = medid(['backup', at('b-dup')], env);
    expect(made.status).toBe(1);
    expect(made.stderr).toContain('failed its checks');
    const refused = medid(['restore', at('b-dup')], { MEDID_DATA_DIR: at('r-dup') });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('was not changed');
    expect(fs.existsSync(at('r-dup', 'pglite'))).toBe(false);
    expect(fs.readdirSync(at('r-dup')).filter((f) => f.startsWith('pglite'))).toEqual([]);
  }, 120_000);
});
