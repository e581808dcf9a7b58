/**
 * My Number as a keyed MAC only (privacy-design.md §2.1): HMAC-SHA256 under the registry
 * secret over a versioned, domain-separated input. An unkeyed hash of a 10^11 space falls to
 * brute force in minutes; without the key, the MAC reveals nothing. The version prefix lets a
 * later key or scheme coexist during a rotation.
 */
import crypto from 'node:crypto';

export const MY_NUMBER_MAC_VERSION = 1;

export class MyNumberMac {
  private readonly key: Buffer;
  /** Stored beside each MAC, so a later key or scheme can coexist during a rotation. */
  readonly version = MY_NUMBER_MAC_VERSION;

  constructor(secret: Buffer) {
    // A key derived for this purpose alone, so the registry secret can serve other MACs later.
    this.key = Buffer.from(crypto.hkdfSync('sha256', secret, Buffer.alloc(0), 'medid/mn-mac', 32));
  }

  /** The MAC of 12 validated digits. */
  mac(digits: string): Buffer {
    return crypto.createHmac('sha256', this.key).update(`medid/mn/v${MY_NUMBER_MAC_VERSION}|${digits}`).digest();
  }

  hex(digits: string): string {
    return this.mac(digits).toString('hex');
  }
}
