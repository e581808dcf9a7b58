/**
 * The production guard on the real process (issue 19 item 2; privacy-design.md §1): with
 * NODE_ENV=production, keys in files refuse to start unless MEDID_ALLOW_FILE_KEYS=1, which logs
 * a warning at every start.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverToExit } from '../helpers/medid-process.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Starts src/main.ts, waits for a log line matching `want` (or exit), then stops it; the lines seen. */
async function startUntil(env: Record<string, string>, want: RegExp): Promise<{ lines: string[]; exit: number | null }> {
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: '', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buffered = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((resolve) => {
    const take = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      lines.push(...parts);
      if (parts.some((l) => want.test(l))) resolve();
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    void exited.then(() => resolve());
  });
  if (child.exitCode === null) child.kill('SIGKILL');
  return { lines, exit: await exited };
}

describe('file keys in production', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-prodkeys-'));
  });
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuse to start with NODE_ENV=production, before anything is opened or generated', () => {
    const r = serverToExit({ NODE_ENV: 'production', MEDID_DATA_DIR: dataDir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/configuration error: NODE_ENV=production with keys in files: refusing to start/);
    expect(r.stderr).toMatch(/MEDID_ALLOW_FILE_KEYS=1/);
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  it('start when acknowledged with MEDID_ALLOW_FILE_KEYS=1, and log a warning at every start', async () => {
    for (let start = 0; start < 2; start++) {
      const { lines } = await startUntil(
        { NODE_ENV: 'production', MEDID_ALLOW_FILE_KEYS: '1', MEDID_DATA_DIR: dataDir },
        /FILE_KEYS|KEYS ARE FILES/,
      );
      const warning = lines
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .find((l) => l.msg.includes('KEYS ARE FILES'));
      expect(warning, lines.join('\n')).toMatchObject({ level: 40 });
    }
  });

  it('start quietly outside production', async () => {
    const { lines } = await startUntil({ MEDID_DATA_DIR: dataDir }, /medid listening/);
    expect(lines.some((l) => l.includes('medid listening'))).toBe(true);
    expect(lines.some((l) => l.includes('KEYS ARE FILES'))).toBe(false);
  }, 120_000);
});
