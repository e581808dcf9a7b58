/**
 * Keys behind one interface, end to end (issue 19 item 2): the key ceremony's commands (`medid
 * keys …`), the server's key start-up (key-setup.ts), token signing with the JWKS overlap window,
 * the access log's Ed25519 key, and the My Number MAC's rotation by chaining — which rewrites
 * every stored MAC in the database from the stored MAC alone — on the file back end, and on the
 * PKCS#11 back end against a SoftHSM2 token this suite initializes in a temporary directory.
 *
 * Needs Debian's softhsm2 (`softhsm2-util` and libsofthsm2.so); CI installs it (.ci/run).
 * Without it the PKCS#11 suite says so loudly and does not run — and under CI=true it fails.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type * as Pkcs11 from 'pkcs11js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AccessTokens } from '../../src/auth/access-token.ts';
import { keysCommand } from '../../src/cli/keys.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/core/logger.ts';
import { loadKeys } from '../../src/key-setup.ts';
import type { LoadedKeys } from '../../src/key-setup.ts';
import { CertificateMac } from '../../src/privacy/my-number/certificate-mac.ts';
import { MyNumberMac } from '../../src/privacy/my-number/mac.ts';
import { FilePseudonymKeys } from '../../src/pseudonym/file-keys.ts';
import type { Db } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { bindMyNumber, patientOfMyNumber } from '../../src/store/my-number.ts';
import { openDb } from '../../src/store/open.ts';

// MEDID_SOFTHSM_MODULE names the library (and only it); else Debian's paths.
const MODULE = (
  process.env['MEDID_SOFTHSM_MODULE']
    ? [process.env['MEDID_SOFTHSM_MODULE']]
    : ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so']
).find((f) => fs.existsSync(f));
const HAVE_UTIL = spawnSync('softhsm2-util', ['--version'], { encoding: 'utf8' }).status === 0;
const HAVE_SOFTHSM = MODULE !== undefined && HAVE_UTIL;
if (!HAVE_SOFTHSM) {
  const why = MODULE ? 'softhsm2-util is not on PATH' : 'no libsofthsm2.so (set MEDID_SOFTHSM_MODULE)';
  if (process.env['CI']) throw new Error(`PKCS#11 key tests: ${why} (CI must install Debian's softhsm2)`);
  console.warn(
    `\n*** NOT RUN: PKCS#11 key store tests (test/integration/hsm-keys.test.ts) — ${why}.\n` +
      "*** Install Debian's softhsm2 (apt-get install -y softhsm2) to run them.\n",
  );
}

const MY_NUMBER = '123456789018';
const silent = createLogger('silent');

/** What the last `keys` call printed (for a failing expectation's message). */
let printed = '';

/** Runs `medid keys <verb> …` in this process with `env`, its output captured; its exit status. */
async function keys(env: Record<string, string>, verb: Parameters<typeof keysCommand>[0], ...args: string[]): Promise<number> {
  printed = '';
  const capture = (chunk: string | Uint8Array): boolean => {
    printed += chunk.toString();
    return true;
  };
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    return await keysCommand(verb)(args);
  } finally {
    out.mockRestore();
    err.mockRestore();
    vi.unstubAllEnvs();
  }
}

async function loaded(env: Record<string, string>): Promise<LoadedKeys> {
  return loadKeys(loadConfig({ ...env, MEDID_BASE_URL: 'http://medid.test/fhir' }), silent);
}

