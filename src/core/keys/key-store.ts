/**
 * Keys behind one interface (privacy-design.md §7; issue 19 item 2). Every key medid holds has a
 * purpose, a version and a status, and callers get operations on it — `sign`, `hmac` — never its
 * bytes, so a key generated inside a PKCS#11 HSM stays there. Two back ends implement the
 * interface: files (development; `file-store.ts`) and PKCS#11 (`pkcs11-store.ts`, tested against
 * SoftHSM2). A cloud KMS (AWS KMS, Google Cloud KMS, Azure Key Vault: each signs with ECDSA
 * P-256, RSA and — Google, Azure Managed HSM — Ed25519, and computes HMAC-SHA256) is a third
 * back end to add behind the same interface: `KeyStore` asks nothing a KMS cannot do except
 * synchronous calls, which a KMS back end would meet by deriving working keys at start (as the
 * PKCS#11 back end does for pseudonyms) and by an async `sign`.
 *
 * The statuses, in the order a key moves through them:
 * - `pending`: generated, not yet used to produce anything; a signing key is already published
 *   (JWKS) so every node and client cache knows it before the first token it signs;
 * - `active`: produces new outputs (signs tokens or tree heads; the newest link of the My
 *   Number MAC chain);
 * - `verify-only`: no new signatures, still published until `until` (the JWKS overlap window);
 *   for the My Number MAC an older link of the chain, still computed on every lookup;
 * - `retired`: used for nothing; an HSM key may then be destroyed (the ceremony log says when).
 */
import type crypto from 'node:crypto';

export const KEY_PURPOSES = ['token-signing', 'log-signing', 'my-number-mac', 'certificate-mac', 'pseudonym-master'] as const;
export type KeyPurpose = (typeof KEY_PURPOSES)[number];

export const KEY_STATUSES = ['pending', 'active', 'verify-only', 'retired'] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];

/** What a key does: a JWS signing algorithm, or HMAC-SHA256 (`HS256`). */
export type KeyAlgorithm = 'ES256' | 'RS256' | 'EdDSA' | 'HS256';

/** The algorithm each purpose's keys have (token signing: ES256 unless RS256 is asked for). */
export const PURPOSE_ALGORITHMS: Record<KeyPurpose, readonly KeyAlgorithm[]> = {
  'token-signing': ['ES256', 'RS256'],
  'log-signing': ['EdDSA'],
  'my-number-mac': ['HS256'],
  'certificate-mac': ['HS256'],
  'pseudonym-master': ['HS256'],
};

export interface KeyMeta {
  purpose: KeyPurpose;
  version: number;
  status: KeyStatus;
  alg: KeyAlgorithm;
  /** ISO time the key was generated or imported. */
  createdAt: string;
  /** ISO time a `verify-only` signing key stops being published (the end of the overlap window). */
  until?: string;
  /**
   * The file back end's version 1 of a purpose that predates the key store: its material is the
   * file medid always used (MEDID_SIGNING_KEY_FILE, MEDID_SECRET_FILE, …), loaded as before.
   */
  legacy?: boolean;
}

/** A signing key: the operation and the public key, never the private one. */
export interface SigningKeyHandle {
  readonly meta: KeyMeta;
  readonly publicKey: crypto.KeyObject;
  /** The JWS signature of `data` under `meta.alg` (ES256: raw r ‖ s, 64 bytes; EdDSA: 64 bytes; RS256: PKCS #1 v1.5). */
  sign(data: Uint8Array): Buffer;
}

/** A MAC key: HMAC-SHA256 under the key, and nothing else. */
export interface MacKeyHandle {
  readonly meta: KeyMeta;
  hmac(data: Uint8Array): Buffer;
}

export interface KeyStore {
  readonly backend: 'file' | 'pkcs11';
  /** Every key the keyring knows (of one purpose), oldest version first. */
  list(purpose?: KeyPurpose): KeyMeta[];
  signer(purpose: KeyPurpose, version: number): SigningKeyHandle;
  mac(purpose: KeyPurpose, version: number): MacKeyHandle;
  /** A new key of the next version, made inside the back end, `pending`. */
  generate(purpose: KeyPurpose, alg?: KeyAlgorithm): KeyMeta;
  /**
   * Secret key material brought in by a key ceremony (a MAC or master key that already protects
   * stored data, moved from a file into the HSM); stored non-extractable, `pending`.
   */
  importSecret(purpose: KeyPurpose, version: number, secret: Uint8Array): KeyMeta;
  setStatus(purpose: KeyPurpose, version: number, status: KeyStatus, until?: Date): KeyMeta;
  close(): void;
}

export class KeyStoreError extends Error {
  override name = 'KeyStoreError';
}

export function isKeyPurpose(s: string): s is KeyPurpose {
  return (KEY_PURPOSES as readonly string[]).includes(s);
}

/** The label of a key in a back end: `medid/<purpose>/v<version>`. */
export function keyLabel(purpose: KeyPurpose, version: number): string {
  return `medid/${purpose}/v${version}`;
}

/**
 * The keys of a purpose that are in use now: not retired, and a verify-only key only until its
 * overlap window ends.
 */
export function liveKeys(store: Pick<KeyStore, 'list'>, purpose: KeyPurpose, now: Date): KeyMeta[] {
  return store
    .list(purpose)
    .filter(
      (k) => k.status !== 'retired' && !(k.status === 'verify-only' && k.until !== undefined && Date.parse(k.until) <= now.getTime()),
    );
}

/** The newest active key of a purpose, if any. */
export function activeKey(store: Pick<KeyStore, 'list'>, purpose: KeyPurpose): KeyMeta | undefined {
  return store
    .list(purpose)
    .filter((k) => k.status === 'active')
    .at(-1);
}
