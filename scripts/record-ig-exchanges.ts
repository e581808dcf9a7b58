/**
 * `npm run ig:exchanges`: records the request/response example of every operation (see
 * ig-exchanges.ts) on a fresh in-memory database and writes them to ig/exchanges/. Commit the
 * result: test/e2e/ig-exchanges.test.ts records again and fails when the two differ.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '../src/store/migrate.ts';
import { PgliteDb } from '../src/store/pglite.ts';
import { recordExchanges } from './ig-exchanges.ts';
import type { Recording } from './ig-exchanges.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const IG = process.env['MEDID_IG_DIR'] ?? path.join(ROOT, 'ig');

/** The files a recording is written as, by path relative to ig/. */
export function recordingFiles(r: Recording): Map<string, string> {
  const files = new Map<string, string>();
  for (const op of r.operations) files.set(`exchanges/${op.operation}.json`, `${JSON.stringify(op, null, 2)}\n`);
  return files;
}

async function main(): Promise<number> {
  const started = performance.now();
  const db = await PgliteDb.open(undefined);
  try {
    await migrate(db);
    const files = recordingFiles(await recordExchanges(db));
    fs.rmSync(path.join(IG, 'exchanges'), { recursive: true, force: true });
    fs.mkdirSync(path.join(IG, 'exchanges'), { recursive: true });
    for (const [f, text] of files) fs.writeFileSync(path.join(IG, f), text);
    process.stdout.write(`ig:exchanges: ${files.size} operations recorded in ${Math.round(performance.now() - started)} ms\n`);
    return 0;
  } finally {
    await db.close();
  }
}

if (import.meta.main) process.exit(await main());
