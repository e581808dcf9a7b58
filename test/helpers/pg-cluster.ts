/**
 * A PostgreSQL cluster of a test's own (initdb into a temporary directory, started on a free
 * port), so the test may stop and start it — a real outage — without touching the shared
 * server. PostgreSQL refuses to run as root: under root the commands run as the `postgres` user.
 * `pgClusterUnavailable` says why a cluster cannot be had (no initdb, no unprivileged user)
 * without starting anything, so a suite can skip loudly instead of silently. A cluster may
 * archive its WAL (`archive`), or start from a base backup in archive recovery (`recover`): what
 * a point-in-time recovery needs (test/e2e/backup-pitr.test.ts).
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';

const run = promisify(execFile);

export interface PgCluster {
  port: number;
  dir: string;
  /** A connection string to `database` (default `postgres`). */
  url(database?: string): string;
  /** Stops the server: `fast` (sessions get 57P01 admin_shutdown, as in a planned restart) or `immediate` (as in a crash). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** Whether the server was started and not stopped since. */
  running(): boolean;
  /** Stops the server if it runs and removes its directory; never throws. */
  destroy(): Promise<void>;
  /** The server's log (for a failing test's message). */
  log(): string;
  /** With `archive`: the directory every completed WAL segment is copied into. */
  archiveDir: string | undefined;
  /** Runs a PostgreSQL program of the same installation (pg_basebackup…) as the cluster's owner; its stdout. */
  program(cmd: string, args: string[]): Promise<string>;
}

export interface PgClusterOptions {
  /** Archive WAL (archive_mode on, wal_level replica) into `<dir>/wal-archive`, as PITR needs. */
  archive?: boolean;
  /**
   * Start from a base backup (a pg_basebackup directory) instead of initdb, in archive recovery:
   * `conf` (restore_command, recovery_target_…) is added to its postgresql.conf, with recovery.signal.
   */
  recover?: { backup: string; conf: string[] };
}

/** The directory holding initdb and pg_ctl: $PG_BIN, `pg_config --bindir`, or the newest /usr/lib/postgresql/<v>/bin. */
async function binDir(): Promise<string | undefined> {
  const candidates: string[] = [];
  if (process.env['PG_BIN']) candidates.push(process.env['PG_BIN']);
  try {
    candidates.push((await run('pg_config', ['--bindir'])).stdout.trim());
  } catch {
    // no pg_config on PATH
  }
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    const versions = fs
      .readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(root, v, 'bin')));
  }
  return candidates.find((d) => fs.existsSync(path.join(d, 'initdb')) && fs.existsSync(path.join(d, 'pg_ctl')));
}

interface Support {
  bin: string;
  /** Under root: the command prefix and the owner of the cluster's directory. */
  prefix: string[];
  owner: { uid: number; gid: number } | undefined;
}

/** What starting a cluster needs, or why it cannot be had. Starts nothing. */
async function support(): Promise<Support | { unavailable: string }> {
  const bin = await binDir();
  if (!bin) return { unavailable: 'initdb and pg_ctl were not found (set PG_BIN, or put pg_config on PATH)' };
  // PostgreSQL will not run as root: run its commands as the postgres user then.
  if (process.getuid?.() !== 0) return { bin, prefix: [], owner: undefined };
  try {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    return { bin, prefix: ['runuser', '-u', 'postgres', '--'], owner: { uid, gid } };
  } catch {
    return { unavailable: 'running as root and there is no postgres user to run initdb as' };
  }
}

/** Why a cluster of a test's own cannot be started here, or undefined when it can (checks, starts nothing). */
export async function pgClusterUnavailable(): Promise<string | undefined> {
  const s = await support();
  return 'unavailable' in s ? s.unavailable : undefined;
}

/** Starts a fresh cluster (stopped in `destroy`, or at the latest when the process exits). */
export async function startPgCluster(o: PgClusterOptions = {}): Promise<PgCluster> {
  const found = await support();
  if ('unavailable' in found) throw new Error(found.unavailable);
  const { bin, prefix, owner } = found;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-pg-'));
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const asOwner = async (file: string, args: string[]): Promise<string> => {
    const [first = '', ...rest] = [...prefix, file, ...args];
    return (await run(first, rest, { timeout: 60_000 })).stdout;
  };
  const exec = async (cmd: string, args: string[]): Promise<void> => {
    await asOwner(path.join(bin, cmd), args);
  };
  const archiveDir = o.archive ? path.join(dir, 'wal-archive') : undefined;
  const port = await freePort();
  const options = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dir}`,
    '-c autovacuum=off',
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=50',
    '-c shared_buffers=16MB',
  ].join(' ');
  let running = false;
  // Should the test process end without destroy (a crash, a filter that skipped the hooks), the
  // server must not outlive it.
  const atExit = (): void => {
    const command = [...prefix, path.join(bin, 'pg_ctl'), 'stop', '-D', data, '-m', 'immediate'];
    try {
      execFileSync(command[0], command.slice(1), { stdio: 'ignore' });
    } catch {
      // not running
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', atExit);
  const cluster: PgCluster = {
    port,
    dir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    start: async () => {
      await exec('pg_ctl', ['start', '-D', data, '-l', logFile, '-w', '-t', '60', '-o', options]);
      running = true;
    },
    running: () => running,
    stop: async (mode = 'fast') => {
      await exec('pg_ctl', ['stop', '-D', data, '-m', mode, '-w', '-t', '60']);
      running = false;
    },
    destroy: async () => {
      try {
        if (running || fs.existsSync(path.join(data, 'postmaster.pid'))) await cluster.stop('immediate');
      } catch {
        // already stopped
      }
      fs.rmSync(dir, { recursive: true, force: true });
      process.removeListener('exit', atExit);
    },
    log: () => {
      try {
        return fs.readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    archiveDir,
    program: (cmd, args) => asOwner(path.join(bin, cmd), args),
  };
  try {
    const conf: string[] = [];
    if (o.recover) {
      await asOwner('cp', ['-a', o.recover.backup, data]);
      await asOwner('touch', [path.join(data, 'recovery.signal')]);
      conf.push(...o.recover.conf);
    } else {
      await exec('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    }
    if (archiveDir) {
      await asOwner('mkdir', [archiveDir]);
      conf.push('wal_level = replica', 'archive_mode = on', `archive_command = 'test ! -f ${archiveDir}/%f && cp %p ${archiveDir}/%f'`);
    }
    if (conf.length)
      fs.appendFileSync(path.join(data, 'postgresql.conf'), `\n# ${o.recover ? 'recovery' : 'archiving'}\n${conf.join('\n')}\n`);
    await cluster.start();
  } catch (e) {
    await cluster.destroy();
    throw e;
  }
  return cluster;
}
