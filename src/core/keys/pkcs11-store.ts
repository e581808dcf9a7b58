/**
 * The PKCS#11 back end of the key store: keys live in an HSM token (tested against SoftHSM2),
 * reached through `pkcs11js` (PeculiarVentures' maintained binding, built by node-gyp at
 * install). Keys are generated inside the token — or, for a secret that already protects stored
 * data, imported once by a ceremony — as token objects labelled `medid/<purpose>/v<version>`,
 * private and secret ones `CKA_SENSITIVE` and not `CKA_EXTRACTABLE`: no call of this file can
 * read them back. The keyring (purpose, version, status) is the file beside the other key
 * settings (keyring.ts); the HSM holds only keys.
 *
 * Mechanisms: ES256 `CKM_ECDSA` on P-256 over a SHA-256 digest made here (the raw r ‖ s it
 * returns is JWS's form); RS256 `CKM_SHA256_RSA_PKCS`; EdDSA `CKM_EDDSA` on Ed25519 (PKCS#11
 * 3.0; SoftHSM2 ≥ 2.6 with OpenSSL ≥ 1.1.1); HMAC `CKM_SHA256_HMAC` on a generic secret key.
 * Every call is synchronous (one session; Node runs one at a time), like node:crypto.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type * as Pkcs11 from 'pkcs11js';
import { Keyring } from './keyring.ts';
import { keyLabel, KeyStoreError, PURPOSE_ALGORITHMS } from './key-store.ts';
import type { KeyAlgorithm, KeyMeta, KeyPurpose, KeyStatus, KeyStore, MacKeyHandle, SigningKeyHandle } from './key-store.ts';

// PKCS#11 3.0 values pkcs11js (a 2.40 binding) does not name.
const CKK_EC_EDWARDS = 0x40;
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;
/** DER of the OIDs in CKA_EC_PARAMS: prime256v1 and id-Ed25519 (RFC 8410). */
const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
const ED25519_PARAMS = Buffer.from('06032b6570', 'hex');

export interface Pkcs11Options {
  /** MEDID_PKCS11_MODULE: the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  module: string;
  /** MEDID_PKCS11_TOKEN: the token's label. */
  token: string;
  /** The user PIN (main.ts reads it from MEDID_PKCS11_PIN_FILE). */
  pin: string;
  /** MEDID_KEY_DIR: where the keyring lives. */
  keyDir: string;
}

type Lib = typeof Pkcs11;

/** One loaded library per path and process: C_Initialize may run once, C_Finalize after the last user. */
const loaded = new Map<string, { lib: Lib; p11: Pkcs11.PKCS11; users: number }>();

function load(module: string): { lib: Lib; p11: Pkcs11.PKCS11 } {
  let l = loaded.get(module);
  if (!l) {
    const lib = createRequire(import.meta.url)('pkcs11js') as Lib;
    const p11 = new lib.PKCS11();
    try {
      p11.load(module);
      p11.C_Initialize();
    } catch (e) {
      throw new KeyStoreError(`PKCS#11 module ${module}: ${(e as Error).message}`);
    }
    l = { lib, p11, users: 0 };
    loaded.set(module, l);
  }
  l.users++;
  return l;
}

function unload(module: string): void {
  const l = loaded.get(module);
  if (!l || --l.users > 0) return;
  loaded.delete(module);
  l.p11.C_Finalize();
  l.p11.close();
}

/** The public point from CKA_EC_POINT: a DER OCTET STRING, or (some HSMs) the bare point. */
function ecPoint(raw: Buffer, size: number): Buffer {
  return raw.length === size ? raw : raw.subarray(raw.length - size);
}

export class Pkcs11KeyStore implements KeyStore {
  readonly backend = 'pkcs11' as const;
  private readonly o: Pkcs11Options;
  private readonly lib: Lib;
  private readonly p11: Pkcs11.PKCS11;
  private readonly session: Buffer;
  private readonly keyring: Keyring;
  private closed = false;

