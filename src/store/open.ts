/**
 * Opens the database the configuration asks for: PostgreSQL when DATABASE_URL is set,
 * otherwise embedded PGlite under the data directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from './db.ts';
import { PgDb } from './pg.ts';
import { PgliteDb } from './pglite.ts';

export interface OpenDbOptions {
  databaseUrl: string | undefined;
  dataDir: string;
  poolSize: number;
}

export async function openDb(o: OpenDbOptions): Promise<Db> {
  if (o.databaseUrl) {
    return new PgDb(o.databaseUrl, o.poolSize);
  }
  const dir = path.join(o.dataDir, 'pglite');
  fs.mkdirSync(dir, { recursive: true });
  return PgliteDb.open(dir);
}

/**
 * A second, small pool on the same PostgreSQL database for the audit writer; with the
 * embedded database there is one connection, so it is the same handle.
 */
export function openAuditDb(main: Db, o: OpenDbOptions): Db {
  return o.databaseUrl ? new PgDb(o.databaseUrl, 2) : main;
}
