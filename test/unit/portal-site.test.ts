/**
 * The person's portal as the router serves it (src/http/portal-site.ts): the page and its modules
 * with a strict CSP, the generated config, and the access-log verifier as browser JavaScript —
 * which, driven by the portal's own proof checker (portal/proof.js), accepts an inclusion proof
 * medid's Merkle tree (src/audit/merkle.ts) makes under a head medid signs, and refuses a tampered
 * one. The Consents the portal writes compile to the rules the server enforces
 * (src/privacy/consent/rules.ts).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519NoteSigner, ed25519VerifierKey, signCheckpoint } from '../../src/audit/checkpoint.ts';
import type { NoteSigner } from '../../src/audit/checkpoint.ts';
import { entryData, entryLeafHash, FIRST_PREV } from '../../src/audit/log-entry.ts';
import type { LogEntry } from '../../src/audit/log-entry.ts';
import { MemoryTree } from '../../src/audit/merkle.ts';
import * as VT from '../../src/audit/verify/log-verify.ts';
import { ID_SYSTEMS } from '../../src/core/systems.ts';
import { logVerifyJs, portalRouter } from '../../src/http/portal-site.ts';
import { rulesOf } from '../../src/privacy/consent/rules.ts';
import type { Consent } from '@medplum/fhirtypes';

const BASE_URL = 'http://localhost:8080/fhir';
const SECTIONS = ['access', 'services', 'coverage', 'consents', 'notices'];

let server: Server;
let origin: string;

beforeAll(async () => {
  const app = express();
  app.use('/portal', portalRouter({ baseUrl: BASE_URL }));
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const get = (p: string, init?: RequestInit) => fetch(`${origin}${p}`, { redirect: 'manual', ...init });

/** The CSP's directives by name. */
function cspOf(res: Response): Map<string, string[]> {
  const csp = res.headers.get('content-security-policy') ?? '';
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name, values]),
  );
}

