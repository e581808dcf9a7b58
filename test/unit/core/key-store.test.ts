/**
 * The key store's file back end, the keyring's statuses, the JWKS overlap window, the My Number
 * MAC chain, pseudonym keys over a master PRF, and the production guard (issue 19 item 2). The
 * PKCS#11 back end runs the same paths against SoftHSM2 in test/integration/hsm-keys.test.ts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jwtVerify, createLocalJWKSet } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessTokens } from '../../../src/auth/access-token.ts';
import { generateSigningJwks, serverKeysFromJwks, serverKeysFromStore } from '../../../src/auth/keys.ts';
import { StoreLogKey } from '../../../src/audit/log-key.ts';
import { ConfigError, loadConfig } from '../../../src/config.ts';
import { FileKeyStore } from '../../../src/core/keys/file-store.ts';
import { checkKeyBackend, FILE_KEYS_WARNING, parseKeyConfig } from '../../../src/core/keys/key-config.ts';
import { KeyStoreError } from '../../../src/core/keys/key-store.ts';
import { ChainedMac, MyNumberMac, StoreMac } from '../../../src/privacy/my-number/mac.ts';
import { FilePseudonymKeys } from '../../../src/pseudonym/file-keys.ts';
import { PrfPseudonymKeys, pseudonymPrk } from '../../../src/pseudonym/prf-keys.ts';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-keys-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the production guard', () => {
  const prod = (env: Record<string, string>) => parseKeyConfig({ NODE_ENV: 'production', ...env });

  it('refuses file keys with NODE_ENV=production unless MEDID_ALLOW_FILE_KEYS=1', () => {
    const warnings: string[] = [];
    expect(() => checkKeyBackend(prod({}), (m) => warnings.push(m))).toThrow(/refusing to start.*MEDID_ALLOW_FILE_KEYS=1/);
    expect(() => checkKeyBackend(prod({ MEDID_ALLOW_FILE_KEYS: '0' }), (m) => warnings.push(m))).toThrow(KeyStoreError);
    expect(warnings).toEqual([]);
  });

  it('warns at every start when file keys in production are acknowledged', () => {
    const warnings: string[] = [];
    checkKeyBackend(prod({ MEDID_ALLOW_FILE_KEYS: '1' }), (m) => warnings.push(m));
    checkKeyBackend(prod({ MEDID_ALLOW_FILE_KEYS: '1' }), (m) => warnings.push(m));
    expect(warnings).toEqual([FILE_KEYS_WARNING, FILE_KEYS_WARNING]);
  });

  it('lets development use file keys quietly, and production use PKCS#11', () => {
    const warnings: string[] = [];
    checkKeyBackend(parseKeyConfig({}), (m) => warnings.push(m));
    checkKeyBackend(
      prod({ MEDID_KEY_BACKEND: 'pkcs11', MEDID_PKCS11_MODULE: '/lib.so', MEDID_PKCS11_TOKEN: 't', MEDID_PKCS11_PIN_FILE: '/pin' }),
      (m) => warnings.push(m),
    );
    expect(warnings).toEqual([]);
  });

  it('is configured by environment variables the config refuses when malformed', () => {
    expect(() => loadConfig({ MEDID_KEY_BACKEND: 'kms' })).toThrow(ConfigError);
    expect(() => loadConfig({ MEDID_KEY_BACKEND: 'pkcs11' })).toThrow(/MEDID_PKCS11_MODULE/);
    expect(() => loadConfig({ MEDID_ALLOW_FILE_KEYS: 'yes' })).toThrow(/MEDID_ALLOW_FILE_KEYS/);
    expect(loadConfig({}).keys).toMatchObject({ backend: 'file', production: false, allowFileKeys: false });
  });
});

describe('the file key store', () => {
  it('lists the legacy version 1 of every purpose until a rotation records it', () => {
    const store = new FileKeyStore(dir);
    expect(store.list('my-number-mac')).toEqual([expect.objectContaining({ version: 1, status: 'active', legacy: true })]);
    expect(() => store.mac('my-number-mac', 1)).toThrow(/legacy key file/);
    const k = store.generate('my-number-mac');
    expect(k).toMatchObject({ purpose: 'my-number-mac', version: 2, status: 'pending', alg: 'HS256' });
    expect(new FileKeyStore(dir).list('my-number-mac').map((m) => [m.version, m.status, m.legacy ?? false])).toEqual([
      [1, 'active', true],
      [2, 'pending', false],
    ]);
    expect(fs.statSync(path.join(dir, 'my-number-mac.v2.key')).mode & 0o777).toBe(0o600);
    // Every change is in the ceremony log, one JSON line each.
    const log = fs
      .readFileSync(path.join(dir, 'ceremony.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string });
    expect(log.map((e) => e.event)).toEqual(['recorded', 'created']);
  });

  it('signs with ES256, RS256 and EdDSA keys that verify under their public keys', () => {
    const store = new FileKeyStore(dir);
    const data = Buffer.from('signing input');
    for (const [purpose, alg] of [
      ['token-signing', 'ES256'],
      ['token-signing', 'RS256'],
      ['log-signing', 'EdDSA'],
    ] as const) {
      const k = store.generate(purpose, alg);
      const h = store.signer(purpose, k.version);
      const sig = h.sign(data);
      const ok =
        alg === 'ES256'
          ? crypto.verify('sha256', data, { key: h.publicKey, dsaEncoding: 'ieee-p1363' }, sig)
          : crypto.verify(alg === 'RS256' ? 'sha256' : null, data, h.publicKey, sig);
      expect(ok, alg).toBe(true);
      expect(crypto.verify(alg === 'EdDSA' ? null : 'sha256', Buffer.from('other'), h.publicKey, sig)).toBe(false);
    }
    expect(() => store.generate('log-signing', 'ES256')).toThrow(/EdDSA/);
  });

  it('gives HMAC-SHA256 under a stored key, and the same after a reload', () => {
    const store = new FileKeyStore(dir);
    const k = store.importSecret('pseudonym-master', 2, Buffer.alloc(32, 7));
    expect(store.mac('pseudonym-master', k.version).hmac(Buffer.from('x'))).toEqual(
      crypto.createHmac('sha256', Buffer.alloc(32, 7)).update('x').digest(),
    );
    expect(() => store.importSecret('pseudonym-master', 3, Buffer.alloc(16))).toThrow(/32 bytes/);
    expect(() => store.importSecret('log-signing', 2, Buffer.alloc(32))).toThrow(KeyStoreError);
  });
});

describe('token signing keys from the keyring: the JWKS overlap window', () => {
  const issuer = 'http://medid.test/oauth';
  const audience = 'http://medid.test/fhir';
  const tokensWith = (keys: Awaited<ReturnType<typeof serverKeysFromStore>>) =>
    new AccessTokens({ keys, issuer, audience, isResourceType: () => true });

  it('publishes a pending key before it signs, then keeps the old key published verify-only until its window ends', async () => {
    const store = new FileKeyStore(dir);
    const legacyJwks = await generateSigningJwks();
    const legacy = async () => serverKeysFromJwks(legacyJwks);
    const v1 = await serverKeysFromStore(store, legacy);
    expect(v1.jwks.keys).toHaveLength(1);
    const oldToken = (await tokensWith(v1).issue('c', undefined, undefined, 'system/*.rs')).accessToken;

    store.generate('token-signing');
    const pending = await serverKeysFromStore(store, legacy);
    expect(pending.jwks.keys).toHaveLength(2);
    expect(pending.active.kid).toBe(v1.active.kid);

    const until = new Date(Date.now() + 3660_000);
    store.setStatus('token-signing', 2, 'active');
    store.setStatus('token-signing', 1, 'verify-only', until);
    const rotated = await serverKeysFromStore(store, legacy);
    expect(rotated.active.kid).not.toBe(v1.active.kid);
    expect(rotated.active.privateKey).toBeUndefined();
    expect(rotated.jwks.keys.map((k) => k.kid)).toEqual([rotated.active.kid, v1.active.kid]);
    // A token signed by the new key verifies with the published JWKS (jose), and so does the old one.
    const newToken = (await tokensWith(rotated).issue('c', undefined, undefined, 'system/*.rs')).accessToken;
    const jwks = createLocalJWKSet(rotated.jwks);
    await expect(jwtVerify(newToken, jwks, { issuer, audience })).resolves.toBeTruthy();
    await expect(tokensWith(rotated).verify(oldToken)).resolves.toMatchObject({ clientId: 'c' });

    // After the window the old key is no longer published, and its tokens are refused.
    const later = await serverKeysFromStore(store, legacy, new Date(until.getTime() + 1000));
    expect(later.jwks.keys.map((k) => k.kid)).toEqual([rotated.active.kid]);
    await expect(tokensWith(later).verify(oldToken)).rejects.toThrow(/not signed by this server/);
  });

  it('refuses to start without an active token key', async () => {
    const store = new FileKeyStore(dir);
    store.generate('token-signing');
    store.setStatus('token-signing', 1, 'retired');
    await expect(serverKeysFromStore(store, async () => serverKeysFromJwks(await generateSigningJwks()))).rejects.toThrow(
      /no active token signing key/,
    );
  });
});

describe('the log key from the keyring', () => {
  it('signs tree heads as Ed25519 with the same public forms as a file key', async () => {
    const store = new FileKeyStore(dir);
    store.generate('log-signing');
    const key = new StoreLogKey(store.signer('log-signing', 2), 'medid.test/medid-log');
    const msg = Buffer.from('medid.test/medid-log\n1\nAAAA\n');
    const sig = await key.sign(msg);
    const pub = crypto.createPublicKey({ key: key.jwk, format: 'jwk' });
    expect(crypto.verify(null, msg, pub, sig)).toBe(true);
    expect(key.verifierKey.startsWith('medid.test/medid-log+')).toBe(true);
  });
});

describe('the My Number MAC chain (privacy-design §2.1)', () => {
  const secret = crypto.randomBytes(32);
  const v1 = new MyNumberMac(secret);
  const k2 = crypto.randomBytes(32);
  const step2 = { version: 2, hmac: (d: Uint8Array) => crypto.createHmac('sha256', k2).update(d).digest() };

  it('stores HMAC(K2, "medid/mn/v2|" ‖ h1): computable from the stored MAC alone', () => {
    const chained = new ChainedMac(v1, [step2]);
    const h1 = v1.mac('123456789018');
    expect(chained.version).toBe(2);
    expect(chained.mac('123456789018')).toEqual(
      crypto
        .createHmac('sha256', k2)
        .update(Buffer.concat([Buffer.from('medid/mn/v2|'), h1]))
        .digest(),
    );
    expect(chained.mac('123456789018')).toEqual(ChainedMac.link(step2, h1));
    expect(chained.hex('123456789018')).not.toBe(v1.hex('123456789018'));
  });

  it('refuses a chain with a gap', () => {
    expect(() => new ChainedMac(v1, [{ ...step2, version: 3 }])).toThrow(/each step is the next version/);
  });

  it('gives the file MAC bit for bit when a store holds the HKDF-derived key (the ceremony import)', () => {
    const k = Buffer.from(crypto.hkdfSync('sha256', secret, Buffer.alloc(0), 'medid/mn-mac', 32));
    const store = new StoreMac({ version: 1, hmac: (d) => crypto.createHmac('sha256', k).update(d).digest() }, 'medid/mn');
    expect(store.mac('123456789018')).toEqual(v1.mac('123456789018'));
  });
});

describe('pseudonym keys over a master PRF (the HSM pattern)', () => {
  const master = crypto.randomBytes(32);
  const prk = pseudonymPrk(master);
  let calls = 0;
  const prf = {
    version: 1,
    hmac: (d: Uint8Array) => {
      calls++;
      return crypto.createHmac('sha256', prk).update(d).digest();
    },
  };

  it('derives the same domain keys as the file master (RFC 5869, empty salt), one PRF call per domain', () => {
    const file = new FilePseudonymKeys(master);
    const keys = new PrfPseudonymKeys([prf]);
    const block = crypto.randomBytes(16);
    calls = 0;
    for (let i = 0; i < 100; i++) expect(keys.prp('db-a', 1, block)).toEqual(file.prp('db-a', 1, block));
    expect(keys.prpInverse('db-a', 1, keys.prp('db-a', 1, block))).toEqual(block);
    expect(keys.mac('audit', block)).toEqual(file.mac('audit', block));
    expect(calls).toBe(2);
  });

  it('serves two master versions during a planned migration', () => {
    const prk2 = crypto.randomBytes(32);
    const keys = new PrfPseudonymKeys([prf, { version: 2, hmac: (d) => crypto.createHmac('sha256', prk2).update(d).digest() }]);
    const block = crypto.randomBytes(16);
    expect(keys.version).toBe(2);
    expect(keys.prp('db-a', 2, block)).not.toEqual(keys.prp('db-a', 1, block));
    expect(() => keys.prp('db-a', 3, block)).toThrow(/not held/);
  });

  it('makes linkage keys that need the order salt', () => {
    const keys = new PrfPseudonymKeys([prf]);
    const b = crypto.randomBytes(16);
    const s1 = crypto.randomBytes(16);
    expect(keys.prpLink(s1, 'o1', [b])).toEqual(keys.prpLink(s1, 'o1', [b]));
    expect(keys.prpLink(crypto.randomBytes(16), 'o1', [b])).not.toEqual(keys.prpLink(s1, 'o1', [b]));
  });
});
