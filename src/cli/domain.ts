/**
 * `medid domain add|list`: the pseudonym domains, straight in the database (DATABASE_URL, or
 * the embedded one with the server stopped).
 */
import { loadConfig } from '../config.ts';
import { PseudonymDomainList } from '../pseudonym/domain-list.ts';
import { BIRTH_DATE_PRECISIONS } from '../pseudonym/domains.ts';
import type { BirthDatePrecision } from '../pseudonym/domains.ts';
import type { Db } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { openDb } from '../store/open.ts';
import { parseCommand, UsageError } from './args.ts';
import { DOMAIN_ADD, DOMAIN_LIST } from './commands.ts';

async function withDomains<T>(fn: (domains: PseudonymDomainList) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db: Db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrate(db);
    return await fn(new PseudonymDomainList(db));
  } finally {
    await db.close();
  }
}

export async function domainAddCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(DOMAIN_ADD, args);
  const [code, name] = parsed.positionals;
  if (!code || !name) throw new UsageError('needs a code and a name (quoted): medid domain add <code> "<name>"', DOMAIN_ADD.name);
  const birthDate = parsed.string('birth-date') ?? 'year-month';
  if (!BIRTH_DATE_PRECISIONS.includes(birthDate as BirthDatePrecision))
    throw new UsageError(`--birth-date must be ${BIRTH_DATE_PRECISIONS.join(' or ')}`, DOMAIN_ADD.name);
  const created = await withDomains((d) => d.add({ code, name, birthDate: birthDate as BirthDatePrecision }));
  process.stdout.write(`${created ? 'added' : 'changed'} ${code}\n`);
  return 0;
}

export async function domainListCommand(args: string[]): Promise<number> {
  parseCommand(DOMAIN_LIST, args);
  for (const d of await withDomains((l) => l.list())) process.stdout.write(`${d.code}\t${d.name}\tbirth date: ${d.birthDate}\n`);
  return 0;
}
