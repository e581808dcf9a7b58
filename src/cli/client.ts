/**
 * `medid client add|list|disable|enable`: client registrations, straight in the database
 * (DATABASE_URL, or the embedded one with the server stopped).
 */
import fs from 'node:fs';
import type { JWK } from 'jose';
import { kindPurposes } from '../app.ts';
import { checkRegistration, ClientDirectory } from '../auth/clients.ts';
import { PseudonymDomainList } from '../pseudonym/domain-list.ts';
import type { OrgKind } from '../core/principal.ts';
import { loadConfig } from '../config.ts';
import type { Db } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { openDb } from '../store/open.ts';
import { parseCommand, UsageError } from './args.ts';
import { CLIENT_ADD, CLIENT_DISABLE, CLIENT_ENABLE, CLIENT_LIST } from './commands.ts';

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

export async function clientAddCommand(args: string[]): Promise<number> {
  const opts = parseCommand(CLIENT_ADD, args);
  const jwksFile = opts.string('jwks-file');
  const purposes = opts.string('purposes');
  const row = checkRegistration(
    {
      client_id: opts.string('id') ?? '',
      name: opts.string('name') ?? '',
      scope: opts.string('scope') ?? '',
      organization: { kind: (opts.string('org-kind') ?? '') as OrgKind, code: opts.string('org-code') ?? '' },
      jwks_uri: opts.string('jwks-uri'),
      jwks: jwksFile ? (JSON.parse(fs.readFileSync(jwksFile, 'utf8')) as { keys: JWK[] }) : undefined,
      purposes: purposes ? purposes.split(',').map((x) => x.trim().toUpperCase()) : undefined,
    },
    'client add',
    kindPurposes,
  );
  await withDb((db) => new ClientDirectory(db, (code) => new PseudonymDomainList(db).has(code)).register(row));
  process.stdout.write(`registered ${row.clientId}\n`);
  return 0;
}

export async function clientListCommand(args: string[]): Promise<number> {
  parseCommand(CLIENT_LIST, args);
  const clients = await withDb((db) => new ClientDirectory(db, (code) => new PseudonymDomainList(db).has(code)).list());
  for (const c of clients) {
    process.stdout.write(`${c.clientId}\t${c.active ? 'active' : 'disabled'}\t${c.org.kind}:${c.org.code}\t${c.name}\t${c.scope}\n`);
  }
  return 0;
}

export async function clientSetActiveCommand(args: string[], active: boolean): Promise<number> {
  const spec = active ? CLIENT_ENABLE : CLIENT_DISABLE;
  const id = parseCommand(spec, args).positionals[0];
  if (!id) throw new UsageError(`needs a client id: medid ${spec.name} <client-id>`, spec.name);
  const ok = await withDb((db) => new ClientDirectory(db, (code) => new PseudonymDomainList(db).has(code)).setActive(id, active));
  if (!ok) {
    process.stderr.write(`medid: no client ${id}\n`);
    return 1;
  }
  process.stdout.write(`${id} ${active ? 'enabled' : 'disabled'}\n`);
  return 0;
}
