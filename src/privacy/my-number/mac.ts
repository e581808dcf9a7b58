/**
 * My Number as a keyed MAC only (privacy-design.md §2.1): HMAC-SHA256 under the registry
 * secret over a versioned, domain-separated input. An unkeyed hash of a 10^11 space falls to
 * brute force in minutes; without the key, the MAC reveals nothing. The version prefix lets a
 * later key or scheme coexist during a rotation.
 */
import crypto from 'node:crypto';

export const MY_NUMBER_MAC_VERSION = 1;

/**
 * HMAC-SHA256 under a key derived from the registry secret for one purpose alone (`purpose`, the
 * HKDF info), over `<domain>/v<version>|<value>`: two purposes never share a MAC space, and the
 * version lets a later key or scheme coexist during a rotation.
 */
export class PurposeMac {
  private readonly key: Buffer;
  private readonly prefix: string;
  /** Stored beside each MAC, so a later key or scheme can coexist during a rotation. */
  readonly version: number;

  constructor(secret: Buffer, purpose: string, domain: string, version: number) {
    this.key = Buffer.from(crypto.hkdfSync('sha256', secret, Buffer.alloc(0), purpose, 32));
    this.prefix = `${domain}/v${version}|`;
    this.version = version;
  }

  mac(value: string): Buffer {
    return crypto.createHmac('sha256', this.key).update(`${this.prefix}${value}`).digest();
  }

  hex(value: string): string {
    return this.mac(value).toString('hex');
  }
}

/** The MAC of 12 validated My Number digits. */
export class MyNumberMac extends PurposeMac {
  constructor(secret: Buffer) {
    // A key derived for this purpose alone, so the registry secret can serve other MACs later.
    super(secret, 'medid/mn-mac', 'medid/mn', MY_NUMBER_MAC_VERSION);
  }
}
