/**
 * `npx medid log verify` as an operator runs it: a server started on an embedded database in a
 * data directory, a few audited calls, the server stopped; the command passes (exit 0), and after
 * a database owner rewrites one audit row and deletes another with the triggers off, it fails
 * (exit 1) naming both events — in text and in JSON. A usage error is exit 2.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, describe, expect, it } from 'vitest';
import type { LogVerifyReport } from '../../src/audit/log-audit.ts';
import { PgliteDb } from '../../src/store/pglite.ts';
import { fhirFetch } from '../helpers/fhir.ts';
import { freePort } from '../helpers/free-port.ts';
import { medid, serve } from '../helpers/medid-process.ts';

describe('medid log verify', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-log-verify-'));
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('passes on the log a server wrote (exit 0), fails naming a rewritten and a deleted event (exit 1)', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/fhir`;
    const env = { MEDID_DATA_DIR: dataDir, PORT: String(port), MEDID_BASE_URL: base, MEDID_LOG_HEAD_SECONDS: '1' };
    const keyFile = path.join(dataDir, 'log-key.json');
    const checkpointFile = path.join(dataDir, 'checkpoint.txt');
    const server = await serve(env, port);
    try {
      expect(server.ready).toBe(true);
      const token = medid(['token', '--scope', 'system/*.cruds'], env).stdout.trim();
      const headers = { authorization: `Bearer ${token}` };
      const created = await fhirFetch<Patient & { id: string }>(`${base}/Patient`, {
        method: 'POST',
        headers,
        json: { resourceType: 'Patient', name: [{ family: 'Kimura' }] },
      });
      expect(created.status).toBe(201);
      for (let i = 0; i < 3; i++) expect((await fhirFetch(`${base}/Patient/${created.body.id}`, { headers })).status).toBe(200);
      expect((await fhirFetch(`${base}/Patient?family=Kimura`, { headers })).status).toBe(200);
      // What a witness keeps: the log's public key and a checkpoint it was shown (signed within a second).
      await new Promise((r) => setTimeout(r, 1500));
      const key = await fetch(`${base}/_log/key`);
      expect(key.status).toBe(200);
      fs.writeFileSync(keyFile, await key.text());
      const checkpoint = await fetch(`${base}/_log/checkpoint`);
      expect(checkpoint.status).toBe(200);
      fs.writeFileSync(checkpointFile, await checkpoint.text());
    } finally {
      await server.stop();
    }

    const ok = medid(['log', 'verify'], env);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('OK: every check holds');
    expect(ok.stdout).toContain('signatures NOT checked');
    const keyed = medid(['log', 'verify', '--key', keyFile, '--checkpoint', checkpointFile], env);
    expect(keyed.stdout).toMatch(/[1-9]\d* signatures? verified with the key given/);
    expect(keyed.stdout).toContain('the log extends it');
    expect(keyed.status).toBe(0);
    const json = medid(['log', 'verify', '--format', 'json'], env);
    expect(json.status).toBe(0);
    const clean = JSON.parse(json.stdout) as LogVerifyReport;
    expect(clean.ok).toBe(true);
    expect(clean.size).toBeGreaterThanOrEqual(5);
    expect(clean.persons.checked).toBeGreaterThanOrEqual(1);
    // The data directory's pseudonym key checks each entry's person against its Patient.
    expect(medid(['log', 'verify', '--persons'], env).status).toBe(0);

    // A database owner with the triggers off: one row rewritten, one deleted.
    const db = await PgliteDb.open(path.join(dataDir, 'pglite'));
    let rewritten: number;
    let deleted: number;
    try {
      const { rows } = await db.query<{ seq: string | number }>(`SELECT seq FROM audit.event WHERE action = 'R' ORDER BY seq`);
      rewritten = Number(rows[0]?.seq);
      deleted = Number(rows[1]?.seq);
      await db.query(`ALTER TABLE audit.event DISABLE TRIGGER ALL`);
      await db.query(`UPDATE audit.event SET purpose = 'HMARKT' WHERE seq = $1`, [rewritten]);
      await db.query(`DELETE FROM audit.event WHERE seq = $1`, [deleted]);
      await db.query(`ALTER TABLE audit.event ENABLE TRIGGER ALL`);
    } finally {
      await db.close();
    }

    const failed = medid(['log', 'verify'], env);
    expect(failed.status).toBe(1);
    expect(failed.stdout).toContain(`event ${rewritten} (leaf`);
    expect(failed.stdout).toContain('purpose differs');
    expect(failed.stdout).toContain(`event ${deleted} (leaf`);
    expect(failed.stdout).toContain('FAILED: 2 problems');
    const report = JSON.parse(medid(['log', 'verify', '--format', 'json'], env).stdout) as LogVerifyReport;
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => [p.kind, p.event])).toEqual([
      ['event-rewritten', rewritten],
      ['event-missing', deleted],
    ]);
    expect(report.persons.failed).toEqual([]);
    // The heads and the witness's checkpoint still hold: the leaves were not touched, the events were.
    const witnessed = medid(['log', 'verify', '--key', keyFile, '--checkpoint', checkpointFile], env);
    expect(witnessed.status).toBe(1);
    expect(witnessed.stdout).toContain('the log extends it');

    const usage = medid(['log', 'verify', '--format', 'xml'], env);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('medid log verify --help');
    expect(medid(['log', 'verify', '--key', 'not-a-key'], env).status).toBe(2);
  }, 180_000);
});
