/**
 * `medid backup <dir> [--without-keys]`: the embedded database, consistent (store/pglite.ts
 * `backup()`), with its keys and a SHA-256 manifest (backup-manifest.ts says why keys are in by
 * default). The running server holds the database (one process at a time may open it): the
 * command then refuses, naming the process and what to do. PostgreSQL is backed up with its own
 * tools (README, "Backup and restore").
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config.ts';
import { schemaVersion } from '../store/integrity.ts';
import { DatabaseInUseError, PgliteDb } from '../store/pglite.ts';
import { parseCommand, UsageError } from './args.ts';
import {
  BackupError,
  DATABASE_FILE,
  entryOf,
  externalKeys,
  FORMAT,
  FORMAT_VERSION,
  keyDirOf,
  keyFilesOf,
  keyPath,
  MANIFEST,
} from './backup-manifest.ts';
import type { Manifest } from './backup-manifest.ts';
import { BACKUP } from './commands.ts';
import { formatIntegrity, integrityReport } from './integrity.ts';

export const POSTGRES_BACKUP_HINT =
  'with PostgreSQL (DATABASE_URL), back up with its own tools — a base backup (pg_basebackup) and WAL archiving, for point-in-time recovery — and run `medid check` after a restore: README, "Backup and restore"';

export function medidVersion(): string {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

/** Opens the embedded database for a backup or restore, or says plainly who holds it and what to do. */
export async function openEmbedded(dir: string, what: string, template?: Blob): Promise<PgliteDb> {
  try {
    return await PgliteDb.open(dir, template);
  } catch (e) {
    if (e instanceof DatabaseInUseError)
      throw new BackupError(
        `${what}: the embedded database in ${dir} is open in process ${e.pid ?? '?'} (a running medid server?), and PGlite lets one process at a time open it. Stop that process (SIGTERM: it finishes its requests), run this again (seconds for a small registry), then start it again. Backups while serving need PostgreSQL: README, "Backup and restore".`,
      );
    throw e;
  }
}

export async function backupCommand(args: string[]): Promise<number> {
  const opts = parseCommand(BACKUP, args);
  const [target] = opts.positionals;
  if (!target) throw new UsageError('needs the directory to write the backup into', BACKUP.name);
  const config = loadConfig();
  if (config.databaseUrl) throw new BackupError(`medid backup copies the embedded database; ${POSTGRES_BACKUP_HINT}`);
  const dir = path.resolve(target);
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0)
    throw new BackupError(`${dir} is not empty: give a new directory for each backup`);
  const dbDir = path.join(config.dataDir, 'pglite');
  if (!fs.existsSync(path.join(dbDir, 'PG_VERSION'))) throw new BackupError(`no embedded database in ${config.dataDir} (MEDID_DATA_DIR)`);
  const dataInside = path.relative(config.dataDir, dir);
  if (!dataInside.startsWith('..') && !path.isAbsolute(dataInside))
    throw new BackupError(`${dir} is inside the data directory ${config.dataDir}: keep backups elsewhere`);

  const db = await openEmbedded(dbDir, 'medid backup');
  let manifest: Manifest;
  try {
    const schema = await schemaVersion(db);
    // Checked as it stands, not migrated: a backup copies the database, it never changes it.
    const check = schema.applied === schema.known ? await integrityReport(db) : null;
    const tarball = await db.backup();
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, DATABASE_FILE), Buffer.from(await tarball.arrayBuffer()), { mode: 0o600 });
    const withKeys = !opts.flag('without-keys');
    const keyDir = keyDirOf(config.dataDir, process.env);
    const keyFiles = keyFilesOf(keyDir);
    if (withKeys)
      for (const rel of keyFiles) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true, mode: 0o700 });
        fs.copyFileSync(keyPath(keyDir, rel), path.join(dir, rel));
        fs.chmodSync(path.join(dir, rel), 0o600);
      }
    const external = externalKeys(process.env).flatMap((k) => (k.sha256 ? [{ variable: k.variable, sha256: k.sha256 }] : []));
    manifest = {
      format: FORMAT,
      version: FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      medid: medidVersion(),
      database: { ...entryOf(path.join(dir, DATABASE_FILE), DATABASE_FILE), driver: 'pglite', schema: schema.applied },
      keys: {
        included: withKeys,
        files: keyFiles.map((rel) => entryOf(keyPath(keyDir, rel), rel)),
        external,
      },
      check,
    };
    // Written last, atomically: a directory without it is an unfinished backup.
    const tmp = path.join(dir, `${MANIFEST}.tmp`);
    fs.writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(tmp, path.join(dir, MANIFEST));
  } finally {
    await db.close();
  }
  const keys = manifest.keys;
  const keyDir = keyDirOf(config.dataDir, process.env);
  const lines = [
    `backup written to ${dir}: ${DATABASE_FILE} (${manifest.database.bytes} bytes, sha256 ${manifest.database.sha256}), ${MANIFEST}`,
    keys.included
      ? `keys: INCLUDED — ${keys.files.length} file(s) from ${keyDir} in ${path.join(dir, 'keys')}: whoever holds this backup holds the key files (with the file back end: the My Number MAC key, the pseudonym master key, the log's signing key); keep it as you keep the data directory`
      : `keys: NOT included (--without-keys) — ${keys.files.length} file(s) of ${keyDir} recorded by fingerprint only: restore needs them back there first`,
    ...(keys.external.length
      ? [
          `keys kept outside the data directory (never copied; restore checks their fingerprints): ${keys.external.map((k) => k.variable).join(', ')}`,
        ]
      : []),
    manifest.check
      ? formatIntegrity(manifest.check).trimEnd()
      : 'checks: the schema is older than this medid; `medid restore` checks after migrating',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (manifest.check && !manifest.check.ok) {
    process.stderr.write('medid backup: WARNING: the database failed its checks (above); the backup was written as it is\n');
    return 1;
  }
  return 0;
}
