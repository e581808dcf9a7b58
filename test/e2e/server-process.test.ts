/**
 * The server as a real process, started the way `npm start` starts it: embedded database under
 * MEDID_DATA_DIR (data survives a restart), structured logs without personal data, and a
 * graceful SIGTERM that finishes the request in flight.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokens } from '../../src/auth/access-token.ts';
import { generateSigningJwks, serverKeysFromJwks } from '../../src/auth/keys.ts';
import { authEndpoints } from '../../src/auth/smart-configuration.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { freePort } from '../helpers/free-port.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

interface Proc {
  child: ChildProcess;
  base: string;
  root: string;
  logs: () => string;
  exited: Promise<number | null>;
}

async function startProcess(dataDir: string, env: Record<string, string> = {}): Promise<Proc> {
  const port = await freePort();
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      MEDID_BASE_URL: `http://127.0.0.1:${port}/fhir`,
      MEDID_DATA_DIR: dataDir,
      DATABASE_URL: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const root = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited: ${out}`);
    try {
      if ((await fetch(`${root}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, base: `${root}/fhir`, root, logs: () => out, exited };
}

/** A token the server process accepts: signed with the key file it was given. */
async function tokenFor(keyFile: string, base: string): Promise<string> {
  const keys = await serverKeysFromJwks(JSON.parse(fs.readFileSync(keyFile, 'utf8')) as { keys: [] });
  const tokens = new AccessTokens({ keys, issuer: authEndpoints(base).issuer, audience: base, isResourceType: () => true });
  return (await tokens.issue('e2e', 'e2e test', { kind: 'authority', code: 'test' }, 'system/*.cruds', 600)).accessToken;
}

describe('the server process', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-e2e-'));
  const keyFile = path.join(dataDir, 'signing-jwks.json');
  beforeAll(async () => {
    // Test keys are generated at run time, never committed.
    fs.writeFileSync(keyFile, JSON.stringify(await generateSigningJwks()));
  });
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps data in MEDID_DATA_DIR across restarts, logs no personal data, and stops gracefully on SIGTERM', async () => {
    const first = await startProcess(dataDir, { MEDID_SIGNING_KEY_FILE: keyFile });
    useToken(await tokenFor(keyFile, first.base));
    const created = await fhirFetch<Patient>(`${first.base}/Patient`, {
      method: 'POST',
      json: {
        resourceType: 'Patient',
        name: [{ family: 'Kurosawa-Secret' }],
        birthDate: '1931-07-07',
        identifier: [{ system: 'urn:test:e2e', value: 'MRN-SECRET-42' }],
      },
    });
    expect(created.status).toBe(201);
    await fhirFetch(`${first.base}/Patient?family=Kurosawa-Secret&identifier=urn:test:e2e|MRN-SECRET-42`);

    // A transaction in flight when SIGTERM arrives still completes.
    const entries = Array.from({ length: 200 }, (_v, i) => ({
      resource: { resourceType: 'Basic', code: { text: `e2e-${i}` } },
      request: { method: 'POST', url: 'Basic' },
    }));
    const inFlight = fhirFetch<Bundle>(first.base, {
      method: 'POST',
      json: { resourceType: 'Bundle', type: 'transaction', entry: entries },
    });
    await new Promise((r) => setTimeout(r, 30));
    first.child.kill('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.body.entry).toHaveLength(200);
    expect(await first.exited).toBe(0);

    const logs = first.logs();
    expect(logs).toContain('"msg":"request"');
    expect(logs).toContain('"requestId"');
    for (const secret of ['Kurosawa', 'MRN-SECRET-42', '1931-07-07']) expect(logs).not.toContain(secret);

    const second = await startProcess(dataDir, { MEDID_SIGNING_KEY_FILE: keyFile });
    useToken(await tokenFor(keyFile, second.base));
    const read = await fhirFetch<Patient>(`${second.base}/Patient/${created.body.id}`);
    expect(read.status).toBe(200);
    expect((await fhirFetch<Bundle>(`${second.base}/Basic?_summary=count`)).body.total).toBe(200);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 120_000);

  it('refuses to start with a clear message when the configuration is wrong', async () => {
    const child = spawn(process.execPath, ['src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: 'eighty' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(err).toContain('PORT must be an integer');
  });
});
