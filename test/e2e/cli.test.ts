/**
 * `npx medid client|token` and MEDID_CLIENTS_FILE, as an operator uses them: against the
 * embedded database in a data directory, then with the server started on it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS, GROUPS } from '../../src/cli/commands.ts';
import { fhirFetch } from '../helpers/fhir.ts';
import { freePort } from '../helpers/free-port.ts';
import { medid, serve, serverToExit } from '../helpers/medid-process.ts';

describe('the medid command line', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-cli-'));
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('registers, lists, disables clients; mints tokens the server accepts; loads MEDID_CLIENTS_FILE', async () => {
    const { publicKey } = await generateKeyPair('ES384', { extractable: true });
    const jwksFile = path.join(dataDir, 'client-jwks.json');
    fs.writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES384' }] }));
    const port = await freePort();
    const env = { MEDID_DATA_DIR: dataDir, PORT: String(port), MEDID_BASE_URL: `http://127.0.0.1:${port}/fhir` };

    const add = medid(
      [
        'client',
        'add',
        '--id',
        'hospital-a',
        '--name',
        'Hospital A',
        '--scope',
        'system/Patient.rs',
        '--org-kind',
        'medical-institution',
        '--org-code',
        '1312345678',
        '--jwks-file',
        jwksFile,
      ],
      env,
    );
    expect(add.stderr).toBe('');
    expect(add.status).toBe(0);
    const bad = medid(
      [
        'client',
        'add',
        '--id',
        'x',
        '--name',
        'X',
        '--scope',
        'system/Patient.rs',
        '--org-kind',
        'insurer',
        '--org-code',
        '12',
        '--jwks-file',
        jwksFile,
      ],
      env,
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('organization.code');
    expect(medid(['client', 'list'], env).stdout).toContain('hospital-a\tactive\tmedical-institution:1312345678');
    expect(medid(['client', 'disable', 'hospital-a'], env).status).toBe(0);
    expect(medid(['client', 'list'], env).stdout).toContain('hospital-a\tdisabled');

    const token = medid(['token', '--scope', 'system/Patient.rs'], env);
    expect(token.status).toBe(0);
    expect(medid(['token'], env).status).toBe(2);

    const clientsFile = path.join(dataDir, 'clients.json');
    fs.writeFileSync(
      clientsFile,
      JSON.stringify([
        {
          client_id: 'insurer-b',
          name: 'Insurer B',
          jwks: JSON.parse(fs.readFileSync(jwksFile, 'utf8')) as unknown,
          scope: 'system/Coverage.rs',
          organization: { kind: 'insurer', code: '06138093' },
        },
      ]),
    );
    const server = await serve({ ...env, MEDID_CLIENTS_FILE: clientsFile }, port);
    try {
      const res = await fhirFetch(`http://127.0.0.1:${port}/fhir/Patient?_count=1`, {
        headers: { authorization: `Bearer ${token.stdout.trim()}` },
      });
      expect(res.status).toBe(200);
      const busy = medid(['client', 'list'], env);
      expect(busy.status).toBe(2);
      expect(busy.stderr).toMatch(/in use by process \d+/);
    } finally {
      await server.stop();
    }
    expect(medid(['client', 'list'], env).stdout).toContain('insurer-b\tactive\tinsurer:06138093');
  }, 120_000);

  it('keeps the pseudonym domains: seeded, added, listed; a database client must name one; MEDID_DOMAINS_FILE at start-up', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-cli-domains-'));
    const port = await freePort();
    const env = { MEDID_DATA_DIR: dir, PORT: String(port), MEDID_BASE_URL: `http://127.0.0.1:${port}/fhir` };
    try {
      expect(medid(['domain', 'list'], env).stdout).toContain('ndb\t');
      const addDb = (code: string) =>
        medid(
          [
            'client',
            'add',
            '--id',
            `db-${code}`,
            '--name',
            code,
            '--scope',
            'system/Patient.rs',
            '--org-kind',
            'database',
            '--org-code',
            code,
          ].concat(['--jwks-uri', 'https://db.example/jwks.json']),
          env,
        );
      const refused = addDb('cancer-study');
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain('must be a pseudonym domain');
      expect(medid(['domain', 'add', 'Bad_Code', 'x'], env).status).toBe(2);
      const added = medid(['domain', 'add', 'cancer-study', 'がん研究班 DB'], env);
      expect(added.stdout).toBe('added cancer-study\n');
      expect(medid(['domain', 'add', 'cancer-study', 'がん研究班DB', '--birth-date', 'year'], env).stdout).toBe('changed cancer-study\n');
      expect(medid(['domain', 'add', 'x-study', 'x', '--birth-date', 'day'], env).status).toBe(2);
      expect(addDb('cancer-study').status).toBe(0);
      expect(medid(['domain', 'list'], env).stdout).toContain('cancer-study\tがん研究班DB\tbirth date: year');

      const domainsFile = path.join(dir, 'domains.json');
      const clientsFile = path.join(dir, 'clients.json');
      fs.writeFileSync(domainsFile, JSON.stringify([{ code: 'care-study', name: '介護研究' }]));
      fs.writeFileSync(
        clientsFile,
        JSON.stringify([
          {
            client_id: 'db-care',
            name: 'Care study',
            jwks_uri: 'https://care.example/jwks.json',
            scope: 'system/Patient.rs',
            organization: { kind: 'database', code: 'care-study' },
          },
        ]),
      );
      const server = await serve({ ...env, MEDID_DOMAINS_FILE: domainsFile, MEDID_CLIENTS_FILE: clientsFile }, port);
      await server.stop();
      expect(server.ready).toBe(true);
      expect(medid(['domain', 'list'], env).stdout).toContain('care-study\t介護研究');
      expect(medid(['client', 'list'], env).stdout).toContain('db-care\tactive\tdatabase:care-study');

      fs.writeFileSync(
        domainsFile,
        JSON.stringify([
          { code: 'ok-one', name: 'x' },
          { code: 'ok-one', name: 'y' },
        ]),
      );
      const twice = serverToExit({ ...env, PORT: '0', MEDID_DOMAINS_FILE: domainsFile });
      expect(twice.status).toBe(2);
      expect(twice.stderr).toContain('MEDID_DOMAINS_FILE[1]: code is listed twice');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses to start on a malformed MEDID_CLIENTS_FILE, naming the entry and field', () => {
    const file = path.join(dataDir, 'bad-clients.json');
    fs.writeFileSync(
      file,
      JSON.stringify([
        {
          client_id: 'ok',
          name: 'x',
          jwks_uri: 'https://x.example/jwks',
          scope: 'system/Patient.rs',
          organization: { kind: 'medical-institution', code: '1' },
        },
      ]),
    );
    const r = serverToExit({
      MEDID_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'medid-cli-bad-')),
      PORT: '0',
      MEDID_CLIENTS_FILE: file,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('MEDID_CLIENTS_FILE[0]: organization.code');
  }, 60_000);
});

describe('medid --help', () => {
  const env = { MEDID_DATA_DIR: path.join(os.tmpdir(), 'medid-cli-help-never-created') };

  it('lists every command, and exits 0', () => {
    const r = medid(['--help'], env);
    expect(r.status).toBe(0);
    for (const c of COMMANDS) expect(r.stdout, c.name).toContain(`  ${c.name}`);
    expect(r.stdout).toContain('medid <command> --help');
    expect(medid(['help'], env).stdout).toBe(r.stdout);
    const bare = medid([], env);
    expect(bare.status).toBe(2);
    expect(bare.stderr).toContain('usage: medid <command>');
  });

  it.each(COMMANDS.map((c) => [c.name, c] as const))(
    'medid %s --help: usage, every option with its default, an example; exit 0',
    (name, spec) => {
      const words = name.split(' ');
      for (const flag of ['--help', '-h']) {
        const r = medid([...words, flag], env);
        expect(r.status, r.stderr).toBe(0);
        expect(r.stderr).toBe('');
        expect(r.stdout).toContain(`usage: medid ${name}`);
        for (const [option, o] of Object.entries(spec.options)) {
          expect(r.stdout, option).toContain(`--${option}`);
          if (o.default !== undefined) expect(r.stdout, option).toContain(`default: ${o.default}`);
        }
        expect(r.stdout).toMatch(/examples?:\n {2}.*npx medid /);
      }
      expect(medid(['help', ...words], env).stdout).toBe(medid([...words, '--help'], env).stdout);
    },
  );

  it.each(Object.keys(GROUPS))('medid %s --help lists its commands', (group) => {
    const r = medid([group, '--help'], env);
    expect(r.status).toBe(0);
    for (const c of COMMANDS.filter((x) => x.name.startsWith(`${group} `))) expect(r.stdout).toContain(c.name);
  });

  it("names an unknown option and points to the command's --help, exit 2", () => {
    const r = medid(['import', 'members.ndjson', '--bogus'], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown option --bogus');
    expect(r.stderr).toContain('medid import --help');
    const sub = medid(['mpi', 'estimate', '--samples', '5'], env);
    expect(sub.status).toBe(2);
    expect(sub.stderr).toContain('unknown option --samples');
    expect(sub.stderr).toContain('medid mpi estimate --help');
    const cmd = medid(['imports'], env);
    expect(cmd.status).toBe(2);
    expect(cmd.stderr).toContain('unknown command "imports"');
    expect(cmd.stderr).toContain('medid --help');
    const value = medid(['import', 'x.ndjson', '--batch', '0'], env);
    expect(value.status).toBe(2);
    expect(value.stderr).toContain('--batch must be 1–1000');
  });
});
