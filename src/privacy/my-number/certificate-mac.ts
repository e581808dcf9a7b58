/**
 * A My Number card's certificate serial as a keyed MAC only, like My Number itself (mac.ts): the
 * serial names one card, and so one person, to anyone holding a list of serials (a reader
 * vendor's log, another verifier's records); without the key the stored MAC names nobody.
 * HMAC-SHA256 under a key derived for this purpose alone from the registry secret, over a
 * versioned, domain-separated input (the canonical serial: identifiers/jpki-user-certificate.ts).
 */
import crypto from 'node:crypto';

export const CERTIFICATE_MAC_VERSION = 1;

export class CertificateMac {
  private readonly key: Buffer;
  readonly version = CERTIFICATE_MAC_VERSION;

  constructor(secret: Buffer) {
    // Not the My Number MAC's key: a serial and a My Number never share a MAC space.
    this.key = Buffer.from(crypto.hkdfSync('sha256', secret, Buffer.alloc(0), 'medid/jpki-cert-mac', 32));
  }

  /** The MAC of a canonical serial (upper-case hex, no leading zeros). */
  mac(serial: string): Buffer {
    return crypto.createHmac('sha256', this.key).update(`medid/jpki-cert/v${CERTIFICATE_MAC_VERSION}|${serial}`).digest();
  }
}