  constructor(o: Pkcs11Options) {
    this.o = o;
    this.keyring = new Keyring(o.keyDir);
    const { lib, p11 } = load(o.module);
    this.lib = lib;
    this.p11 = p11;
    try {
      const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === o.token);
      if (!slot) throw new KeyStoreError(`PKCS#11 token "${o.token}" not found in ${o.module}`);
      this.session = p11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION | lib.CKF_RW_SESSION);
      try {
        p11.C_Login(this.session, lib.CKU_USER, o.pin);
      } catch (e) {
        if ((e as { code?: number }).code !== lib.CKR_USER_ALREADY_LOGGED_IN) throw e;
      }
    } catch (e) {
      unload(o.module);
      if (e instanceof KeyStoreError) throw e;
      throw new KeyStoreError(`PKCS#11 token "${o.token}": ${(e as Error).message}`);
    }
  }

  /** Every key the keyring lists (no legacy files here: the HSM's keys are the keyring's). */
  list(purpose?: KeyPurpose): KeyMeta[] {
    return this.keyring.list(purpose);
  }

  private meta(purpose: KeyPurpose, version: number): KeyMeta {
    const m = this.keyring.get(purpose, version);
    if (!m) throw new KeyStoreError(`${purpose} v${version} is not in the keyring (${this.o.keyDir})`);
    return m;
  }

  private find(cls: number, label: string): Buffer {
    this.p11.C_FindObjectsInit(this.session, [
      { type: this.lib.CKA_CLASS, value: cls },
      { type: this.lib.CKA_LABEL, value: label },
    ]);
    try {
      const found = this.p11.C_FindObjects(this.session, 2);
      if (found.length !== 1) throw new KeyStoreError(`PKCS#11 token "${this.o.token}": ${found.length} objects labelled ${label}`);
      return found[0];
    } finally {
      this.p11.C_FindObjectsFinal(this.session);
    }
  }

  private exists(label: string): boolean {
    this.p11.C_FindObjectsInit(this.session, [{ type: this.lib.CKA_LABEL, value: label }]);
    try {
      return this.p11.C_FindObjects(this.session, 1).length > 0;
    } finally {
      this.p11.C_FindObjectsFinal(this.session);
    }
  }

  private op(mechanism: number, key: Buffer, data: Uint8Array, outSize: number): Buffer {
    if (this.closed) throw new KeyStoreError('the PKCS#11 key store is closed');
    this.p11.C_SignInit(this.session, { mechanism }, key);
    return Buffer.from(this.p11.C_Sign(this.session, Buffer.from(data), Buffer.alloc(outSize)));
  }

  private publicKey(alg: KeyAlgorithm, label: string): crypto.KeyObject {
    const L = this.lib;
    const pub = this.find(L.CKO_PUBLIC_KEY, label);
    const attrs = (...types: number[]): Buffer[] => {
      const got = this.p11.C_GetAttributeValue(
        this.session,
        pub,
        types.map((type) => ({ type })),
      );
      return types.map((_, i) => {
        const v = got[i]?.value;
        if (!v) throw new KeyStoreError(`${label}: the token gave no public key attribute`);
        return v;
      });
    };
    if (alg === 'RS256') {
      const [n, e] = attrs(L.CKA_MODULUS, L.CKA_PUBLIC_EXPONENT) as [Buffer, Buffer];
      return crypto.createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') }, format: 'jwk' });
    }
    const [raw] = attrs(L.CKA_EC_POINT) as [Buffer];
    if (alg === 'EdDSA') {
      return crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: ecPoint(raw, 32).toString('base64url') }, format: 'jwk' });
    }
    const p = ecPoint(raw, 65);
    return crypto.createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: p.subarray(1, 33).toString('base64url'), y: p.subarray(33).toString('base64url') },
      format: 'jwk',
    });
  }

  signer(purpose: KeyPurpose, version: number): SigningKeyHandle {
    const meta = this.meta(purpose, version);
    const label = keyLabel(purpose, version);
    const priv = this.find(this.lib.CKO_PRIVATE_KEY, label);
    const publicKey = this.publicKey(meta.alg, label);
    const L = this.lib;
    const sign = (data: Uint8Array): Buffer => {
      switch (meta.alg) {
        case 'ES256':
          return this.op(L.CKM_ECDSA, priv, crypto.createHash('sha256').update(data).digest(), 64);
        case 'RS256':
          return this.op(L.CKM_SHA256_RSA_PKCS, priv, data, 512);
        case 'EdDSA':
          return this.op(CKM_EDDSA, priv, data, 64);
        case 'HS256':
          throw new KeyStoreError(`${label} is no signing key`);
      }
    };
    return { meta, publicKey, sign };
  }

  mac(purpose: KeyPurpose, version: number): MacKeyHandle {
    const meta = this.meta(purpose, version);
    if (meta.alg !== 'HS256') throw new KeyStoreError(`${purpose} v${version} is no MAC key`);
    const key = this.find(this.lib.CKO_SECRET_KEY, keyLabel(purpose, version));
    return { meta, hmac: (data) => this.op(this.lib.CKM_SHA256_HMAC, key, data, 32) };
  }

  private secretTemplate(label: string): Pkcs11.Template {
    const L = this.lib;
    return [
      { type: L.CKA_CLASS, value: L.CKO_SECRET_KEY },
      { type: L.CKA_KEY_TYPE, value: L.CKK_GENERIC_SECRET },
      { type: L.CKA_TOKEN, value: true },
      { type: L.CKA_PRIVATE, value: true },
      { type: L.CKA_LABEL, value: label },
      { type: L.CKA_SIGN, value: true },
      { type: L.CKA_VERIFY, value: true },
      { type: L.CKA_SENSITIVE, value: true },
      { type: L.CKA_EXTRACTABLE, value: false },
    ];
  }

  generate(purpose: KeyPurpose, alg: KeyAlgorithm = PURPOSE_ALGORITHMS[purpose][0]): KeyMeta {
    if (!PURPOSE_ALGORITHMS[purpose].includes(alg))
      throw new KeyStoreError(`${purpose} keys are ${PURPOSE_ALGORITHMS[purpose].join(' or ')}`);
    const L = this.lib;
    const version = this.keyring.nextVersion(purpose);
    const label = keyLabel(purpose, version);
    if (this.exists(label)) throw new KeyStoreError(`PKCS#11 token "${this.o.token}" already holds ${label} (not in the keyring)`);
    if (alg === 'HS256') {
      this.p11.C_GenerateKey(this.session, { mechanism: L.CKM_GENERIC_SECRET_KEY_GEN }, [
        ...this.secretTemplate(label),
        { type: L.CKA_VALUE_LEN, value: 32 },
      ]);
    } else {
      const common = [
        { type: L.CKA_TOKEN, value: true },
        { type: L.CKA_LABEL, value: label },
      ];
      const pub: Pkcs11.Template = [...common, { type: L.CKA_VERIFY, value: true }];
      const priv: Pkcs11.Template = [
        ...common,
        { type: L.CKA_SIGN, value: true },
        { type: L.CKA_PRIVATE, value: true },
        { type: L.CKA_SENSITIVE, value: true },
        { type: L.CKA_EXTRACTABLE, value: false },
      ];
      if (alg === 'RS256') {
        pub.push({ type: L.CKA_MODULUS_BITS, value: 2048 }, { type: L.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) });
        this.p11.C_GenerateKeyPair(this.session, { mechanism: L.CKM_RSA_PKCS_KEY_PAIR_GEN }, pub, priv);
      } else if (alg === 'ES256') {
        pub.push({ type: L.CKA_EC_PARAMS, value: P256_PARAMS });
        this.p11.C_GenerateKeyPair(this.session, { mechanism: L.CKM_EC_KEY_PAIR_GEN }, pub, priv);
      } else {
        pub.push({ type: L.CKA_EC_PARAMS, value: ED25519_PARAMS }, { type: L.CKA_KEY_TYPE, value: CKK_EC_EDWARDS });
        priv.push({ type: L.CKA_KEY_TYPE, value: CKK_EC_EDWARDS });
        this.p11.C_GenerateKeyPair(this.session, { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN }, pub, priv);
      }
    }
    return this.keyring.add(purpose, version, alg);
  }

  importSecret(purpose: KeyPurpose, version: number, secret: Uint8Array): KeyMeta {
    if (PURPOSE_ALGORITHMS[purpose][0] !== 'HS256') throw new KeyStoreError(`${purpose} keys are not secrets to import`);
    if (secret.length < 32) throw new KeyStoreError('an imported secret has at least 32 bytes');
    const label = keyLabel(purpose, version);
    if (this.exists(label)) throw new KeyStoreError(`PKCS#11 token "${this.o.token}" already holds ${label}`);
    this.p11.C_CreateObject(this.session, [...this.secretTemplate(label), { type: this.lib.CKA_VALUE, value: Buffer.from(secret) }]);
    return this.keyring.add(purpose, version, 'HS256');
  }

  setStatus(purpose: KeyPurpose, version: number, status: KeyStatus, until?: Date): KeyMeta {
    return this.keyring.setStatus(purpose, version, status, until);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.p11.C_CloseSession(this.session);
    } finally {
      unload(this.o.module);
    }
  }
}

/** The user PIN from MEDID_PKCS11_PIN_FILE (its first line). */
export function readPin(file: string): string {
  try {
    return (fs.readFileSync(file, 'utf8').split(/\r?\n/)[0] ?? '').trim();
  } catch (e) {
    throw new KeyStoreError(`MEDID_PKCS11_PIN_FILE ${file}: ${(e as Error).message}`);
  }
}
