/**
 * A `medid backup` directory and its manifest: what each file must hash to, which keys the data
 * was written with (by SHA-256 fingerprint, never the key) and whether they are in the backup.
 *
 *   <dir>/manifest.json      written last: a backup without one is incomplete
 *   <dir>/database.tar.gz    the embedded database's data directory (PGlite dumpDataDir)
 *   <dir>/keys/…             the key directory as it was (MEDID_KEY_DIR, else MEDID_DATA_DIR/keys;
 *                            0700/0600), unless --without-keys
 *
 * Why keys are in by default: the data is useless without them (the My Number MACs, every
 * pseudonym and the log's signing key derive from them; a server started without them generates
 * new ones silently, and a person registered again would get a second medical ID), and the data
 * directory already holds both. Keep a backup as you keep the data directory. Keys named by
 * MEDID_*_FILE live elsewhere by the operator's choice and are never copied; their fingerprints
 * are kept so that `restore` refuses to run the data with other keys.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { IntegrityReport } from './integrity.ts';

export const MANIFEST = 'manifest.json';
export const DATABASE_FILE = 'database.tar.gz';
export const FORMAT = 'medid-backup';
export const FORMAT_VERSION = 1;

/** The environment variables that name key files outside the data directory. */
export const KEY_FILE_VARIABLES = [
  'MEDID_SIGNING_KEY_FILE',
  'MEDID_SECRET_FILE',
  'MEDID_PSEUDONYM_KEY_FILE',
  'MEDID_ENVELOPE_KEY_FILE',
  'MEDID_LOG_KEY_FILE',
] as const;

export interface FileEntry {
  /** Its path in the backup directory (a key: `keys/<its path in the key directory>`). */
  file: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: typeof FORMAT;
  version: typeof FORMAT_VERSION;
  createdAt: string;
  medid: string;
  database: FileEntry & { driver: 'pglite'; schema: number };
  keys: {
    /** Whether the key files are in this backup (keys/…) or only their fingerprints. */
    included: boolean;
    /** The key directory's files (`keys/<name>`) as they were; in the backup when `included`. */
    files: FileEntry[];
    /** Key files named by MEDID_*_FILE at backup time: never copied. */
    external: { variable: string; sha256: string }[];
  };
  /** The checks as they stood at backup time; null when the schema was older than this medid (checked at restore). */
  check: IntegrityReport | null;
}

export function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** `abs` described as `file` (its path in the backup). */
export function entryOf(abs: string, file: string): FileEntry {
  return { file, bytes: fs.statSync(abs).size, sha256: sha256File(abs) };
}

/** Where medid keeps its key files: MEDID_KEY_DIR, else `<MEDID_DATA_DIR>/keys` (as core/keys/key-config.ts reads it). */
export function keyDirOf(dataDir: string, env: NodeJS.ProcessEnv): string {
  return env['MEDID_KEY_DIR'] ? path.resolve(env['MEDID_KEY_DIR']) : path.join(dataDir, 'keys');
}

/** A key file's place in the key directory, from its path in the backup (`keys/<name>`). */
export function keyPath(keyDir: string, file: string): string {
  return path.join(keyDir, path.relative('keys', file));
}

/** Every regular file under the key directory, as their `keys/…` paths in a backup, sorted. */
export function keyFilesOf(keyDir: string): string[] {
  if (!fs.existsSync(keyDir)) return [];
  return fs
    .readdirSync(keyDir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && !d.name.endsWith('.tmp'))
    .map((d) => ['keys', ...path.relative(keyDir, path.join(d.parentPath, d.name)).split(path.sep)].join('/'))
    .sort();
}

/** The key files MEDID_*_FILE name now, with their fingerprints. */
export function externalKeys(env: NodeJS.ProcessEnv): { variable: string; file: string; sha256: string | undefined }[] {
  return KEY_FILE_VARIABLES.flatMap((variable) => {
    const file = env[variable];
    if (!file) return [];
    return [{ variable, file, sha256: fs.existsSync(file) ? sha256File(file) : undefined }];
  });
}

export class BackupError extends Error {
  override name = 'BackupError';
}

/** Reads the manifest and checks every file it lists, before anything is restored; throws naming what is wrong. */
export function readVerified(dir: string): Manifest {
  const file = path.join(dir, MANIFEST);
  if (!fs.existsSync(file)) throw new BackupError(`${dir} holds no ${MANIFEST}: not a medid backup, or an unfinished one`);
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  } catch (e) {
    throw new BackupError(`${file}: ${(e as Error).message}`);
  }
  if (m.format !== FORMAT || m.version !== FORMAT_VERSION)
    throw new BackupError(
      `${file}: format ${JSON.stringify(m.format)} v${JSON.stringify(m.version)}, this medid reads ${FORMAT} v${FORMAT_VERSION}`,
    );
  for (const k of m.keys.files) {
    const rel = path.normalize(k.file);
    if (!rel.startsWith(`keys${path.sep}`)) throw new BackupError(`${file}: a key file outside keys/ (${k.file})`);
  }
  const listed = [m.database, ...(m.keys.included ? m.keys.files : [])];
  for (const e of listed) {
    const rel = path.normalize(e.file);
    if (path.isAbsolute(rel) || rel.startsWith('..')) throw new BackupError(`${file}: a file outside the backup (${e.file})`);
    const abs = path.join(dir, rel);
    if (!fs.existsSync(abs)) throw new BackupError(`${e.file} is missing from the backup`);
    const size = fs.statSync(abs).size;
    if (size !== e.bytes) throw new BackupError(`${e.file}: ${size} bytes, the manifest says ${e.bytes}: the backup is damaged`);
    if (sha256File(abs) !== e.sha256) throw new BackupError(`${e.file}: SHA-256 differs from the manifest: the backup is damaged`);
  }
  return m;
}
