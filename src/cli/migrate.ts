/** `medid migrate`: applies the migrations not yet applied (the server does too, at start-up). */
import { loadConfig } from '../config.ts';
import { migrate } from '../store/migrate.ts';
import { openDb } from '../store/open.ts';
import { parseCommand } from './args.ts';
import { MIGRATE } from './commands.ts';

export async function migrateCommand(args: string[]): Promise<number> {
  parseCommand(MIGRATE, args);
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
