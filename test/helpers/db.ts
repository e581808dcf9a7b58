/**
 * Test databases. Every test suite gets its own: an in-memory PGlite copied from the migrated
 * template, and — when TEST_DATABASE_URL is set — a PostgreSQL database created for the suite
 * and dropped after it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import pg from 'pg';
import { inject } from 'vitest';
import type { Db } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { PgDb } from '../../src/store/pg.ts';
import { PgliteDb } from '../../src/store/pglite.ts';

export type Driver = 'pglite' | 'pg';

/** PGlite always; PostgreSQL too when TEST_DATABASE_URL points at a server. */
export function testDrivers(): Driver[] {
  return process.env['TEST_DATABASE_URL'] ? ['pglite', 'pg'] : ['pglite'];
}

export interface TestDb {
  db: Db;
  driver: Driver;
  /** Connection string of a PostgreSQL test database (pg driver only). */
  url?: string;
  close(): Promise<void>;
}

/** Closes a database a test may already have closed (to see the server fail), so it is still dropped. */
async function closeOnce(db: { close(): Promise<void> }): Promise<void> {
  try {
    await db.close();
  } catch {
    // closed already
  }
}

/** An empty PostgreSQL database (no migrations) on TEST_DATABASE_URL's server, for servers a test starts itself; `drop` removes it. */
export async function emptyPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = process.env['TEST_DATABASE_URL'] as string;
  const name = `medid_test_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const a = new pg.Client({ connectionString: adminUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

export async function openTestDb(driver: Driver): Promise<TestDb> {
  if (driver === 'pglite') {
    const file = inject('pgliteTemplate');
    const db = await PgliteDb.open(undefined, new Blob([fs.readFileSync(file)]));
    return { db, driver, close: () => closeOnce(db) };
  }
  const empty = await emptyPgDatabase();
  const db = new PgDb(empty.url, 8);
  await migrate(db);
  return {
    db,
    driver,
    url: empty.url,
    close: async () => {
      await closeOnce(db);
      await empty.drop();
    },
  };
}
