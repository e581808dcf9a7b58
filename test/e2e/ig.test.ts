/**
 * The implementation guide: `npm run ig` builds (validating every example and every published
 * resource), the server serves it under /ig, a broken example fails the build, and every
 * example and profile also validates through the API's $validate.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { PROFILES_DIR, startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

function buildIg(env: Record<string, string> = {}): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['scripts/build-ig.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
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
    const built = buildIg({ MEDID_IG_DIR: igCopy });
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

  it('refuses to build when an example does not validate', () => {
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-ig-broken-'));
    fs.cpSync(path.join(ROOT, 'ig'), broken, { recursive: true, filter: (src) => !src.includes(`${path.sep}site`) });
    const f = path.join(broken, 'examples', 'Patient-example-patient.json');
    const p = JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;
    delete p['birthDate'];
    fs.writeFileSync(f, JSON.stringify(p));
    const r = buildIg({ MEDID_IG_DIR: broken });
    expect(r.status).toBe(1);
    expect(r.out).toContain('Patient/example-patient');
    expect(r.out).toContain('birthDate');
    expect(fs.existsSync(path.join(broken, 'site', 'index.html'))).toBe(false);
    fs.rmSync(broken, { recursive: true, force: true });
  }, 120_000);

  it('every example in ig/examples and every resource in profiles/ validates with $validate', async () => {
    const all = [
      ...jsonFiles(path.join(ROOT, 'ig', 'examples')),
      ...['StructureDefinition', 'NamingSystem', 'OperationDefinition', 'SearchParameter', 'CodeSystem', 'ValueSet'].flatMap((t) =>
        jsonFiles(path.join(PROFILES_DIR, t)),
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