async function withDb<T>(dataDir: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDb({ databaseUrl: undefined, dataDir, poolSize: 2 });
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** Every place a My Number MAC is stored, bound to one person through `mac` (version 1). */
async function seedMacs(db: Db, mac: Buffer): Promise<void> {
  expect(await bindMyNumber(db, mac, 1, 'p1')).toBe('p1');
  await db.query(
    `INSERT INTO registry.card_certificate (cert_mac, mac_version, my_number_mac, not_after) VALUES ($1, 1, $2, '2030-01-01')`,
    [crypto.randomBytes(32), mac],
  );
  await db.query(
    `INSERT INTO auth.person_subject (issuer, subject, mn_mac, mac_version, bound_at) VALUES ('https://idp.test', 's1', $1, 1, now())`,
    [mac],
  );
  await db.query(`INSERT INTO registry.review (task_id, record_key, mn_mac, mn_mac_version) VALUES ('t1', 'rk1', $1, 1)`, [mac]);
}

/** Where each stored MAC stands after a rotation. */
async function storedMacs(
  db: Db,
): Promise<{ binding: string; version: number; card: string; subject: string; subjectVersion: number; review: string }> {
  const one = async (sql: string): Promise<Record<string, unknown>> => (await db.query(sql)).rows[0] ?? {};
  const hex = (b: unknown): string => Buffer.from(b as Uint8Array).toString('hex');
  const m = await one(`SELECT mac, mac_version FROM registry.my_number WHERE patient_id = 'p1'`);
  const c = await one(`SELECT my_number_mac FROM registry.card_certificate`);
  const s = await one(`SELECT mn_mac, mac_version FROM auth.person_subject WHERE subject = 's1'`);
  const r = await one(`SELECT mn_mac, mn_mac_version FROM registry.review WHERE task_id = 't1'`);
  expect(r['mn_mac_version']).toBe(m['mac_version']);
  return {
    binding: hex(m['mac']),
    version: Number(m['mac_version']),
    card: hex(c['my_number_mac']),
    subject: hex(s['mn_mac']),
    subjectVersion: Number(s['mac_version']),
    review: hex(r['mn_mac']),
  };
}

/** The rotation's proof: every stored MAC moved to the new chain's; the new chain finds the person, the old one nobody. */
async function expectRotated(db: Db, before: Buffer, now: Buffer, version: number): Promise<void> {
  expect(await patientOfMyNumber(db, now)).toBe('p1');
  expect(await patientOfMyNumber(db, before)).toBeUndefined();
  const hex = now.toString('hex');
  expect(await storedMacs(db)).toEqual({ binding: hex, version, card: hex, subject: hex, subjectVersion: version, review: hex });
}

/** The person's My Number MAC under a key set, and its version (computed before the store closes). */
function macOf(k: LoadedKeys): Buffer {
  const mac = k.myNumberMac.mac(MY_NUMBER);
  k.store.close();
  return mac;
}

function secretFile(dir: string, name: string): { file: string; secret: Buffer } {
  const secret = crypto.randomBytes(32);
  const file = path.join(dir, name);
  fs.writeFileSync(file, secret.toString('base64'), { mode: 0o600 });
  return { file, secret };
}

describe('the file back end: medid keys rotate my-number-mac', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-filekeys-'));
    env = { MEDID_DATA_DIR: dir };
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('rewrites every stored My Number MAC by HMAC(K2, h1) chaining, twice, and the server finds the person by the new chain', async () => {
    const v1 = await loaded(env);
    const h1 = macOf(v1);
    // The legacy file's MAC, as medid always made it.
    const registrySecret = fs.readFileSync(path.join(dir, 'keys', 'registry-secret'), 'utf8');
    expect(h1).toEqual(new MyNumberMac(Buffer.from(registrySecret, 'base64')).mac(MY_NUMBER));
    await withDb(dir, (db) => seedMacs(db, h1));

    expect(await keys(env, 'rotate', 'my-number-mac')).toBe(0);
    const v2 = await loaded(env);
    expect(v2.myNumberMac.version).toBe(2);
    expect(v2.store.list('my-number-mac').map((k) => `${k.version}:${k.status}`)).toEqual(['1:verify-only', '2:active']);
    const h2 = macOf(v2);
    await withDb(dir, (db) => expectRotated(db, h1, h2, 2));

    expect(await keys(env, 'rotate', 'my-number-mac')).toBe(0);
    const v3 = await loaded(env);
    expect(v3.myNumberMac.version).toBe(3);
    // A card certificate's own MAC is not the My Number's: unchanged by the rotation.
    expect(v3.certificateMac.version).toBe(1);
    await withDb(dir, (db) => expectRotated(db, h2, macOf(v3), 3));
  }, 180_000);

  it('refuses to rotate the pseudonym master (a planned migration) and to switch MAC keys without rewriting the stored MACs', async () => {
    const own = { MEDID_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'medid-filekeys-')) };
    try {
      expect(await keys(own, 'rotate', 'pseudonym-master')).toBe(2);
      expect(printed).toMatch(/planned migration/);
      expect(await keys(own, 'generate', 'my-number-mac')).toBe(0);
      expect(await keys(own, 'activate', 'my-number-mac', '2')).toBe(2);
      expect(printed).toMatch(/only by medid keys rotate my-number-mac/);
      expect(await keys(own, 'import', 'my-number-mac', '--from', '/nonexistent')).toBe(2);
      expect(printed).toMatch(/nothing to import/);
    } finally {
      fs.rmSync(own.MEDID_DATA_DIR, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!HAVE_SOFTHSM)('the PKCS#11 back end on SoftHSM2', () => {
  let dir: string;
  let env: Record<string, string>;
  let registry: { file: string; secret: Buffer };
  let pseudonym: { file: string; secret: Buffer };
  const savedConf = process.env['SOFTHSM2_CONF'];

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-hsm-'));
    fs.mkdirSync(path.join(dir, 'tokens'));
    const conf = path.join(dir, 'softhsm2.conf');
    fs.writeFileSync(
      conf,
      `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
    );
    // The library reads its configuration when it initializes: set before the first store opens.
    process.env['SOFTHSM2_CONF'] = conf;
    const init = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', 'medid-test', '--pin', '4321', '--so-pin', '8765'], {
      encoding: 'utf8',
      env: { ...process.env, SOFTHSM2_CONF: conf },
    });
    if (init.status !== 0) throw new Error(`softhsm2-util --init-token: ${init.stderr}`);
    fs.writeFileSync(path.join(dir, 'pin'), '4321\n', { mode: 0o600 });
    registry = secretFile(dir, 'registry-secret');
    pseudonym = secretFile(dir, 'pseudonym-master');
    env = {
      MEDID_DATA_DIR: path.join(dir, 'data'),
      MEDID_KEY_BACKEND: 'pkcs11',
      MEDID_KEY_DIR: path.join(dir, 'keyring'),
      MEDID_PKCS11_MODULE: MODULE as string,
      MEDID_PKCS11_TOKEN: 'medid-test',
      MEDID_PKCS11_PIN_FILE: path.join(dir, 'pin'),
      NODE_ENV: 'production',
    };
  });
  afterAll(() => {
    if (savedConf === undefined) delete process.env['SOFTHSM2_CONF'];
    else process.env['SOFTHSM2_CONF'] = savedConf;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start before the key ceremony has made every key', async () => {
    await expect(loaded(env)).rejects.toThrow(/no active (token signing )?key/);
  });

  it('runs the key ceremony: keys generated in the token, secrets imported so stored MACs and pseudonyms stay valid', async () => {
    for (const [verb, ...args] of [
      ['generate', 'token-signing'],
      ['activate', 'token-signing', '1'],
      ['generate', 'log-signing'],
      ['activate', 'log-signing', '1'],
      ['import', 'my-number-mac', '--from', registry.file],
      ['activate', 'my-number-mac', '1'],
      ['import', 'certificate-mac', '--from', registry.file],
      ['activate', 'certificate-mac', '1'],
      ['import', 'pseudonym-master', '--from', pseudonym.file],
      ['activate', 'pseudonym-master', '1'],
    ] as const) {
      expect(await keys(env, verb, ...args), `${verb} ${args.join(' ')}: ${printed}`).toBe(0);
    }
    expect(await keys(env, 'import', 'my-number-mac', '--from', registry.file)).toBe(2);
    expect(printed).toMatch(/already holds medid\/my-number-mac\/v1/);
    const k = await loaded(env);
    try {
      expect(k.store.backend).toBe('pkcs11');
      expect(k.secrets).toEqual([]); // no secret file was read
      // The HSM's MACs are the file back end's, bit for bit.
      expect(k.myNumberMac.mac(MY_NUMBER)).toEqual(new MyNumberMac(registry.secret).mac(MY_NUMBER));
      expect(k.certificateMac.mac('1A2B')).toEqual(new CertificateMac(registry.secret).mac('1A2B'));
      // Pseudonyms: domain keys derived inside the HSM from the imported PRK equal the file master's.
      const file = new FilePseudonymKeys(pseudonym.secret);
      const kid = crypto.randomBytes(16);
      expect(k.pseudonymKeys.prp('db-a', 1, kid)).toEqual(file.prp('db-a', 1, kid));
      expect(k.pseudonymKeys.prpInverse('db-a', 1, file.prp('db-a', 1, kid))).toEqual(kid);
      expect(k.pseudonymKeys.mac('audit', kid)).toEqual(file.mac('audit', kid));
      // The access log's Ed25519 key signs in the HSM (CKM_EDDSA).
      const head = Buffer.from('medid.test/medid-log\n5\nabc=\n');
      const sig = await k.logKey.sign(head);
      expect(crypto.verify(null, head, crypto.createPublicKey({ key: k.logKey.jwk, format: 'jwk' }), sig)).toBe(true);
      // Access tokens are signed in the HSM (ES256, CKM_ECDSA) and verify against the JWKS.
      expect(k.tokenKeys.active.privateKey).toBeUndefined();
      const tokens = new AccessTokens({
        keys: k.tokenKeys,
        issuer: 'http://medid.test/oauth',
        audience: 'http://medid.test/fhir',
        isResourceType: () => true,
      });
      const t = await tokens.issue('c1', undefined, undefined, 'system/Patient.rs');
      const { payload, protectedHeader } = await jwtVerify(t.accessToken, createLocalJWKSet(k.tokenKeys.jwks), { typ: 'at+jwt' });
      expect(protectedHeader.alg).toBe('ES256');
      expect(payload).toMatchObject({ sub: 'c1', scope: 'system/Patient.rs' });
      await expect(tokens.verify(t.accessToken)).resolves.toMatchObject({ clientId: 'c1' });
    } finally {
      k.store.close();
    }
  });

  it('keeps every secret and private key non-extractable: the token refuses to read them out', () => {
    const lib = createRequire(import.meta.url)('pkcs11js') as typeof Pkcs11;
    const p11 = new lib.PKCS11();
    p11.load(MODULE as string);
    p11.C_Initialize();
    try {
      const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === 'medid-test') as Buffer;
      const session = p11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION);
      p11.C_Login(session, lib.CKU_USER, '4321');
      for (const [cls, label] of [
        [lib.CKO_SECRET_KEY, 'medid/my-number-mac/v1'],
        [lib.CKO_SECRET_KEY, 'medid/pseudonym-master/v1'],
        [lib.CKO_PRIVATE_KEY, 'medid/token-signing/v1'],
        [lib.CKO_PRIVATE_KEY, 'medid/log-signing/v1'],
      ] as const) {
        p11.C_FindObjectsInit(session, [
          { type: lib.CKA_CLASS, value: cls },
          { type: lib.CKA_LABEL, value: label },
        ]);
        const [obj] = p11.C_FindObjects(session, 2);
        p11.C_FindObjectsFinal(session);
        expect(obj, label).toBeDefined();
        const [sensitive, extractable] = p11.C_GetAttributeValue(session, obj, [
          { type: lib.CKA_SENSITIVE },
          { type: lib.CKA_EXTRACTABLE },
        ]);
        expect(sensitive?.value, label).toEqual(Buffer.of(1));
        expect(extractable?.value, label).toEqual(Buffer.of(0));
        expect(() => p11.C_GetAttributeValue(session, obj, [{ type: lib.CKA_VALUE }]), label).toThrow(/SENSITIVE/);
      }
      p11.C_CloseSession(session);
    } finally {
      p11.C_Finalize();
    }
  });

  it('rotates the token key with a JWKS overlap window: pending and published first, then active with the old key verify-only', async () => {
    const before = await loaded(env);
    const tokens = (k: LoadedKeys) =>
      new AccessTokens({
        keys: k.tokenKeys,
        issuer: 'http://medid.test/oauth',
        audience: 'http://medid.test/fhir',
        isResourceType: () => true,
      });
    const old = (await tokens(before).issue('c1', undefined, undefined, 'system/Patient.rs')).accessToken;
    before.store.close();

    expect(await keys(env, 'rotate', 'token-signing')).toBe(0);
    const pending = await loaded(env);
    expect(pending.tokenKeys.jwks.keys).toHaveLength(2);
    expect(pending.tokenKeys.active.kid).toBe(before.tokenKeys.active.kid);
    pending.store.close();

    expect(await keys(env, 'activate', 'token-signing', '2')).toBe(0);
    const after = await loaded(env);
    try {
      expect(after.tokenKeys.active.kid).not.toBe(before.tokenKeys.active.kid);
      expect(after.tokenKeys.jwks.keys.map((k) => k.kid)).toEqual([after.tokenKeys.active.kid, before.tokenKeys.active.kid]);
      const v1 = after.store.list('token-signing')[0];
      expect(v1?.status).toBe('verify-only');
      const window = Date.parse(v1?.until ?? '') - Date.now();
      expect(window).toBeGreaterThan(3600_000);
      expect(window).toBeLessThanOrEqual(3660_000);
      // Tokens of the old key still verify during the window; new ones are signed by the new key in the HSM.
      await expect(tokens(after).verify(old)).resolves.toMatchObject({ clientId: 'c1' });
      const fresh = (await tokens(after).issue('c2', undefined, undefined, 'system/Patient.rs')).accessToken;
      const { protectedHeader } = await jwtVerify(fresh, createLocalJWKSet(after.tokenKeys.jwks));
      expect(protectedHeader.kid).toBe(after.tokenKeys.active.kid);
    } finally {
      after.store.close();
    }
  });

  it('rotates the My Number MAC inside the HSM: every stored MAC becomes HMAC(K2, h1) with K2 never leaving the token', async () => {
    const dataDir = env['MEDID_DATA_DIR'];
    const h1 = macOf(await loaded(env));
    await withDb(dataDir, (db) => seedMacs(db, h1));
    expect(await keys(env, 'rotate', 'my-number-mac')).toBe(0);
    const v2 = await loaded(env);
    expect(v2.myNumberMac.version).toBe(2);
    const h2 = macOf(v2);
    await withDb(dataDir, (db) => expectRotated(db, h1, h2, 2));
    // The file secret alone (a leaked K_mn) no longer finds anyone.
    expect(h2).not.toEqual(new MyNumberMac(registry.secret).mac(MY_NUMBER));
    // The ceremony log recorded every step.
    const events = fs.readFileSync(path.join(env['MEDID_KEY_DIR'], 'ceremony.log'), 'utf8').trim().split('\n');
    expect(
      events
        .map((l) => (JSON.parse(l) as { purpose: string; version: number; event: string }).purpose)
        .filter((p) => p === 'my-number-mac'),
    ).toHaveLength(5);
  });
});
