/**
 * Keeps the implementation guide's site built, so `/ig` works right after `npm start`: on the
 * first request to /ig, or 10 s after start-up (when the server is long listening), the
 * site's stamp (a hash of everything the guide is built from) is compared with the sources; when
 * the site is missing or stale, `scripts/build-ig.ts` runs in a child process at low priority
 * (~3 s; the FHIR API is never blocked by it), writing next to its sources (ig/site, never
 * src/). Requests to /ig wait for it. Where the sources or the build script are absent (the
 * container image, which ships a prebuilt site), the site is served as it is.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../core/logger.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD_SCRIPT = path.join(ROOT, 'scripts', 'build-ig.ts');
/** The stamp the build writes into the site. */
export const STAMP_FILE = '.build-stamp.json';

function filesUnder(dir: string, skip: (name: string) => boolean): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => !skip(e.name))
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name), skip) : e.isFile() ? [path.join(dir, e.name)] : []));
}

/**
 * A hash of what the guide is built from: its sources (pages, examples, recorded exchanges),
 * the published JSON in profiles/, the build scripts and the package version.
 */
export function igFingerprint(sourceDir: string, siteDir = path.join(sourceDir, 'site')): string {
  const site = path.basename(siteDir);
  const inputs = [
    ...filesUnder(sourceDir, (n) => n.startsWith('.') || n === site || n.startsWith(`${site}.`)),
    ...filesUnder(path.join(ROOT, 'profiles'), (n) => n === 'fsh'),
    ...filesUnder(path.join(ROOT, 'scripts'), (n) => !/^(build-ig|ig-[a-z-]+|fhir-core-package)\.ts$/.test(n)),
    path.join(ROOT, 'package.json'),
  ].sort();
  const h = crypto.createHash('sha256');
  for (const f of inputs) {
    h.update(path.relative(ROOT, f)).update('\0');
    h.update(fs.readFileSync(f)).update('\0');
  }
  return h.digest('hex');
}

export type SiteState = 'fresh' | 'built' | 'prebuilt' | 'missing' | 'failed';

function stampOf(siteDir: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(siteDir, STAMP_FILE), 'utf8')) as { fingerprint?: string }).fingerprint;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes what builds that were killed left beside the site (their temporary sites, their lock). */
export function removeLeftovers(siteDir: string): void {
  const dir = path.dirname(siteDir);
  const name = path.basename(siteDir);
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) {
    const m = /^(.+)\.(tmp|old)-(\d+)$/.exec(f);
    if (m?.[1] === name && !alive(Number(m[3]))) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
  }
  const lock = `${siteDir}.lock`;
  try {
    if (!alive(Number(fs.readFileSync(lock, 'utf8')))) fs.rmSync(lock, { force: true });
  } catch {
    // no lock
  }
}

/** Builds the site when it is missing or stale; `ready` settles when it may be served. */
export class IgBuilder {
  readonly siteDir: string;
  readonly sourceDir: string;
  private readonly logger: Logger | undefined;
  state: SiteState = 'missing';
  private started: Promise<SiteState> | undefined;

  /** Checks (and builds) by itself `delayMs` after construction, unless a request came first. */
  constructor(siteDir: string, logger?: Logger, delayMs = 10_000) {
    this.siteDir = path.resolve(siteDir);
    this.sourceDir = path.dirname(this.siteDir);
    this.logger = logger;
    setTimeout(() => void this.ready(), delayMs).unref();
  }

  /** Settles when the site may be served (built, fresh, prebuilt) or cannot be (missing, failed). */
  ready(): Promise<SiteState> {
    this.started ??= this.ensure().then(
      (s) => (this.state = s),
      (e: unknown) => {
        this.logger?.warn({ err: (e as Error).message }, 'implementation guide: could not check or build the site');
        return (this.state = 'failed');
      },
    );
    return this.started;
  }

  private hasIndex(): boolean {
    return fs.existsSync(path.join(this.siteDir, 'index.html'));
  }

  private async ensure(): Promise<SiteState> {
    await Promise.resolve();
    const buildable =
      fs.existsSync(BUILD_SCRIPT) && fs.existsSync(this.sourceDir) && fs.readdirSync(this.sourceDir).some((f) => f.endsWith('.md'));
    if (!buildable) return this.hasIndex() ? 'prebuilt' : 'missing';
    removeLeftovers(this.siteDir);
    const want = igFingerprint(this.sourceDir, this.siteDir);
    if (this.hasIndex() && stampOf(this.siteDir) === want) return 'fresh';
    return this.buildOnce(want);
  }

  /** One build at a time per site, across processes (a lock file next to the site). */
  private async buildOnce(want: string): Promise<SiteState> {
    const lock = `${this.siteDir}.lock`;
    for (let waited = 0; ; waited += 500) {
      try {
        fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        if (!alive(Number(fs.readFileSync(lock, 'utf8'))) || waited > 120_000) {
          fs.rmSync(lock, { force: true });
          continue;
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
        if (this.hasIndex() && stampOf(this.siteDir) === want) return 'fresh';
      }
    }
    try {
      if (this.hasIndex() && stampOf(this.siteDir) === want) return 'fresh';
      return await this.build();
    } finally {
      fs.rmSync(lock, { force: true });
    }
  }

  private build(): Promise<SiteState> {
    const started = performance.now();
    this.logger?.info({ site: this.siteDir }, 'implementation guide: building the site in the background');
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BUILD_SCRIPT], {
        cwd: ROOT,
        env: { ...process.env, MEDID_IG_DIR: this.sourceDir, MEDID_IG_SITE_DIR: this.siteDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // Below the server's priority: on a busy machine requests go first.
      if (child.pid !== undefined) {
        try {
          os.setPriority(child.pid, 10);
        } catch {
          // not permitted: runs at the same priority
        }
      }
      let output = '';
      const keep = (d: Buffer): void => {
        output = `${output}${d.toString()}`.slice(-4000);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      const stop = (): void => {
        child.kill();
      };
      process.once('exit', stop);
      child.on('error', (e) => {
        process.removeListener('exit', stop);
        this.logger?.warn({ err: e.message }, 'implementation guide: the build could not start');
        resolve(this.hasIndex() ? 'prebuilt' : 'failed');
      });
      child.on('exit', (code) => {
        process.removeListener('exit', stop);
        const ms = Math.round(performance.now() - started);
        if (code === 0) {
          this.logger?.info({ ms }, 'implementation guide: site built');
          resolve('built');
        } else {
          this.logger?.warn({ code, ms, output: output.trim() }, 'implementation guide: the build failed (run `npm run ig` to see why)');
          resolve(this.hasIndex() ? 'prebuilt' : 'failed');
        }
      });
    });
  }
}
