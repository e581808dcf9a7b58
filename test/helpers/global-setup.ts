/**
 * Runs once before all test files: builds a migrated PGlite data directory as a tarball, so
 * each test opens a fresh embedded database in ~0.4 s instead of running initdb (~5 s).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { listMigrations, migrate } from '../../src/store/migrate.ts';
import { PgliteDb } from '../../src/store/pglite.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const hash = crypto.createHash('sha256');
  for (const m of listMigrations()) hash.update(m.checksum);
  const dir = path.resolve('node_modules', '.cache', 'medid');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `pglite-template-${hash.digest('hex').slice(0, 16)}.tar.gz`);
  if (!fs.existsSync(file)) {
    const db = await PgliteDb.open(undefined);
    await migrate(db);
    const blob = await db.dump();
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, Buffer.from(await blob.arrayBuffer()));
    fs.renameSync(tmp, file);
    await db.close();
  }
  project.provide('pgliteTemplate', file);
}
