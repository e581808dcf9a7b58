/**
 * The file back end of the key store (development; in production only with
 * MEDID_ALLOW_FILE_KEYS=1, see production-guard.ts). Each key is a file beside the keyring,
 * `<key dir>/<purpose>.v<version>.key`, mode 0600: a MAC key as base64 of its bytes, a signing
 * key as PKCS #8 PEM. The operations run in this process with node:crypto, so the bytes are in
 * its memory — the reason production wants the PKCS#11 back end.
 *
 * Version 1 of each purpose is, by default, the file medid used before the key store existed
 * (MEDID_SIGNING_KEY_FILE, MEDID_SECRET_FILE, MEDID_PSEUDONYM_KEY_FILE, MEDID_LOG_KEY_FILE or
 * their generated defaults): the keyring lists it as `legacy` and its own loader reads it as
 * before, so existing data keeps its MACs, pseudonyms and signatures; rotation adds version 2.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Keyring } from './keyring.ts';
import { KeyStoreError, PURPOSE_ALGORITHMS } from './key-store.ts';
import type { KeyAlgorithm, KeyMeta, KeyPurpose, KeyStatus, KeyStore, MacKeyHandle, SigningKeyHandle } from './key-store.ts';

/** Signs like a JWS algorithm with a node:crypto private key. */
export function nodeSign(alg: KeyAlgorithm, key: crypto.KeyObject, data: Uint8Array): Buffer {
  switch (alg) {
    case 'ES256':
      return crypto.sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      return crypto.sign('sha256', data, key);
    case 'EdDSA':
      return crypto.sign(null, data, key);
    case 'HS256':
      throw new KeyStoreError('HS256 keys do not sign');
  }
}

export class FileKeyStore implements KeyStore {
  readonly backend = 'file' as const;
  private readonly keyring: Keyring;
  private readonly signers = new Map<string, SigningKeyHandle>();
  private readonly macs = new Map<string, MacKeyHandle>();

  /** `dir`: MEDID_KEY_DIR (default `<MEDID_DATA_DIR>/keys`). */
  constructor(dir: string) {
    this.keyring = new Keyring(dir);
  }

  private file(purpose: KeyPurpose, version: number): string {
    return path.join(this.keyring.dir, `${purpose}.v${version}.key`);
  }

  /** The keyring's entries; a purpose it does not mention has its legacy version 1, active. */
  list(purpose?: KeyPurpose): KeyMeta[] {
    const listed = this.keyring.list(purpose);
    const purposes = purpose ? [purpose] : (Object.keys(PURPOSE_ALGORITHMS) as KeyPurpose[]);
    const implicit = purposes
      .filter((p) => !listed.some((k) => k.purpose === p))
      .map((p): KeyMeta => ({
        purpose: p,
        version: 1,
        status: 'active',
        alg: PURPOSE_ALGORITHMS[p][0],
        createdAt: '',
        legacy: true,
      }));
    return [...implicit, ...listed].sort((a, b) => a.purpose.localeCompare(b.purpose) || a.version - b.version);
  }

  private meta(purpose: KeyPurpose, version: number): KeyMeta {
    const m = this.list(purpose).find((k) => k.version === version);
    if (!m) throw new KeyStoreError(`${purpose} v${version} is not in the keyring (${this.keyring.dir})`);
    if (m.legacy) throw new KeyStoreError(`${purpose} v${version} is the legacy key file, read by its own loader`);
    return m;
  }

  private read(purpose: KeyPurpose, version: number): string {
    try {
      return fs.readFileSync(this.file(purpose, version), 'utf8');
    } catch (e) {
      throw new KeyStoreError(`${purpose} v${version}: ${(e as Error).message}`);
    }
  }

  signer(purpose: KeyPurpose, version: number): SigningKeyHandle {
    const name = `${purpose}/${version}`;
    const hit = this.signers.get(name);
    if (hit) return hit;
    const meta = this.meta(purpose, version);
    const privateKey = crypto.createPrivateKey(this.read(purpose, version));
    const handle: SigningKeyHandle = {
      meta,
      publicKey: crypto.createPublicKey(privateKey),
      sign: (data) => nodeSign(meta.alg, privateKey, data),
    };
    this.signers.set(name, handle);
    return handle;
  }

  mac(purpose: KeyPurpose, version: number): MacKeyHandle {
    const name = `${purpose}/${version}`;
    const hit = this.macs.get(name);
    if (hit) return hit;
    const meta = this.meta(purpose, version);
    if (meta.alg !== 'HS256') throw new KeyStoreError(`${purpose} v${version} is no MAC key`);
    const key = crypto.createSecretKey(Buffer.from(this.read(purpose, version).trim(), 'base64'));
    const handle: MacKeyHandle = { meta, hmac: (data) => crypto.createHmac('sha256', key).update(data).digest() };
    this.macs.set(name, handle);
    return handle;
  }

  /** Writes the legacy version 1 into the keyring before a second version joins it. */
  private recordLegacy(purpose: KeyPurpose): void {
    if (this.keyring.list(purpose).length > 0) return;
    const legacy = this.list(purpose)[0];
    if (legacy?.legacy) this.keyring.add(purpose, 1, legacy.alg, { legacy: true, status: 'active' });
  }

  private write(purpose: KeyPurpose, version: number, text: string): void {
    fs.mkdirSync(this.keyring.dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(this.file(purpose, version), text, { mode: 0o600, flag: 'wx' });
  }

  generate(purpose: KeyPurpose, alg: KeyAlgorithm = PURPOSE_ALGORITHMS[purpose][0]): KeyMeta {
    if (!PURPOSE_ALGORITHMS[purpose].includes(alg))
      throw new KeyStoreError(`${purpose} keys are ${PURPOSE_ALGORITHMS[purpose].join(' or ')}`);
    this.recordLegacy(purpose);
    const version = this.keyring.nextVersion(purpose);
    if (alg === 'HS256') {
      this.write(purpose, version, crypto.randomBytes(32).toString('base64'));
    } else {
      const pair =
        alg === 'ES256'
          ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
          : alg === 'RS256'
            ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
            : crypto.generateKeyPairSync('ed25519');
      this.write(purpose, version, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    }
    return this.keyring.add(purpose, version, alg);
  }

  importSecret(purpose: KeyPurpose, version: number, secret: Uint8Array): KeyMeta {
    if (PURPOSE_ALGORITHMS[purpose][0] !== 'HS256') throw new KeyStoreError(`${purpose} keys are not secrets to import`);
    if (secret.length < 32) throw new KeyStoreError('an imported secret has at least 32 bytes');
    this.recordLegacy(purpose);
    this.write(purpose, version, Buffer.from(secret).toString('base64'));
    return this.keyring.add(purpose, version, 'HS256');
  }

  setStatus(purpose: KeyPurpose, version: number, status: KeyStatus, until?: Date): KeyMeta {
    this.recordLegacy(purpose);
    this.signers.delete(`${purpose}/${version}`);
    this.macs.delete(`${purpose}/${version}`);
    return this.keyring.setStatus(purpose, version, status, until);
  }

  close(): void {
    this.signers.clear();
    this.macs.clear();
  }
}
