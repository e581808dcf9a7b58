/**
 * `npm run dev:portal`: the person's portal on a developer's machine. Starts the development
 * identity provider (scripts/dev-idp.ts, port DEV_IDP_PORT, default 8090), registers two demo
 * persons with valid My Numbers (`medid import`, straight into the database before the server
 * starts; re-running changes nothing), then the medid server (src/main.ts, as `npm start`: the
 * embedded database in MEDID_DATA_DIR unless DATABASE_URL is set) with MEDID_PERSON_IDP_* pointing
 * at the IdP. Prints the portal's URL and the logins. Ctrl-C stops both.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { myNumberFrom, startDevIdp } from './dev-idp.ts';
import type { DevIdpAccount } from './dev-idp.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

interface DemoPerson {
  login: string;
  name: string;
  record: Record<string, string>;
}

/** Insured persons of insurer 06130009 (the README's walkthrough insurer), each with a My Number. */
const DEMO: DemoPerson[] = [
  {
    login: 'demo',
    name: '見本 太郎',
    record: {
      record: 'DEMO-0001',
      insurer_number: '06130009',
      symbol: '99',
      number: '9001',
      branch: '00',
      my_number: myNumberFrom('90000000001'),
      family_kanji: '見本',
      given_kanji: '太郎',
      family_kana: 'ミホン',
      given_kana: 'タロウ',
      birth_date: '1980-04-01',
      sex: 'male',
      postal_code: '100-0001',
      address: '東京都千代田区千代田1-1',
      valid_from: '2024-04-01',
    },
  },
  {
    login: 'demo2',
    name: '見本 花子',
    record: {
      record: 'DEMO-0002',
      insurer_number: '06130009',
      symbol: '99',
      number: '9002',
      branch: '00',
      my_number: myNumberFrom('90000000002'),
      family_kanji: '見本',
      given_kanji: '花子',
      family_kana: 'ミホン',
      given_kana: 'ハナコ',
      birth_date: '1982-10-10',
      sex: 'female',
      postal_code: '100-0001',
      address: '東京都千代田区千代田1-1',
      valid_from: '2024-04-01',
    },
  },
];

const say = (line: string): void => {
  process.stderr.write(`[dev:portal] ${line}\n`);
};

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, () => srv.close(() => resolve(true)));
  });
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const env: Record<string, string | undefined> = { ...process.env };
  const port = Number(env['PORT'] || 8080);
  const idpPort = Number(env['DEV_IDP_PORT'] || 8090);
  const baseUrl = (env['MEDID_BASE_URL'] || `http://localhost:${port}/fhir`).replace(/\/+$/, '');
  const origin = new URL(baseUrl).origin;
  for (const [p, what] of [
    [port, 'medid (PORT)'],
    [idpPort, 'the development IdP (DEV_IDP_PORT)'],
  ] as const) {
    if (!(await portFree(p))) {
      say(`port ${p} for ${what} is in use (is \`npm start\` or another dev:portal running?); stop it or choose another port`);
      return 1;
    }
  }

  const clientSecret = env['DEV_IDP_CLIENT_SECRET'] || crypto.randomBytes(24).toString('base64url');
  const accounts: Record<string, DevIdpAccount> = Object.fromEntries(
    DEMO.map((d) => [d.login, { my_number: d.record['my_number'] ?? '', name: d.name }]),
  );
  const idp = await startDevIdp({
    port: idpPort,
    clients: [{ client_id: 'medid', client_secret: clientSecret, redirect_uris: [`${origin}/oauth/person/callback`] }],
    accounts,
  });
  say(`development IdP at ${idp.issuer}`);

  let child: ChildProcess | undefined;
  let stopping = false;
  const stop = async (code: number): Promise<number> => {
    stopping = true;
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await exited(child);
    }
    await idp.close();
    return code;
  };
  const stopped = new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (): void => {
      signals++;
      if (signals > 1) {
        child?.kill('SIGKILL');
        process.exit(130);
      }
      say('stopping…');
      void stop(0).then(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

  // The demo persons, straight into the database while the server is not running.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-dev-portal-'));
  const file = path.join(dir, 'demo-persons.ndjson');
  fs.writeFileSync(file, `${DEMO.map((d) => JSON.stringify(d.record)).join('\n')}\n`);
  say('registering the demo persons (medid import)…');
  const importer = spawn(process.execPath, ['bin/medid.js', 'import', file, '--quiet'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child = importer;
  let out = '';
  importer.stdout?.on('data', (b: Buffer) => (out += b.toString('utf8')));
  const importStatus = await exited(importer);
  if (stopping) return stopped;
  const summary = out.trim().split('\n').at(-1) ?? '';
  const errorsFile = `${file}.errors.ndjson`;
  if (importStatus !== 0) {
    say(`medid import failed (exit ${importStatus}): ${summary}`);
    if (fs.existsSync(errorsFile)) process.stderr.write(fs.readFileSync(errorsFile, 'utf8'));
    fs.rmSync(dir, { recursive: true, force: true });
    return stop(1);
  }
  say(`demo persons: ${summary}`);
  if (fs.existsSync(errorsFile) && fs.statSync(errorsFile).size > 0) {
    say('some demo persons were held for review:');
    process.stderr.write(fs.readFileSync(errorsFile, 'utf8'));
  }
  fs.rmSync(dir, { recursive: true, force: true });

  // The server, as `npm start` runs it.
  const server = spawn(process.execPath, ['src/main.ts'], {
    cwd: ROOT,
    env: {
      ...env,
      MEDID_SHUTDOWN_GRACE_MS: env['MEDID_SHUTDOWN_GRACE_MS'] || '2000',
      MEDID_PERSON_IDP_ISSUER: idp.issuer,
      MEDID_PERSON_IDP_CLIENT_ID: 'medid',
      MEDID_PERSON_IDP_CLIENT_SECRET: clientSecret,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child = server;
  const serverExit = exited(server);
  let ready = false;
  for (let i = 0; i < 1200 && !ready && server.exitCode === null && !stopping; i++) {
    ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (!ready) await new Promise((r) => setTimeout(r, 100));
  }
  if (stopping) return stopped;
  if (!ready) {
    say('medid did not become ready');
    return stop(1);
  }
  say('');
  say(`portal: ${origin}/portal/`);
  say(`sign in at the development IdP (${idp.issuer}) with any password as:`);
  for (const d of DEMO) say(`  ${d.login.padEnd(6)} ${d.name}  (My Number ${d.record['my_number'] ?? ''})`);
  say('Ctrl-C stops both.');

  return Promise.race([
    stopped,
    serverExit.then(async (code) => {
      if (stopping) return stopped;
      say(`medid exited (${code})`);
      return stop(code === 0 ? 1 : code);
    }),
  ]);
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    say(`failed: ${(e as Error).message}`);
    process.exit(1);
  },
);
