/**
 * `medid <command>`: thin wrappers over the same services the server uses.
 */
import { kindPurposes } from '../app.ts';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import { AccessTokens } from '../auth/access-token.ts';
import { checkRegistration, ClientDirectory, RegistrationError } from '../auth/clients.ts';
import { KeyError, loadServerKeys } from '../auth/keys.ts';
import { ORG_KINDS } from '../core/principal.ts';
import type { OrgKind } from '../core/principal.ts';
import { parseScopes } from '../auth/scopes.ts';
import { authEndpoints } from '../auth/smart-configuration.ts';
import { ConfigError, loadConfig } from '../config.ts';
import type { Db } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { openDb } from '../store/open.ts';
import { DatabaseInUseError } from '../store/pglite.ts';
import { exportCommand } from './export.ts';
import { importCommand } from './import.ts';
import { mpiCommand } from './mpi.ts';
import { btgReportCommand } from './btg-report.ts';

const USAGE = `usage: medid <command> [options]

commands:
  migrate                 apply database migrations (DATABASE_URL, or the embedded database)
  client add              register or update a client:
      --id ID --name NAME --scope "system/Patient.rs …"
      --org-kind medical-institution|insurer|database|regional-network|authority --org-code CODE
      (--jwks-uri URL | --jwks-file FILE) [--purposes TREAT,ETREAT,BTG]
  client list             list registered clients
  client disable ID       refuse new tokens (and existing ones within seconds)
  client enable ID
  import FILE             register an insurer's file (NDJSON or CSV, see README): over the API
      [--server URL --token T]   of a running server, else straight into the database;
      [--format csv|ndjson] [--batch 500] [--concurrency 4] [--quiet] [--progress SECONDS]
      errors and held reviews go to FILE.errors.ndjson; re-running a file changes nothing
  export --insurer N      an insurer's persons with their medical IDs, as NDJSON
      [--out FILE] [--since DATE]
  mpi reindex             rebuild the $match index of every Patient
  mpi estimate            re-estimate the $match weights from the registry [--sample 20000]
  token --scope "…"       print an access token signed with the server's key, for trying the
      [--client-id ID]    API with curl (default client id: medid-operator; lifetime --ttl
      [--ttl SECONDS]     seconds, default 300, at most 3600; acting for --org-kind/--org-code,
      [--org-kind K --org-code C]  default the authority; --purpose P: its purpose of use)
      [--purpose P]
  btg-report [--date D]   the day's break-the-glass grants (JST; default today) [--format tsv|json]

The embedded database can be opened by one process at a time: stop the server before
\`client\` commands, or register clients with MEDID_CLIENTS_FILE, or use DATABASE_URL.
`;

class UsageError extends Error {}

async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function clientCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      id: { type: 'string' },
      name: { type: 'string' },
      scope: { type: 'string' },
      'org-kind': { type: 'string' },
      'org-code': { type: 'string' },
      'jwks-uri': { type: 'string' },
      'jwks-file': { type: 'string' },
      purposes: { type: 'string' },
    },
  });
  switch (sub) {
    case 'add': {
      const jwksFile = values['jwks-file'];
      const row = checkRegistration(
        {
          client_id: values.id ?? '',
          name: values.name ?? '',
          scope: values.scope ?? '',
          organization: { kind: (values['org-kind'] ?? '') as OrgKind, code: values['org-code'] ?? '' },
          jwks_uri: values['jwks-uri'],
          jwks: jwksFile ? (JSON.parse(fs.readFileSync(jwksFile, 'utf8')) as { keys: JWK[] }) : undefined,
          purposes: values.purposes ? values.purposes.split(',').map((x) => x.trim().toUpperCase()) : undefined,
        },
        'client add',
        kindPurposes,
      );
      await withDb((db) => new ClientDirectory(db).register(row));
      process.stdout.write(`registered ${row.clientId}\n`);
      return 0;
    }
    case 'list': {
      const clients = await withDb((db) => new ClientDirectory(db).list());
      for (const c of clients) {
        process.stdout.write(`${c.clientId}\t${c.active ? 'active' : 'disabled'}\t${c.org.kind}:${c.org.code}\t${c.name}\t${c.scope}\n`);
      }
      return 0;
    }
    case 'disable':
    case 'enable': {
      const id = positionals[0];
      if (!id) throw new UsageError(`client ${sub} needs a client id`);
      const ok = await withDb((db) => new ClientDirectory(db).setActive(id, sub === 'enable'));
      if (!ok) {
        process.stderr.write(`medid: no client ${id}\n`);
        return 1;
      }
      process.stdout.write(`${id} ${sub}d\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown client command "${sub ?? ''}"`);
  }
}

async function tokenCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      scope: { type: 'string' },
      'client-id': { type: 'string' },
      ttl: { type: 'string' },
      'org-kind': { type: 'string' },
      'org-code': { type: 'string' },
      purpose: { type: 'string' },
    },
  });
  const scope = values.scope ?? '';
  if (parseScopes(scope).length === 0)
    throw new UsageError('token needs --scope with at least one SMART scope, e.g. --scope "system/*.rs"');
  const ttl = Number(values.ttl ?? 300);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 3600) throw new UsageError('--ttl must be 1–3600 seconds');
  const config = loadConfig();
  const { keys } = await loadServerKeys({ file: config.signingKeyFile, dataDir: config.dataDir });
  const tokens = new AccessTokens({
    keys,
    issuer: authEndpoints(config.baseUrl).issuer,
    audience: config.baseUrl,
    isResourceType: () => true,
  });
  const clientId = values['client-id'] ?? 'medid-operator';
  // Acting as another organization (--org-kind/--org-code) is for trying the API as a hospital
  // or insurer would; whoever runs this holds the server's signing key anyway.
  const kind = (values['org-kind'] ?? 'authority') as OrgKind;
  if (!ORG_KINDS.includes(kind)) throw new UsageError(`--org-kind must be one of ${ORG_KINDS.join(', ')}`);
  const purpose = values.purpose?.toUpperCase() ?? kindPurposes(kind)[0];
  if (purpose === undefined || !kindPurposes(kind).includes(purpose))
    throw new UsageError(`--purpose must be one of ${kindPurposes(kind).join(', ')} for ${kind}`);
  const t = await tokens.issue(clientId, 'medid operator (CLI)', { kind, code: values['org-code'] ?? 'operator' }, scope, ttl, purpose);
  process.stdout.write(`${t.accessToken}\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'migrate': {
      const config = loadConfig();
      const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
      try {
        const applied = await migrate(db);
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'client':
      return clientCommand(rest);
    case 'token':
      return tokenCommand(rest);
    case 'import':
      return importCommand(rest);
    case 'export':
      return exportCommand(rest);
    case 'mpi':
      return mpiCommand(rest);
    case 'btg-report':
      return btgReportCommand(rest, (m) => new UsageError(m));
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`medid: ${e.message}\n\n${USAGE}`);
      process.exit(2);
    }
    const known = e instanceof ConfigError || e instanceof RegistrationError || e instanceof KeyError || e instanceof DatabaseInUseError;
    process.stderr.write(`medid: ${known ? '' : 'error: '}${(e as Error).message}\n`);
    process.exit(known ? 2 : 1);
  },
);
