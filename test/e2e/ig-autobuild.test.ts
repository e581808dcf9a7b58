/**
 * `/ig` works right after start-up, without `npm run ig`: a server given a site directory that
 * is missing or stale builds it in the background (a child process), the FHIR API answers
 * meanwhile, a request to /ig waits for the build, a fresh site is not built again, a changed
 * page is, and a build that fails leaves the API up and /ig saying why.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { STAMP_FILE } from '../../src/http/ig-build.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

function igCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-ig-auto-'));
  fs.cpSync(path.join(ROOT, 'ig'), dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}site`) });
  return dir;
}

async function start(siteDir: string): Promise<{ s: TestServer; logs: () => string }> {
  let logs = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs += chunk.toString();
      done();
    },
  });
  const s = await startTestServer('pglite', { logger: pino({ level: 'info' }, sink), deps: { igSiteDir: siteDir } });
  return { s, logs: () => logs };
}

/** GET under /ig, coming back while it answers 503 (a build at low priority on a busy machine). */
async function igGet(url: string): Promise<Response> {
  for (let i = 0; ; i++) {
    const res = await fetch(url);
    if (res.status !== 503 || i >= 5) return res;
  }
}

describe('the implementation guide without `npm run ig`', () => {
  const dirs: string[] = [];
  const servers: TestServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('is built in the background at start-up, while the FHIR API answers; /ig waits for it', async () => {
    const ig = igCopy();
    dirs.push(ig);
    const site = path.join(ig, 'site');
    expect(fs.existsSync(site)).toBe(false);
    const started = performance.now();
    const { s, logs } = await start(site);
    servers.push(s);
    const homeResponse = igGet(`${s.root}/ig/`); // starts the build (else it starts 10 s after start-up)
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    const metadata = await fetch(`${s.base}/metadata`);
    const apiMs = performance.now() - t0;
    expect(metadata.status).toBe(200);
    expect((await fetch(`${s.root}/readyz`)).status).toBe(200);
    // The API answered while the build (seconds, in a child process) was still running.
    expect(fs.existsSync(path.join(site, STAMP_FILE))).toBe(false);
    const home = await homeResponse;
    const igMs = performance.now() - started;
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('medid Implementation Guide');
    expect((await fetch(`${s.root}/ig/package.tgz`)).headers.get('content-type')).toMatch(/gzip/);
    expect(fs.existsSync(path.join(site, STAMP_FILE))).toBe(true);
    expect(logs()).toContain('site built');
    process.stdout.write(
      `ig auto-build: /fhir/metadata ${Math.round(apiMs)} ms during the build; /ig/ served after ${Math.round(igMs)} ms\n`,
    );
    expect(fs.readdirSync(ig).filter((f) => f.startsWith('site.'))).toEqual([]);
  }, 400_000);

  it('is not built again when fresh, and is rebuilt when a page changed', async () => {
    const ig = dirs[0] ?? '';
    const site = path.join(ig, 'site');
    const stamp = fs.readFileSync(path.join(site, STAMP_FILE), 'utf8');
    const again = await start(site);
    servers.push(again.s);
    expect((await igGet(`${again.s.root}/ig/actors.html`)).status).toBe(200);
    expect(again.logs()).not.toContain('building');
    expect(fs.readFileSync(path.join(site, STAMP_FILE), 'utf8')).toBe(stamp);

    fs.appendFileSync(path.join(ig, 'actors.md'), '\nA sentence added after the last build.\n');
    const changed = await start(site);
    servers.push(changed.s);
    expect(await (await igGet(`${changed.s.root}/ig/actors.html`)).text()).toContain('A sentence added after the last build.');
    expect(changed.logs()).toContain('site built');
  }, 400_000);

  it('a build that fails leaves the API up and /ig saying why', async () => {
    const ig = igCopy();
    dirs.push(ig);
    const f = path.join(ig, 'examples', 'Patient-example-patient.json');
    const p = JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;
    delete p['birthDate'];
    fs.writeFileSync(f, JSON.stringify(p));
    const { s, logs } = await start(path.join(ig, 'site'));
    servers.push(s);
    expect((await fetch(`${s.base}/metadata`)).status).toBe(200);
    const res = await igGet(`${s.root}/ig/`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('could not be built');
    expect(logs()).toContain('the build failed');
    expect(logs()).not.toContain('birthDate":"'); // no resource content in the log
  }, 400_000);
});
