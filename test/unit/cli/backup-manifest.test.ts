/**
 * A backup is read only once every file it lists matches the manifest, and no key file it names
 * can land outside the key directory (backup-manifest.ts `readVerified`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BackupError, entryOf, FORMAT, FORMAT_VERSION, keyFilesOf, keyPath, readVerified } from '../../../src/cli/backup-manifest.ts';
import type { Manifest } from '../../../src/cli/backup-manifest.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A backup directory with a database file and one key, and its manifest. */
function backup(edit: (m: Manifest) => void = () => undefined): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-manifest-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'database.tar.gz'), 'not really a tarball');
  fs.mkdirSync(path.join(dir, 'keys'));
  fs.writeFileSync(path.join(dir, 'keys', 'registry-secret'), 'k'.repeat(44));
  const m: Manifest = {
    format: FORMAT,
    version: FORMAT_VERSION,
    createdAt: '2026-12-01T00:00:00.000Z',
    medid: '0.1.0',
    database: { ...entryOf(path.join(dir, 'database.tar.gz'), 'database.tar.gz'), driver: 'pglite', schema: 20 },
    keys: { included: true, files: [entryOf(path.join(dir, 'keys', 'registry-secret'), 'keys/registry-secret')], external: [] },
    check: null,
  };
  edit(m);
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
  return dir;
}

describe('reading a backup', () => {
  it('accepts a backup whose every file matches its manifest', () => {
    expect(readVerified(backup()).keys.files).toHaveLength(1);
  });

  it('refuses a directory without a manifest (not a backup, or an unfinished one)', () => {
    const dir = backup();
    fs.rmSync(path.join(dir, 'manifest.json'));
    expect(() => readVerified(dir)).toThrow(/no manifest.json/);
  });

  it('refuses a file whose bytes changed, even at the same size', () => {
    const dir = backup();
    fs.writeFileSync(path.join(dir, 'keys', 'registry-secret'), 'x'.repeat(44));
    expect(() => readVerified(dir)).toThrow(/keys\/registry-secret: SHA-256 differs/);
  });

  it('refuses a listed file that is missing, or of another size', () => {
    const dir = backup();
    fs.appendFileSync(path.join(dir, 'database.tar.gz'), '!');
    expect(() => readVerified(dir)).toThrow(/database.tar.gz: 21 bytes, the manifest says 20/);
    fs.rmSync(path.join(dir, 'database.tar.gz'));
    expect(() => readVerified(dir)).toThrow(/database.tar.gz is missing/);
  });

  it('refuses a key file named outside keys/, which restore would write elsewhere', () => {
    for (const file of ['keys/../manifest.json', '../keys/registry-secret', 'registry-secret']) {
      const dir = backup((m) => {
        m.keys.files = [{ file, bytes: 1, sha256: '0' }];
      });
      expect(() => readVerified(dir), file).toThrow(BackupError);
    }
  });

  it('refuses another format or version', () => {
    const dir = backup((m) => {
      (m as { version: number }).version = 2;
    });
    expect(() => readVerified(dir)).toThrow(/this medid reads medid-backup v1/);
  });
});

describe('the key directory', () => {
  it('maps every file under it, nested ones too, to keys/… and back', () => {
    const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-keydir-'));
    dirs.push(keyDir);
    fs.mkdirSync(path.join(keyDir, 'ring'));
    fs.writeFileSync(path.join(keyDir, 'log-key'), 'a');
    fs.writeFileSync(path.join(keyDir, 'ring', 'mac.v1.key'), 'b');
    fs.writeFileSync(path.join(keyDir, 'half-written.1.tmp'), 'c');
    const files = keyFilesOf(keyDir);
    expect(files).toEqual(['keys/log-key', 'keys/ring/mac.v1.key']);
    expect(files.map((f) => keyPath(keyDir, f))).toEqual([path.join(keyDir, 'log-key'), path.join(keyDir, 'ring', 'mac.v1.key')]);
  });
});
