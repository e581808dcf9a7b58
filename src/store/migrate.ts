/**
 * Applies the numbered SQL files in `migrations/` once each, in order, on either driver.
 * Applied files are recorded with a checksum; an edited file that was already applied stops
 * start-up, because deployed databases ran the old text (migrations are append-only).
 * A transaction-scoped advisory lock lets several medid nodes start at once.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.ts';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
const LOCK_KEY = 0x6d656469; // "medi"

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => {
      const sql = fs.readFileSync(path.join(dir, f), 'utf8');
      return {
        version: Number(f.slice(0, 4)),
        name: f,
        sql,
        checksum: crypto.createHash('sha256').update(sql).digest('hex'),
      };
    });
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Brings the schema up to date; returns the names of the files applied now. */
export async function migrate(db: Db, migrations = listMigrations()): Promise<string[]> {
  return db.tx(async (t) => {
    await t.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await t.exec(`CREATE TABLE IF NOT EXISTS public.medid_migration (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await t.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM public.medid_migration ORDER BY version',
    );
    const applied = new Map(rows.map((r) => [r.version, r]));
    const done: string[] = [];
    for (const m of migrations) {
      const prior = applied.get(m.version);
      if (prior) {
        if (prior.checksum !== m.checksum) {
          throw new MigrationError(`migration ${m.name} was changed after it was applied; add a new migration instead`);
        }
        continue;
      }
      await t.exec(m.sql);
      await t.query('INSERT INTO public.medid_migration (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
      done.push(m.name);
    }
    return done;
  });
}
