/**
 * The authority's envelope key (privacy-design.md §4, "Delivery (R18)"): providers seal an
 * insured number or medical ID to it (JWE, ECDH-ES+A256KW / A256GCM), utilizing databases
 * forward the sealed envelope, and only medid opens it. Callers get the operation (`open`) and
 * the public JWKS, never key bytes: a PKCS#11 or KMS back end (ECDH on a non-exportable key)
 * implements the same shape.
 *
 * The key sits on the registry's side of the split (§1): the envelope holds identifiers only
 * the registry resolves, so the pseudonymization service never holds this key, and the
 * registry module is given `open`, never the key (as with the My Number MAC next door).
 *
 * File back end: an ECDH P-256 key pair derived from a secret of ≥ 32 random bytes
 * (MEDID_ENVELOPE_KEY_FILE, or generated once into MEDID_DATA_DIR/keys/envelope-key) — the
 * same file format, atomic creation and checks as the other two secrets (core/secret-file.ts).
 * The private scalar is d = (c mod (n − 1)) + 1 with c 64 bits longer than n (FIPS 186-5
 * A.2.1, "extra random bits"), c = HKDF-SHA256(secret, info "medid/envelope/v1"); the key id
 * is the public key's RFC 7638 thumbprint, so providers see a new kid when the secret changes.
 */
import crypto from 'node:crypto';
import { compactDecrypt, decodeProtectedHeader, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { loadOrCreateSecret } from '../core/secret-file.ts';

/** The JWE key management and content encryption algorithms an envelope must use. */
export const ENVELOPE_ALG = 'ECDH-ES+A256KW';
export const ENVELOPE_ENC = 'A256GCM';
/** The derivation's version: a new one is a new key (and a new kid). */
export const ENVELOPE_KEY_VERSION = 1;

/** What `open` answers: the plaintext, or why not — `key`: not sealed to a key held here (or not with ECDH-ES+A256KW / A256GCM); `decrypt`: it does not decrypt. */
export type Opened = { ok: true; plaintext: Uint8Array } | { ok: false; reason: 'key' | 'decrypt'; text: string };

/** The secret: from MEDID_ENVELOPE_KEY_FILE, or generated once into `<dataDir>/keys/envelope-key`. */
export function loadEnvelopeSecret(src: { file: string | undefined; dataDir: string }): { secret: Buffer; generated: boolean } {
  return loadOrCreateSecret({ file: src.file, envName: 'MEDID_ENVELOPE_KEY_FILE', dataDir: src.dataDir, fileName: 'envelope-key' });
}

/** The order of the P-256 group. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** RFC 7638 thumbprint of a P-256 public key (the members in lexicographic order). */
function thumbprint(x: string, y: string): string {
  return crypto.createHash('sha256').update(`{"crv":"P-256","kty":"EC","x":"${x}","y":"${y}"}`).digest('base64url');
}

export class FileEnvelopeKeys {
  /** The public key(s) providers seal to, for `[base]/.well-known/medid-envelope-jwks`; the first is the one to use. */
  readonly jwks: { keys: JWK[] };
  readonly kid: string;
  /** Non-extractable once imported: not even this process can read the scalar back from it. */
  private readonly key: Promise<CryptoKey | Uint8Array>;

  constructor(secret: Buffer) {
    const c = Buffer.from(crypto.hkdfSync('sha256', secret, Buffer.alloc(0), `medid/envelope/v${ENVELOPE_KEY_VERSION}`, 40));
    const d = Buffer.from(((BigInt(`0x${c.toString('hex')}`) % (P256_N - 1n)) + 1n).toString(16).padStart(64, '0'), 'hex');
    c.fill(0);
    const ecdh = crypto.createECDH('prime256v1');
    ecdh.setPrivateKey(d);
    const point = ecdh.getPublicKey();
    const x = point.subarray(1, 33).toString('base64url');
    const y = point.subarray(33).toString('base64url');
    this.kid = thumbprint(x, y);
    this.jwks = { keys: [{ kty: 'EC', crv: 'P-256', x, y, kid: this.kid, use: 'enc', alg: ENVELOPE_ALG }] };
    this.key = importJWK({ kty: 'EC', crv: 'P-256', x, y, d: d.toString('base64url') }, ENVELOPE_ALG, { extractable: false });
    d.fill(0);
  }

  /** The plaintext of a compact JWE sealed to this key with ECDH-ES+A256KW and A256GCM, or why not. */
  async open(jwe: string): Promise<Opened> {
    let header;
    try {
      header = decodeProtectedHeader(jwe);
    } catch {
      return { ok: false, reason: 'decrypt', text: 'the envelope header cannot be decoded' };
    }
    if (header.alg !== ENVELOPE_ALG || header.enc !== ENVELOPE_ENC)
      return { ok: false, reason: 'key', text: `an envelope is sealed with alg ${ENVELOPE_ALG} and enc ${ENVELOPE_ENC}` };
    if (header.kid !== undefined && header.kid !== this.kid)
      return {
        ok: false,
        reason: 'key',
        text: 'the envelope is sealed to a key medid does not hold: seal to the key at .well-known/medid-envelope-jwks',
      };
    if (header.zip !== undefined) return { ok: false, reason: 'key', text: 'compressed envelopes are not accepted' };
    try {
      const { plaintext } = await compactDecrypt(jwe, await this.key, {
        keyManagementAlgorithms: [ENVELOPE_ALG],
        contentEncryptionAlgorithms: [ENVELOPE_ENC],
      });
      return { ok: true, plaintext };
    } catch {
      return { ok: false, reason: 'decrypt', text: 'the envelope does not decrypt with medid’s key' };
    }
  }
}
