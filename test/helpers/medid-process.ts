/**
 * medid as an operator runs it, for end-to-end tests: the `medid` command (bin/medid.js) run to
 * completion, and the server (`src/main.ts`) started on the embedded database and waited for.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** `medid <args>` with `env` (never a DATABASE_URL from the caller's shell), to completion. */
export function medid(args: string[], env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/medid.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: '', ...env },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `src/main.ts` run until it exits by itself (a start-up refusal), on the embedded database. */
export function serverToExit(env: Record<string, string>): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr };
}

/**
 * `src/main.ts` started as an operator would, waited for until /readyz answers (or it exits); `stop` ends it.
 * On the embedded database unless `env` names a DATABASE_URL.
 */
export async function serve(env: Record<string, string>, port: number): Promise<{ ready: boolean; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: '', ...env, HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  let ready = false;
  for (let i = 0; i < 600 && !ready && child.exitCode === null; i++) {
    ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (!ready) await new Promise((r) => setTimeout(r, 100));
  }
  return {
    ready,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
