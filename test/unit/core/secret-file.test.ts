/** Secrets outside the database: generated once and atomically, read back the same, never short. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateSecret, SecretFileError } from '../../../src/core/secret-file.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-secret-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const ROOT = path.resolve(import.meta.dirname, '../../..');

describe('a secret file', () => {
  it('is generated once into the data directory (0600), then read back unchanged', () => {
    const first = loadOrCreateSecret({ file: undefined, envName: 'X_FILE', dataDir: dir, fileName: 'one' });
    const again = loadOrCreateSecret({ file: undefined, envName: 'X_FILE', dataDir: dir, fileName: 'one' });
    expect(first.generated).toBe(true);
    expect(again.generated).toBe(false);
    expect(again.secret.equals(first.secret)).toBe(true);
    expect(first.secret.length).toBe(32);
    expect(fs.statSync(path.join(dir, 'keys', 'one')).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.join(dir, 'keys')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
  it('raced by several processes, is created by one and read by all alike', () => {
    const script = `import { loadOrCreateSecret } from './src/core/secret-file.ts';
      process.stdout.write(loadOrCreateSecret({ file: undefined, envName: 'X', dataDir: ${JSON.stringify(dir)}, fileName: 'raced' }).secret.toString('hex'));`;
    // Started together (spawn, not spawnSync): they reach the file at about the same moment.
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
        child.on('error', reject);
        child.on('exit', () => resolve(out));
      });
    return Promise.all([run(), run(), run(), run()]).then((outs) => {
      expect(new Set(outs).size).toBe(1);
      expect(outs[0]).toHaveLength(64);
    });
  });
  it('named by its variable is read raw or as base64, and refused (naming the variable) when short or missing', () => {
    const b64 = path.join(dir, 'b64');
    fs.writeFileSync(b64, Buffer.alloc(32, 7).toString('base64'));
    expect(loadOrCreateSecret({ file: b64, envName: 'X_FILE', dataDir: dir, fileName: 'n' }).secret.equals(Buffer.alloc(32, 7))).toBe(true);
    const short = path.join(dir, 'short');
    fs.writeFileSync(short, 'too short');
    expect(() => loadOrCreateSecret({ file: short, envName: 'X_FILE', dataDir: dir, fileName: 'n' })).toThrow(SecretFileError);
    expect(() => loadOrCreateSecret({ file: path.join(dir, 'none'), envName: 'X_FILE', dataDir: dir, fileName: 'n' })).toThrow(/X_FILE/);
    // A generated file that was cut short (a crash mid-write under the old scheme) is refused, not used.
    fs.writeFileSync(path.join(dir, 'keys', 'cut'), '');
    expect(() => loadOrCreateSecret({ file: undefined, envName: 'X_FILE', dataDir: dir, fileName: 'cut' })).toThrow(SecretFileError);
  });
});
