/**
 * The implementation guide: `npm run ig` builds (validating every example and every published
 * resource), the server serves it under /ig, a broken example fails the build, and every
 * example and profile also validates through the API's $validate. Its FHIR package
 * (/ig/package.tgz) unpacks into package/ with an .index.json naming every file; its pages say
 * their language and show each operation's recorded request and response.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { OperationDefinition, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { extract } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { PROFILES_DIR, startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Runs `npm run ig` in a child, without blocking this process (which also runs the test server). */
async function buildIg(env: Record<string, string> = {}): Promise<{ status: number | null; out: string }> {
  const child = spawn(process.execPath, ['scripts/build-ig.ts'], { cwd: ROOT, env: { ...process.env, ...env } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { status, out };
}

function jsonFiles(dir: string): Resource[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Resource);
}

describe('the implementation guide', () => {
  const igCopy = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-ig-'));
  let s: TestServer;
  beforeAll(async () => {
    fs.cpSync(path.join(ROOT, 'ig'), igCopy, { recursive: true, filter: (src) => !src.includes(`${path.sep}site`) });
    const built = await buildIg({ MEDID_IG_DIR: igCopy });
    expect(built.out).toContain('validated');
    expect(built.status).toBe(0);
    s = await startTestServer('pglite', { deps: { igSiteDir: path.join(igCopy, 'site') } });
    useToken(s.token);
  }, 180_000);
  afterAll(async () => {
    await s.close();
    fs.rmSync(igCopy, { recursive: true, force: true });
  });

  it('is served under /ig without a token, with its own CSP', async () => {
    const home = await fetch(`${s.root}/ig/`);
    expect(home.status).toBe(200);
    expect(home.headers.get('content-security-policy')).toContain("style-src 'self'");
    expect(await home.text()).toContain('medid Implementation Guide');
    expect((await fetch(`${s.root}/ig/style.css`)).status).toBe(200);
  });

  it('has a page per profile with an element table generated from the StructureDefinition', async () => {
    const html = await (await fetch(`${s.root}/ig/profiles/medid-patient.html`)).text();
    expect(html).toContain('Patient.identifier:insuredMemberId');
    expect(html).toContain('medid-pat-1');
    const ops = await (await fetch(`${s.root}/ig/operations/validate.html`)).text();
    expect(ops).toContain('{type}.r');
    const ids = await (await fetch(`${s.root}/ig/identifiers.html`)).text();
    expect(ids).toContain('http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID');
    expect(ids).toContain('88134458');
  });

  it('serves the FHIR package: package/ with package.json, an .index.json naming every file, each with its url', async () => {
    const home = await (await fetch(`${s.root}/ig/`)).text();
    expect(home).toContain('href="package.tgz"');
    const res = await fetch(`${s.root}/ig/package.tgz`);
    expect(res.status).toBe(200);
    const tgz = Buffer.from(await res.arrayBuffer());
    expect(tgz.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // gzip
    const tarFile = path.join(os.tmpdir(), `medid-package-${process.pid}.tar`);
    fs.writeFileSync(tarFile, zlib.gunzipSync(tgz));
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-package-'));
    try {
      await extract({ file: tarFile, cwd: out });
      expect(fs.readdirSync(out)).toEqual(['package']);
      const pkg = path.join(out, 'package');
      const manifest = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')) as Record<string, unknown>;
      expect(manifest).toMatchObject({
        name: 'medid.fhir',
        version: '0.1.0',
        fhirVersions: ['4.0.1'],
        dependencies: { 'hl7.fhir.r4.core': '4.0.1' },
      });
      for (const dir of [pkg, path.join(pkg, 'example')]) {
        const index = JSON.parse(fs.readFileSync(path.join(dir, '.index.json'), 'utf8')) as {
          'index-version': number;
          files: { filename: string; resourceType: string; id?: string; url?: string; version?: string; kind?: string; type?: string }[];
        };
        expect(index['index-version']).toBe(1);
        const onDisk = fs.readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'package.json' && f !== '.index.json');
        expect(index.files.map((f) => f.filename).sort()).toEqual(onDisk.sort());
        for (const f of index.files) {
          const r = JSON.parse(fs.readFileSync(path.join(dir, f.filename), 'utf8')) as Record<string, unknown>;
          expect(r['resourceType'], f.filename).toBe(f.resourceType);
          expect(r['id'], f.filename).toBe(f.id);
          expect(r['url'], f.filename).toBe(f.url);
          expect(r['version'], f.filename).toBe(f.version);
          if (f.resourceType === 'StructureDefinition') expect([f.kind, f.type]).toEqual([r['kind'], r['type']]);
        }
      }
      // Every conformance resource medid publishes, and the CapabilityStatement.
      const want = [
        'StructureDefinition',
        'NamingSystem',
        'OperationDefinition',
        'SearchParameter',
        'CodeSystem',
        'ValueSet',
        'Measure',
      ].flatMap((t) => jsonFiles(path.join(PROFILES_DIR, t)).map((r) => `${r.resourceType}-${r.id ?? ''}.json`));
      for (const f of [...want, 'CapabilityStatement-medid.json']) expect(fs.existsSync(path.join(pkg, f)), f).toBe(true);
      const cs = JSON.parse(fs.readFileSync(path.join(pkg, 'CapabilityStatement-medid.json'), 'utf8')) as Record<string, unknown>;
      expect(cs['kind']).toBe('capability');
      expect(fs.readdirSync(path.join(pkg, 'example')).length).toBe(fs.readdirSync(path.join(ROOT, 'ig', 'examples')).length + 1);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
      fs.rmSync(tarFile, { force: true });
    }
  });

  it("says each page's language, marks Japanese words in English pages, and has a Japanese-capable font stack", async () => {
    const home = await (await fetch(`${s.root}/ig/`)).text();
    expect(home).toContain('<html lang="en">');
    expect(home).toContain('<span lang="ja">医療等ID管理機関</span>');
    expect(home).not.toMatch(/<title>[^<]*<span/);
    const ja = await (await fetch(`${s.root}/ig/ja.html`)).text();
    expect(ja).toContain('<html lang="ja">');
    expect(ja).toContain('<header lang="en">');
    const css = await (await fetch(`${s.root}/ig/style.css`)).text();
    for (const font of ['"Hiragino Sans"', '"Noto Sans JP"', '"Yu Gothic"', '"IPAexGothic"', '"IPAGothic"', 'sans-serif'])
      expect(css).toContain(font);
    expect(css).toContain(':lang(ja)');
  });

  it('shows, for every operation, a recorded request (HTTP line, headers, body) and its response', async () => {
    for (const d of jsonFiles(path.join(PROFILES_DIR, 'OperationDefinition')) as OperationDefinition[]) {
      const html = await (await fetch(`${s.root}/ig/operations/${d.code}.html`)).text();
      expect(html, d.code).toContain('<h2 id="examples">Examples</h2>');
      expect(html, d.code).toMatch(
        new RegExp(`<pre>(GET|POST) /fhir/[^ ]*\\$${d.code}[^ ]* HTTP/1\\.1\nHost: localhost:8080\nAuthorization: Bearer \\$TOKEN`),
      );
      expect(html, d.code).toMatch(/<pre>HTTP\/1\.1 20[012] (OK|Created|Accepted)\n/);
    }
    const submit = await (await fetch(`${s.root}/ig/operations/submit.html`)).text();
    expect(submit).toContain('CoverageEligibilityResponse');
    expect(submit).toContain('<span lang="ja">');
  });

  it('refuses to build when an example does not validate', async () => {
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-ig-broken-'));
    fs.cpSync(path.join(ROOT, 'ig'), broken, { recursive: true, filter: (src) => !src.includes(`${path.sep}site`) });
    const f = path.join(broken, 'examples', 'Patient-example-patient.json');
    const p = JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;
    delete p['birthDate'];
    fs.writeFileSync(f, JSON.stringify(p));
    const r = await buildIg({ MEDID_IG_DIR: broken });
    expect(r.status).toBe(1);
    expect(r.out).toContain('Patient/example-patient');
    expect(r.out).toContain('birthDate');
    expect(fs.existsSync(path.join(broken, 'site', 'index.html'))).toBe(false);
    fs.rmSync(broken, { recursive: true, force: true });
  }, 120_000);

  it('every example in ig/examples and every resource in profiles/ validates with $validate', async () => {
    const all = [
      ...jsonFiles(path.join(ROOT, 'ig', 'examples')),
      ...['StructureDefinition', 'NamingSystem', 'OperationDefinition', 'SearchParameter', 'CodeSystem', 'ValueSet', 'Measure'].flatMap(
        (t) => jsonFiles(path.join(PROFILES_DIR, t)),
      ),
    ];
    expect(all.length).toBeGreaterThan(30);
    for (const r of all) {
      const res = await fhirFetch<OperationOutcome>(`${s.base}/${r.resourceType}/$validate`, { method: 'POST', json: r });
      expect(res.status, `${r.resourceType}/${r.id ?? ''}`).toBe(200);
      const errors = res.body.issue.filter((i) => i.severity === 'error' || i.severity === 'fatal');
      expect(errors, `${r.resourceType}/${r.id ?? ''}: ${JSON.stringify(errors)}`).toEqual([]);
    }
  }, 120_000);
});
