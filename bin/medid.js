#!/usr/bin/env node
// `npx medid …`: runs the CLI on the project's pinned Node (24), which strips TypeScript types.
// When started by an older Node (npx from a system Node 20), re-run under node_modules/.bin/node.
import { spawnSync } from 'node:child_process';
import process from 'node:process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'src', 'cli', 'main.ts');
const major = Number(process.versions.node.split('.')[0]);
if (major >= 24) {
  await import(cli);
} else {
  const pinned = path.join(root, 'node_modules', '.bin', 'node');
  const r = spawnSync(pinned, [cli, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
