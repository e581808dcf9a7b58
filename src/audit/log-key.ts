/**
 * The access log's signing key (issue 17; privacy-design.md §6, §7): an Ed25519 key that signs
 * the log's tree heads, both as C2SP signed notes (checkpoints, which witnesses read) and as JWS
 * (EdDSA). Callers get the operation (`sign`) and the public forms — the signed-note key name
 * and verifier key string, and a JWK — never key bytes: an HSM- or KMS-backed Ed25519 key fits
 * the same `LogKey` shape.
 *
 * File back end: the key derives from a secret of ≥ 32 random bytes (MEDID_LOG_KEY_FILE, or
 * generated once into MEDID_DATA_DIR/keys/log-key) — the same file format, atomic creation and
 * checks as the other secrets (core/secret-file.ts). The Ed25519 seed is
 * HKDF-SHA256(secret, info "medid/log/v1"), so the secret file can never be mistaken for (or
 * reused as) a key of another kind; a new version of the derivation is a new key.
 *
 * The key name (the checkpoint's origin line, by C2SP's recommendation) is
 * `<host of MEDID_BASE_URL>/medid-log`: every node of one deployment signs as the same log.
 */
import crypto from 'node:crypto';
import type { JWK } from 'jose';
import { loadOrCreateSecret } from '../core/secret-file.ts';
import { ed25519KeyId, ed25519NoteSigner, ed25519PublicKeyBytes, ed25519VerifierKey } from './checkpoint.ts';
import type { NoteSigner } from './checkpoint.ts';
import { isKeyName } from './verify/log-verify.ts';

/** The derivation's version: a new one is a new key (and a new key ID and kid). */
export const LOG_KEY_VERSION = 1;

/** The JWS algorithm of tree heads (RFC 8037: EdDSA over Ed25519). */
export const LOG_JWS_ALG = 'EdDSA';

/** The access log's signing key: an operation and its public forms. */
export interface LogKey {
  /** The signed-note key name, which is also the checkpoints' origin line. */
  readonly keyName: string;
  /** The signed-note key ID (SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4]). */
  readonly keyId: number;
  /** `<name>+<key ID hex>+base64(0x01 ‖ public key)`: what a witness or verifier configures. */
  readonly verifierKey: string;
  /** The public key as a JWK (OKP, Ed25519), with its RFC 7638 thumbprint as `kid`. */
  readonly jwk: JWK;
  /** An Ed25519 signature (RFC 8032) over `message`. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** `<host of the base URL>/medid-log`. */
export function logKeyName(baseUrl: string): string {
  const name = `${new URL(baseUrl).host}/medid-log`;
  if (!isKeyName(name)) throw new TypeError(`the log's key name ${JSON.stringify(name)} is not a note key name`);
  return name;
}

/** The secret: from MEDID_LOG_KEY_FILE, or generated once into `<dataDir>/keys/log-key`. */
export function loadLogSecret(src: { file: string | undefined; dataDir: string }): { secret: Buffer; generated: boolean } {
  return loadOrCreateSecret({ file: src.file, envName: 'MEDID_LOG_KEY_FILE', dataDir: src.dataDir, fileName: 'log-key' });
}

/** PKCS #8 DER of an Ed25519 private key is this prefix and the 32-byte seed (RFC 8410 §7). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** RFC 7638 thumbprint of an Ed25519 public JWK (members in lexicographic order). */
function thumbprint(x: string): string {
  return crypto.createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url');
}

/** A note signer (checkpoint.ts) over a log key's `sign`. */
export function noteSignerOf(key: LogKey): NoteSigner {
  return { name: key.keyName, keyId: key.keyId, sign: (m) => key.sign(m) };
}

export class FileLogKey implements LogKey {
  readonly keyName: string;
  readonly keyId: number;
  readonly verifierKey: string;
  readonly jwk: JWK;
  private readonly signer: NoteSigner;

  constructor(secret: Buffer, keyName: string) {
    const seed = Buffer.from(crypto.hkdfSync('sha256', secret, Buffer.alloc(0), `medid/log/v${LOG_KEY_VERSION}`, 32));
    const der = Buffer.concat([ED25519_PKCS8_PREFIX, seed]);
    const privateKey = crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    seed.fill(0);
    der.fill(0);
    this.signer = ed25519NoteSigner(keyName, privateKey);
    this.keyName = keyName;
    this.keyId = this.signer.keyId;
    this.verifierKey = ed25519VerifierKey(keyName, privateKey);
    const publicKey = ed25519PublicKeyBytes(privateKey);
    if (ed25519KeyId(keyName, publicKey) !== this.keyId) throw new Error('log key: key IDs disagree');
    const x = publicKey.toString('base64url');
    this.jwk = { kty: 'OKP', crv: 'Ed25519', x, kid: thumbprint(x), alg: LOG_JWS_ALG, use: 'sig' };
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    return this.signer.sign(message);
  }
}

/**
 * The log key of a key store (core/keys): an Ed25519 key in an HSM (PKCS#11 `CKM_EDDSA`) or in a
 * keyring file, given as its operation and public key; the same public forms as FileLogKey.
 */
export class StoreLogKey implements LogKey {
  readonly keyName: string;
  readonly keyId: number;
  readonly verifierKey: string;
  readonly jwk: JWK;
  private readonly handle: { readonly publicKey: crypto.KeyObject; sign(data: Uint8Array): Uint8Array };

  constructor(handle: { readonly publicKey: crypto.KeyObject; sign(data: Uint8Array): Uint8Array }, keyName: string) {
    if (!isKeyName(keyName)) throw new TypeError(`${JSON.stringify(keyName)} is not a note key name`);
    const publicKey = ed25519PublicKeyBytes(handle.publicKey);
    this.handle = handle;
    this.keyName = keyName;
    this.keyId = ed25519KeyId(keyName, publicKey);
    this.verifierKey = ed25519VerifierKey(keyName, handle.publicKey);
    const x = publicKey.toString('base64url');
    this.jwk = { kty: 'OKP', crv: 'Ed25519', x, kid: thumbprint(x), alg: LOG_JWS_ALG, use: 'sig' };
  }

  sign(message: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve().then(() => this.handle.sign(message));
  }
}
