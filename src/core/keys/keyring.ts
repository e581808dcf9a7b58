/**
 * The keyring: which keys exist, with their purpose, version, status and dates — never key
 * material — in `<key dir>/keyring.json`, shared by every node like the key files themselves
 * (the PKCS#11 back end keeps the keys in the HSM and only this list beside it). Each change is
 * written atomically (a temporary file renamed into place) and appended to
 * `<key dir>/ceremony.log`, one JSON line per event: privacy-design.md §7 asks that every key
 * ceremony be logged.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KEY_PURPOSES, KEY_STATUSES, KeyStoreError, PURPOSE_ALGORITHMS } from './key-store.ts';
import type { KeyAlgorithm, KeyMeta, KeyPurpose, KeyStatus } from './key-store.ts';

export const KEYRING_FILE = 'keyring.json';
export const CEREMONY_LOG = 'ceremony.log';

function checkMeta(k: unknown, file: string): KeyMeta {
  const m = k as Partial<KeyMeta>;
  const ok =
    typeof m === 'object' &&
    m !== null &&
    (KEY_PURPOSES as readonly unknown[]).includes(m.purpose) &&
    Number.isInteger(m.version) &&
    (m.version ?? 0) >= 1 &&
    (KEY_STATUSES as readonly unknown[]).includes(m.status) &&
    m.purpose !== undefined &&
    (PURPOSE_ALGORITHMS[m.purpose] as readonly unknown[]).includes(m.alg) &&
    typeof m.createdAt === 'string' &&
    (m.until === undefined || typeof m.until === 'string');
  if (!ok) throw new KeyStoreError(`${file}: not a key entry: ${JSON.stringify(k)}`);
  return m as KeyMeta;
}

export class Keyring {
  readonly dir: string;
  private readonly file: string;
  private keys: KeyMeta[];

  constructor(dir: string) {
    this.dir = dir;
    this.file = path.join(dir, KEYRING_FILE);
    this.keys = this.read();
  }

  private read(): KeyMeta[] {
    if (!fs.existsSync(this.file)) return [];
    let parsed: { keys?: unknown };
    try {
      parsed = JSON.parse(fs.readFileSync(this.file, 'utf8')) as { keys?: unknown };
    } catch (e) {
      throw new KeyStoreError(`${this.file}: ${(e as Error).message}`);
    }
    if (!Array.isArray(parsed.keys)) throw new KeyStoreError(`${this.file}: needs a "keys" array`);
    const keys = parsed.keys.map((k) => checkMeta(k, this.file));
    const names = new Set(keys.map((k) => `${k.purpose}/${k.version}`));
    if (names.size !== keys.length) throw new KeyStoreError(`${this.file}: a purpose lists one version twice`);
    return keys.sort((a, b) => a.purpose.localeCompare(b.purpose) || a.version - b.version);
  }

  /** Reads the file again (another process — `medid keys` — may have changed it). */
  reload(): void {
    this.keys = this.read();
  }

  list(purpose?: KeyPurpose): KeyMeta[] {
    return this.keys.filter((k) => purpose === undefined || k.purpose === purpose).map((k) => ({ ...k }));
  }

  get(purpose: KeyPurpose, version: number): KeyMeta | undefined {
    const k = this.keys.find((x) => x.purpose === purpose && x.version === version);
    return k ? { ...k } : undefined;
  }

  nextVersion(purpose: KeyPurpose): number {
    return Math.max(0, ...this.keys.filter((k) => k.purpose === purpose).map((k) => k.version)) + 1;
  }

  add(purpose: KeyPurpose, version: number, alg: KeyAlgorithm, extra: Partial<KeyMeta> = {}): KeyMeta {
    if (this.get(purpose, version)) throw new KeyStoreError(`${purpose} v${version} is already in the keyring`);
    const meta: KeyMeta = { purpose, version, status: 'pending', alg, createdAt: new Date().toISOString(), ...extra };
    this.keys.push(meta);
    this.keys.sort((a, b) => a.purpose.localeCompare(b.purpose) || a.version - b.version);
    this.save({ event: extra.legacy ? 'recorded' : 'created', purpose, version, alg, status: meta.status });
    return { ...meta };
  }

  setStatus(purpose: KeyPurpose, version: number, status: KeyStatus, until?: Date): KeyMeta {
    const k = this.keys.find((x) => x.purpose === purpose && x.version === version);
    if (!k) throw new KeyStoreError(`${purpose} v${version} is not in the keyring`);
    const from = k.status;
    k.status = status;
    if (until) k.until = until.toISOString();
    else delete k.until;
    this.save({ event: 'status', purpose, version, from, status, until: k.until });
    return { ...k };
  }

  private save(event: Record<string, unknown>): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify({ keys: this.keys }, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(tmp, this.file);
    fs.appendFileSync(
      path.join(this.dir, CEREMONY_LOG),
      `${JSON.stringify({ at: new Date().toISOString(), pid: process.pid, ...event })}\n`,
      {
        mode: 0o600,
      },
    );
  }
}
