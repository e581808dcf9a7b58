/**
 * A My Number card's certificate serial as a keyed MAC only, like My Number itself (mac.ts): the
 * serial names one card, and so one person, to anyone holding a list of serials (a reader
 * vendor's log, another verifier's records); without the key the stored MAC names nobody.
 * HMAC-SHA256 under a key derived for this purpose alone from the registry secret, over a
 * versioned, domain-separated input (the canonical serial: identifiers/jpki-user-certificate.ts).
 */
import { PurposeMac } from './mac.ts';

export const CERTIFICATE_MAC_VERSION = 1;

/** The MAC of a canonical serial (upper-case hex, no leading zeros). */
export class CertificateMac extends PurposeMac {
  constructor(secret: Buffer) {
    // Not the My Number MAC's key: a serial and a My Number never share a MAC space.
    super(secret, 'medid/jpki-cert-mac', 'medid/jpki-cert', CERTIFICATE_MAC_VERSION);
  }
}
