/**
 * One AES-256 block permutation and its inverse (the pseudonym PRP), for every key holder
 * (file-keys.ts, prf-keys.ts): a single 16-byte block, no padding, so ECB is the plain block cipher.
 */
import crypto from 'node:crypto';

export function encryptBlock(key: crypto.KeyObject, block: Uint8Array): Buffer {
  const c = crypto.createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

export function decryptBlock(key: crypto.KeyObject, block: Uint8Array): Buffer {
  const d = crypto.createDecipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  return Buffer.concat([d.update(block), d.final()]);
}