describe('the portal router', () => {
  it('serves the page with a strict CSP, no-cache, and no inline script or style', async () => {
    const res = await get('/portal/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const csp = cspOf(res);
    expect(csp.get('default-src')).toEqual(["'self'"]);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('style-src')).toEqual(["'self'"]);
    expect(csp.get('connect-src')).toEqual(["'self'", 'http://localhost:8080']);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(res.headers.get('content-security-policy')).not.toMatch(/unsafe|data:|\*/);
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>\s*<html lang="ja">/);
    // Every script is an external module; no inline script, style element, style attribute or handler.
    for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      expect(m[1]).toMatch(/\bsrc="[^"]+"/);
      expect(m[2]?.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
    for (const id of SECTIONS) expect(html).toContain(`<section id="${id}"`);
    expect(html).toMatch(/<main id="main"/);
  });

  it('redirects /portal to /portal/, keeping the query (the redirect URI has the slash)', async () => {
    const res = await get('/portal?code=abc&state=x');
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('/portal/?code=abc&state=x');
  });

  it('serves every module the page loads, and every module they import, as JavaScript', async () => {
    const seen = new Set<string>();
    const queue = ['app.js'];
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      if (seen.has(file)) continue;
      seen.add(file);
      const res = await get(`/portal/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type'), file).toBe('text/javascript; charset=utf-8');
      expect(res.headers.get('content-security-policy'), file).toBeTruthy();
      const js = await res.text();
      for (const m of js.matchAll(/\bimport\s*(?:[^'"]*?\sfrom\s*)?\(?\s*'\.\/([^']+)'/g)) queue.push(m[1]);
    }
    expect([...seen].sort()).toEqual(
      expect.arrayContaining(['access.js', 'app.js', 'auth.js', 'consent.js', 'fhir.js', 'i18n.js', 'log-verify.js', 'proof.js']),
    );
    const css = await get('/portal/portal.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await css.text()).toMatch(/"?IPAGothic"?.*"?Noto Sans JP"?.*sans-serif/);
  });

  it('gives the portal its configuration: FHIR base, endpoints, client and redirect URI', async () => {
    const res = await get('/portal/config.json');
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const config = (await res.json()) as Record<string, unknown>;
    expect(config).toMatchObject({
      fhirBaseUrl: BASE_URL,
      issuer: 'http://localhost:8080/oauth',
      authorizationEndpoint: 'http://localhost:8080/oauth/authorize',
      tokenEndpoint: 'http://localhost:8080/oauth/token',
      clientId: 'medid-portal',
      redirectUri: 'http://localhost:8080/portal/',
      systems: { medicalInstitutionCode: ID_SYSTEMS.medicalInstitutionCode, regionalNetwork: ID_SYSTEMS.regionalNetwork },
    });
    expect(config['scope']).toMatch(/\blaunch\/patient\b/);
    const js = await (await get('/portal/config.js')).text();
    expect(js).toBe(`export default ${JSON.stringify(config, null, 2)};\n`);
  });

  it('answers 304 to a matching ETag, 404 to an unknown file and 405 to anything but GET', async () => {
    const first = await get('/portal/app.js');
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect((await get('/portal/app.js', { headers: { 'If-None-Match': etag } })).status).toBe(304);
    const missing = await get('/portal/nope.js');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-security-policy')).toBeTruthy();
    expect((await get('/portal/../package.json')).status).not.toBe(200);
    const post = await get('/portal/', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});

// ---------------------------------------------------------------------------------------------
// The verifier as the browser gets it, driven by the portal's proof checker

type Verifier = typeof VT;
interface ProofResult {
  state: string;
  reason?: string;
  field?: string;
  index?: number;
  size?: number;
  entry?: VT.LogEntry;
}
interface LogCheckerLike {
  log(): Promise<{ ok: boolean; reason?: string; consistency?: string; warnings?: string[] }>;
  verifyEvent(ev: unknown): Promise<ProofResult>;
}
type LogCheckerCtor = new (
  V: Verifier,
  get: (p: string) => Promise<unknown>,
  memory?: { load(): unknown; save(v: unknown): void },
) => LogCheckerLike;

let V: Verifier;
let LogChecker: LogCheckerCtor;
let checkPersonChain: (V: Verifier, results: Iterable<ProofResult>, signedSize: number) => Promise<Record<string, unknown>>;

/** An HTTP refusal as portal/fhir.js throws it. */
class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const b64 = (h: Uint8Array) => Buffer.from(h).toString('base64');
const ORIGIN = 'localhost:8080/medid-log';

/** A log as medid keeps it: entries, their tree, and heads signed at chosen sizes. */
class FakeLog {
  readonly tree = new MemoryTree();
  readonly entries: LogEntry[] = [];
  readonly heads = new Map<number, { size: number; root: string; time: string; checkpoint: string; jws: null }>();
  latest = 0;
  refuse = new Map<string, HttpError>();
  tamper: ((proof: { index: number; size: number; leafHash: string; entry: string; proof: string[] }) => void) | undefined;

  readonly signer: NoteSigner;
  readonly verifierKey: string;

  constructor(signer: NoteSigner, verifierKey: string) {
    this.signer = signer;
    this.verifierKey = verifierKey;
  }

  append(n: number): void {
    for (let i = 0; i < n; i++) {
      const seq = this.entries.length + 1;
      const prev = seq === 1 ? FIRST_PREV : entryLeafHash(this.entries[seq - 2]).toString('hex');
      const e: LogEntry = {
        v: 1,
        time: new Date(Date.UTC(2026, 0, 5, 9, 0, seq)).toISOString(),
        type: 'rest',
        action: 'R',
        subtype: 'read',
        outcome: 0,
        org: 'medical-institution:1310000001',
        purpose: seq === 3 ? 'BTG' : 'TREAT',
        person: 'AP-test',
        seq,
        prev,
        nonce: randomBytes(16).toString('base64url'),
      };
      this.entries.push(e);
      this.tree.append(entryLeafHash(e));
    }
  }

  async sign(): Promise<void> {
    const size = this.tree.size;
    const root = this.tree.root(size);
    const checkpoint = await signCheckpoint({ origin: ORIGIN, size, root }, [this.signer]);
    this.heads.set(size, { size, root: b64(root), time: new Date(Date.UTC(2026, 0, 5, 10)).toISOString(), checkpoint, jws: null });
    this.latest = size;
  }

  /** The AuditEvent the API shows for leaf `i` (its id is the leaf index here). */
  event(i: number, change: Record<string, unknown> = {}) {
    const e = this.entries[i];
    return {
      resourceType: 'AuditEvent',
      id: String(i),
      recorded: e['time'],
      action: e['action'],
      outcome: JSON.stringify(e['outcome']),
      purposeOfEvent: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: e['purpose'] }] }],
      ...change,
    };
  }

  /** What the FHIR API answers, as portal/fhir.js returns it (parsed JSON, or a thrown error with status). */
  get = (p: string): Promise<unknown> => {
    const refused = this.refuse.get(p.split('?')[0]);
    if (refused) return Promise.reject(refused);
    const u = new URL(p, 'http://x/');
    if (u.pathname === '/_log/key') return Promise.resolve({ keyName: ORIGIN, verifierKey: this.verifierKey, jwk: {} });
    if (u.pathname === '/_log/head') {
      const h = this.heads.get(Number(u.searchParams.get('size') ?? this.latest));
      return h ? Promise.resolve(h) : Promise.reject(new HttpError(404, 'No tree head of that size was signed'));
    }
    if (u.pathname === '/_log/proof/consistency') {
      const first = Number(u.searchParams.get('first'));
      const second = Number(u.searchParams.get('second'));
      return Promise.resolve({ first, second, proof: this.tree.consistencyProof(first, second).map(b64) });
    }
    if (u.pathname === '/_log/proof/inclusion') {
      const index = Number(u.searchParams.get('event'));
      const size = Number(u.searchParams.get('size') ?? this.latest);
      if (index >= size) return Promise.reject(new HttpError(409, 'The AuditEvent is not under a signed tree head yet'));
      const e = this.entries[index];
      const proof = {
        index,
        size,
        leafHash: b64(entryLeafHash(e)),
        entry: entryData(e).toString('utf8'),
        proof: this.tree.inclusionProof(index, size).map(b64),
      };
      this.tamper?.(proof);
      return Promise.resolve(proof);
    }
    return Promise.reject(new HttpError(404, `unknown ${p}`));
  };
}

function newLog(name = ORIGIN): FakeLog {
  const { privateKey } = generateKeyPairSync('ed25519');
  return new FakeLog(ed25519NoteSigner(name, privateKey), ed25519VerifierKey(name, privateKey));
}

/** A Memory as localStorage gives it. */
function memory(initial?: unknown) {
  const box = { value: initial };
  return {
    box,
    load: () => box.value,
    save: (v: unknown) => {
      box.value = v;
    },
  };
}

describe('the verifier served as /portal/log-verify.js', () => {
  let dir: string;

  beforeAll(async () => {
    const res = await get('/portal/log-verify.js');
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const js = await res.text();
    expect(js).toBe(logVerifyJs());
    expect(js).not.toMatch(/^\s*import\b|\bimport\s*\(|\brequire\s*\(/m);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-portal-'));
    fs.writeFileSync(path.join(dir, 'log-verify.mjs'), js);
    V = (await import(path.join(dir, 'log-verify.mjs'))) as Verifier;
    ({ LogChecker, checkPersonChain } = (await import(path.resolve('portal/proof.js'))) as {
      LogChecker: LogCheckerCtor;
      checkPersonChain: typeof checkPersonChain;
    });
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is JavaScript exporting every function and constant of log-verify.ts', () => {
    expect(Object.keys(V).sort()).toEqual(Object.keys(VT).sort());
    for (const name of [
      'verifyInclusion',
      'verifyConsistency',
      'openCheckpoint',
      'parseVerifierKey',
      'entryLeafHash',
      'canonicalJson',
    ] as const)
      expect(typeof V[name]).toBe('function');
  });

  it("verifies an inclusion proof from medid's Merkle tree against the head medid signed", async () => {
    const log = newLog();
    log.append(11);
    await log.sign();
    // Directly: a leaf of the server's tree, its proof and the signed root.
    const head = await V.openCheckpoint(
      (log.heads.get(11) as { checkpoint: string }).checkpoint,
      [await V.parseVerifierKey(log.verifierKey)],
      ORIGIN,
    );
    const leaf = await V.entryLeafHash(log.entries[6]);
    expect(await V.verifyInclusion(6, 11, leaf, log.tree.inclusionProof(6, 11), head.root)).toBe(true);
    expect(await V.verifyInclusion(5, 11, leaf, log.tree.inclusionProof(6, 11), head.root)).toBe(false);
    // Through the portal's checker, as the page runs it.
    const checker = new LogChecker(V, log.get, memory());
    expect(await checker.log()).toMatchObject({ ok: true, consistency: 'first' });
    for (let i = 0; i < 11; i++) expect(await checker.verifyEvent(log.event(i))).toMatchObject({ state: 'ok', index: i, size: 11 });
  });

  it('refuses a tampered proof, entry or event, and a head signed by another key', async () => {
    const log = newLog();
    log.append(6);
    await log.sign();
    const check = (ev: unknown) => new LogChecker(V, log.get).verifyEvent(ev);
    // The event shown says another purpose than the entry logged.
    expect(await check(log.event(2, { purposeOfEvent: [{ coding: [{ code: 'TREAT' }] }] }))).toMatchObject({
      state: 'fail',
      reason: 'mismatch',
      field: 'purpose',
    });
    expect(await check(log.event(1, { recorded: '2026-01-05T09:00:59.000Z' }))).toMatchObject({ reason: 'mismatch', field: 'time' });
    // A sibling hash changed.
    log.tamper = (p) => (p.proof[0] = b64(randomBytes(32)));
    expect(await check(log.event(4))).toMatchObject({ state: 'fail', reason: 'inclusion' });
    // The entry changed (and its leaf hash with it): it is not the leaf the tree holds.
    log.tamper = (p) => {
      const changed = { ...(JSON.parse(p.entry) as LogEntry), org: 'medical-institution:1319999999' };
      p.entry = entryData(changed).toString('utf8');
      p.leafHash = b64(entryLeafHash(changed));
    };
    expect(await check(log.event(4))).toMatchObject({ state: 'fail', reason: 'inclusion' });
    // The entry changed but not its leaf hash.
    log.tamper = (p) => (p.entry = p.entry.replace('TREAT', 'HRESCH'));
    expect(await check(log.event(4))).toMatchObject({ state: 'fail', reason: 'leaf' });
    // Not canonical JSON.
    log.tamper = (p) => (p.entry = ` ${p.entry}`);
    expect(await check(log.event(4))).toMatchObject({ state: 'fail', reason: 'entry' });
    log.tamper = undefined;
    // Heads signed by a key other than the one published.
    const impostor = newLog();
    impostor.append(6);
    await impostor.sign();
    const mixed = new LogChecker(V, (p) => (p.startsWith('_log/key') ? log.get(p) : impostor.get(p)));
    expect(await mixed.log()).toMatchObject({ ok: false, reason: 'signature' });
    expect(await mixed.verifyEvent(log.event(0))).toMatchObject({ state: 'fail', reason: 'signature' });
  });

  it('checks a proof against the head of its own size, and says when an event is not under a head yet', async () => {
    const log = newLog();
    log.append(5);
    await log.sign();
    log.append(4);
    await log.sign(); // latest: 9; a proof for size 5 needs the head of size 5
    const checker = new LogChecker(V, (p) => log.get(p.startsWith('_log/proof/inclusion') ? `${p}&size=5` : p));
    expect(await checker.verifyEvent(log.event(3))).toMatchObject({ state: 'ok', size: 5 });
    expect(await checker.verifyEvent(log.event(7))).toMatchObject({ state: 'pending', reason: 'pending' });
  });

  it('remembers the head it saw and requires the next one to extend it (consistency proof)', async () => {
    const log = newLog();
    log.append(4);
    await log.sign();
    const mem = memory();
    expect(await new LogChecker(V, log.get, mem).log()).toMatchObject({ ok: true, consistency: 'first' });
    expect(mem.box.value).toMatchObject({ size: 4, verifierKey: log.verifierKey });
    log.append(9);
    await log.sign();
    expect(await new LogChecker(V, log.get, mem).log()).toMatchObject({ ok: true, consistency: 'extended', previousSize: 4 });
    expect(mem.box.value).toMatchObject({ size: 13 });
    // A log whose first 13 leaves are not the ones seen: a fork, caught.
    const forked = newLog();
    forked.append(20);
    await forked.sign();
    const fork = new LogChecker(V, forked.get, { load: () => mem.box.value, save: () => undefined });
    expect(await fork.log()).toMatchObject({ ok: false, reason: 'inconsistent', previousSize: 13 });
    // The same log seen again at the same size: nothing to prove, roots must be equal.
    expect(await new LogChecker(V, log.get, mem).log()).toMatchObject({ ok: true, consistency: 'same', warnings: [] });
  });

  it("checks the person's chain over the entries that verified: a gap or a rewrite is named, a pending tail is not a gap", async () => {
    const log = newLog();
    log.append(6);
    await log.sign();
    log.append(2); // seq 7 and 8: not under a signed head yet
    const checker = new LogChecker(V, log.get);
    const r = await Promise.all(log.entries.map((_, i) => checker.verifyEvent(log.event(i))));
    expect(r.map((x) => x.state)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'pending', 'pending']);
    const chain = (results: ProofResult[], signedSize = 6) => checkPersonChain(V, results, signedSize);
    // Newest first, as the page lists them.
    expect(await chain([...r].reverse())).toEqual({ state: 'ok', last: 6, pending: 2, failed: 0 });
    // An access hidden from the person: a gap, named by the seq before it — pending entries or not.
    const ok = r.slice(0, 6);
    const without = (...i: number[]) => ok.filter((_, j) => !i.includes(j));
    expect(await chain([...without(2), ...r.slice(6)])).toMatchObject({ state: 'broken', problem: 'gap', after: 2, seq: 4 });
    expect(await chain(without(0))).toMatchObject({ state: 'broken', problem: 'gap', after: 0, seq: 2 });
    // Unless a head was signed while the proofs were fetched (the first head seen was of size 4):
    // a gap the pending entries could fill is not yet checkable; a bigger one is a gap.
    expect(await chain([...without(4), r[6]], 4)).toEqual({ state: 'waiting', checked: 4, pending: 1, failed: 0 });
    expect(await chain([...without(3, 4), r[6]], 4)).toMatchObject({ state: 'broken', problem: 'gap', after: 3, seq: 6 });
    // seq 3 rewritten: seq 4's prev no longer matches.
    const third = ok[2] as ProofResult & { entry: VT.LogEntry };
    const rewritten = [...ok.slice(0, 2), { ...third, entry: { ...third.entry, purpose: 'HRESCH' } }, ...ok.slice(3)];
    expect(await chain(rewritten)).toMatchObject({ state: 'broken', problem: 'prev', seq: 4, after: 3 });
    // A failed proof is left out, and counted.
    expect(await chain([...ok, { state: 'fail', reason: 'inclusion' }])).toMatchObject({ state: 'ok', last: 6, failed: 1 });
  });
});

// ---------------------------------------------------------------------------------------------
// The Consents the portal writes

describe('the Consents the portal writes', () => {
  interface ConsentModule {
    personConsent(pid: string, effect: 'permit' | 'deny', actor?: { system: string; value: string }, now?: Date): Consent;
    withdrawn(c: Consent): Consent;
    isOptOut(c: Consent): boolean;
    normalizeCode(s: string): string;
    validCode(kind: string, code: string): boolean;
  }
  let C: ConsentModule;
  beforeAll(async () => {
    C = (await import(path.resolve('portal/consent.js'))) as ConsentModule;
  });
  const rules = (c: Consent) => rulesOf({ ...c, id: 'c1' }, () => Promise.resolve([]));

  it('compile to the rules the server enforces: one organization, everyone, a regional network', async () => {
    const deny = C.personConsent('p1', 'deny', { system: ID_SYSTEMS.medicalInstitutionCode, value: '1310000001' });
    expect(deny).toMatchObject({
      resourceType: 'Consent',
      status: 'active',
      patient: { reference: 'Patient/p1' },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      provision: { type: 'deny', actor: [{ role: { coding: [{ code: 'IRCP' }] } }] },
    });
    expect(await rules(deny)).toEqual([
      expect.objectContaining({ consentId: 'c1', patientId: 'p1', effect: 'deny', actor: 'medical-institution:1310000001' }),
    ]);
    const optOut = C.personConsent('p1', 'deny', undefined);
    expect(C.isOptOut(optOut)).toBe(true);
    expect(await rules(optOut)).toEqual([expect.objectContaining({ effect: 'deny', actor: null })]);
    const network = C.personConsent('p1', 'permit', { system: ID_SYSTEMS.regionalNetwork, value: 'tokyo-net' });
    expect(await rules(network)).toEqual([expect.objectContaining({ effect: 'permit', actor: 'regional-network:tokyo-net' })]);
    const insurer = C.personConsent('p1', 'permit', { system: ID_SYSTEMS.insurerNumber, value: '06138093' });
    expect(await rules(insurer)).toEqual([expect.objectContaining({ effect: 'permit', actor: 'insurer:06138093' })]);
    // Withdrawn: kept, deciding nothing.
    expect(C.withdrawn(deny).status).toBe('inactive');
    expect(await rules(C.withdrawn(deny))).toEqual([]);
    expect(C.isOptOut(C.withdrawn(optOut))).toBe(false);
  });

  it('take codes as people type them', () => {
    expect(C.normalizeCode('１３１０ ０００-００１')).toBe('1310000001');
    expect(C.validCode('medicalInstitutionCode', '1310000001')).toBe(true);
    expect(C.validCode('medicalInstitutionCode', '131000000')).toBe(false);
    expect(C.validCode('insurerNumber', '138093')).toBe(true);
    expect(C.validCode('insurerNumber', '1380930')).toBe(false);
  });
});
