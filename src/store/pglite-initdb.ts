/**
 * Creates an embedded database directory, run as its own short-lived process by pglite.ts.
 * initdb inside WASM grows PGlite's memory to about 600 MB, and WebAssembly memory never
 * shrinks: done in the server's own process, the server would carry that for its whole life.
 * Usage: node pglite-initdb.ts <data directory>
 */
import { PGlite } from '@electric-sql/pglite';
import { startParams } from './pglite-params.ts';

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: pglite-initdb.ts <data directory>\n');
  process.exit(2);
}
const pg = await PGlite.create({ dataDir, startParams });
await pg.close();
