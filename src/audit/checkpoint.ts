/**
 * Signed tree heads as C2SP checkpoints (https://c2sp.org/tlog-checkpoint): the note text
 * `<origin>\n<size>\n<base64 root>\n` signed as a C2SP signed note (https://c2sp.org/signed-note)
 * with Ed25519, so existing witnesses and their tools can read and cosign medid's heads. The
 * signing half, on node:crypto; parsing and verifying are in the dependency-free
 * `verify/log-verify.ts`, which the portal runs too. (The JWS form of a head comes later, with
 * `jose`.)
 *
 * A signer is an operation, not key bytes (privacy-design §7): an HSM- or KMS-backed signer fits
 * the same `NoteSigner` shape.
 */
import { createHash, createPublicKey, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { formatCheckpoint, formatNoteSignature, formatVerifierKey, isKeyName } from './verify/log-verify.ts';
import type { Checkpoint } from './verify/log-verify.ts';

export type { Checkpoint } from './verify/log-verify.ts';

/** Signs note texts under one key name and key ID. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** key ID = SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key)[:4], big-endian. */
export function ed25519KeyId(name: string, publicKey: Uint8Array): number {
  return createHash('sha256').update(name, 'utf8').update(Buffer.of(0x0a, 0x01)).update(publicKey).digest().readUInt32BE(0);
}

/** The 32 raw bytes of an Ed25519 public key (RFC 8032), from either half of the pair. */
export function ed25519PublicKeyBytes(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') throw new TypeError(`not an Ed25519 key: ${String(pub.asymmetricKeyType)}`);
  const { x } = pub.export({ format: 'jwk' });
  if (x === undefined) throw new TypeError('Ed25519 key without x');
  return Buffer.from(x, 'base64url');
}

/** An Ed25519 note signer for key name `name` (the log's origin, by C2SP's recommendation). */
export function ed25519NoteSigner(name: string, privateKey: KeyObject): NoteSigner {
  if (!isKeyName(name)) throw new TypeError(`${JSON.stringify(name)} is not a note key name (non-empty, no spaces, no '+')`);
  if (privateKey.type !== 'private') throw new TypeError('an Ed25519 private key is needed to sign');
  const keyId = ed25519KeyId(name, ed25519PublicKeyBytes(privateKey));
  return { name, keyId, sign: (message) => sign(null, message, privateKey) };
}

/** The verifier key a reader configures: `<name>+<key ID hex>+base64(0x01 ‖ public key)`. */
export function ed25519VerifierKey(name: string, key: KeyObject): string {
  const publicKey = ed25519PublicKeyBytes(key);
  return formatVerifierKey({ name, keyId: ed25519KeyId(name, publicKey), publicKey });
}

// Any ASCII control character but newline.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f]/;

/** A signed note: `text`, a blank line, then one signature line per signer. */
export async function signNote(text: string, signers: readonly NoteSigner[]): Promise<string> {
  if (!text.endsWith('\n') || !text.isWellFormed() || CONTROL.test(text))
    throw new TypeError('a note text is UTF-8 ending in a newline, without control characters');
  if (signers.length === 0) throw new TypeError('a signed note needs a signer');
  const message = Buffer.from(text, 'utf8');
  let lines = '';
  for (const s of signers) lines += formatNoteSignature({ name: s.name, keyId: s.keyId, signature: await s.sign(message) });
  return `${text}\n${lines}`;
}

/** A checkpoint signed as a note. */
export function signCheckpoint(checkpoint: Checkpoint, signers: readonly NoteSigner[]): Promise<string> {
  return signNote(formatCheckpoint(checkpoint), signers);
}
