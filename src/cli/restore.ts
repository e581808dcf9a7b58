/**
 * `medid restore <dir> [--force]`: a `medid backup` back into MEDID_DATA_DIR, in an order that
 * changes nothing until the copy is known good:
 *   1. every file against the manifest's SHA-256 (backup-manifest.ts `readVerified`);
 *   2. the target: refused while a process holds its database, refused when it holds one and
 *      --force is absent, and the keys the data will run with against the manifest's
 *      fingerprints (in the backup, already in MEDID_DATA_DIR/keys, or named by MEDID_*_FILE);
 *   3. the database opened apart (pglite.restore-<pid>), migrated as the server would, checked
 *      (integrity.ts: registry uniqueness from the rows, the access log as `log verify`), and
 *      compared with the counts and log root recorded at backup;
 *   4. only then put in place, under the data directory's lock; a replaced database and replaced
 *      key files are kept aside (…before-restore-<time>), never deleted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config.ts';
import { migrate } from '../store/migrate.ts';
import { lockDataDir } from '../store/pglite.ts';
import { parseCommand, UsageError } from './args.ts';
import { POSTGRES_BACKUP_HINT, openEmbedded } from './backup.ts';
import { BackupError, DATABASE_FILE, externalKeys, keyDirOf, keyPath, readVerified, sha256File } from './backup-manifest.ts';
import type { Manifest } from './backup-manifest.ts';
import { RESTORE } from './commands.ts';
import { differences, formatIntegrity, integrityReport } from './integrity.ts';
import type { IntegrityReport } from './integrity.ts';

/** What restoring the keys will do; throws when the data would run with other keys than it was written with. */
function planKeys(m: Manifest, keyDir: string, force: boolean): { copy: string[]; replace: string[] } {
  const copy: string[] = [];
  const replace: string[] = [];
  for (const k of m.keys.files) {
    const here = keyPath(keyDir, k.file);
    const same = fs.existsSync(here) && sha256File(here) === k.sha256;
    if (m.keys.included) {
      if (same) continue;
      if (fs.existsSync(here)) {
        if (!force)
          throw new BackupError(
            `${here} differs from the key in the backup: the restored data needs the backup's (--force keeps the present one aside and puts the backup's in place)`,
          );
        replace.push(k.file);
      }
      copy.push(k.file);
    } else if (!same) {
      throw new BackupError(
        `the backup was made --without-keys: put the data's own key back at ${here} (sha256 ${k.sha256}) before restoring — with another key, My Number lookups, pseudonyms and the log's signature would all change`,
      );
    }
  }
  const now = new Map(externalKeys(process.env).map((k) => [k.variable, k]));
  for (const k of m.keys.external) {
    const cur = now.get(k.variable);
    if (!cur) throw new BackupError(`the data was written with ${k.variable} set (a key kept outside the data directory): set it again`);
    if (cur.sha256 !== k.sha256)
      throw new BackupError(
        `${k.variable} (${cur.file}) is not the key the data was written with (its SHA-256 differs from the manifest's)`,
      );
  }
  return { copy, replace };
}

export async function restoreCommand(args: string[]): Promise<number> {
  const opts = parseCommand(RESTORE, args);
  const [source] = opts.positionals;
  if (!source) throw new UsageError('needs the backup directory', RESTORE.name);
  const force = opts.flag('force');
  const config = loadConfig();
  if (config.databaseUrl) throw new BackupError(`medid restore restores the embedded database; ${POSTGRES_BACKUP_HINT}`);
  const dir = path.resolve(source);

  // 1–2: nothing is touched until the backup and the target are known good.
  const m = readVerified(dir);
  const dbDir = path.join(config.dataDir, 'pglite');
  const holdsDb = fs.existsSync(path.join(dbDir, 'PG_VERSION'));
  if (holdsDb && !force)
    throw new BackupError(
      `${config.dataDir} already holds a database (${dbDir}): restore into an empty MEDID_DATA_DIR, or give --force to replace it`,
    );
  const keyDir = keyDirOf(config.dataDir, process.env);
  const keys = planKeys(m, keyDir, force);
  // Refused now, whatever --force says, while a process has the present database open.
  if (fs.existsSync(dbDir)) lockDataDir(dbDir)();

  // 3: opened, migrated and checked apart.
  fs.mkdirSync(config.dataDir, { recursive: true });
  const staging = path.join(config.dataDir, `pglite.restore-${process.pid}`);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  let report: IntegrityReport;
  try {
    const tarball = new Blob([fs.readFileSync(path.join(dir, DATABASE_FILE))]);
    const db = await openEmbedded(staging, 'medid restore', tarball);
    try {
      await migrate(db);
      report = await integrityReport(db);
    } finally {
      await db.close();
    }
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  const differ = m.check ? differences(m.check, report) : [];
  process.stdout.write(formatIntegrity(report));
  if (!report.ok || differ.length > 0) {
    fs.rmSync(staging, { recursive: true, force: true });
    for (const d of differ) process.stdout.write(`  differs from the backup: ${d}\n`);
    process.stderr.write(`medid restore: the restored copy failed its checks (above); ${config.dataDir} was not changed\n`);
    return 1;
  }

  // 4: in place, under the data directory's lock (a server starting now waits for nothing: it is refused).
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const aside: string[] = [];
  if (fs.existsSync(dbDir)) {
    lockDataDir(dbDir); // refused if a process took it meanwhile; the lock leaves with the old directory
    const old = `${dbDir}.before-restore-${stamp}`;
    fs.renameSync(dbDir, old);
    fs.rmSync(path.join(old, 'medid.lock'), { force: true });
    if (holdsDb) aside.push(old);
    else fs.rmSync(old, { recursive: true, force: true });
  }
  fs.renameSync(staging, dbDir);
  for (const rel of keys.replace) {
    const old = `${keyPath(keyDir, rel)}.before-restore-${stamp}`;
    fs.renameSync(keyPath(keyDir, rel), old);
    aside.push(old);
  }
  for (const rel of keys.copy) {
    const to = keyPath(keyDir, rel);
    fs.mkdirSync(path.dirname(to), { recursive: true, mode: 0o700 });
    fs.copyFileSync(path.join(dir, rel), to);
    fs.chmodSync(to, 0o600);
  }
  const lines = [
    `restored ${dir} (made ${m.createdAt} by medid ${m.medid}) into ${config.dataDir}: every check holds${
      m.check ? ', and the counts and access-log root equal those recorded at backup' : ''
    }`,
    m.keys.included
      ? `keys: ${keys.copy.length} restored from the backup, ${m.keys.files.length - keys.copy.length} already in place`
      : `keys: the ${m.keys.files.length} already in ${keyDir} match the backup's fingerprints`,
    ...(m.keys.external.length ? [`keys outside the data directory match: ${m.keys.external.map((k) => k.variable).join(', ')}`] : []),
    ...aside.map((a) => `kept aside (remove it once the restored server is confirmed): ${a}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
