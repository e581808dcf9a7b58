/**
 * The serial number of a My Number card's 利用者証明用電子証明書 (JPKI user-authentication
 * certificate, issued by J-LIS): what a card reader presents for the マイナ保険証 path of online
 * eligibility confirmation. An X.509 serial is a positive integer of up to 20 octets (RFC 5280
 * §4.1.2.2); readers and tools print it in hex, with or without colons or spaces, in either
 * case, sometimes with leading zeros (a DER sign byte). The canonical value is upper-case hex
 * without separators or leading zeros, so every printing of one serial gives one keyed MAC.
 *
 * Input only, like My Number: medid keeps a keyed MAC of it (registry.card_certificate), never
 * the serial, so it is not in the catalog that normalizes identifiers for storage; a resource
 * written with it is refused (normalize-resource.ts). Messages never repeat the value.
 */
import { fail, ok } from './kind.ts';
import type { ParseResult } from './kind.ts';
import { nfkc } from '../jp/characters.ts';

export function parseJpkiCertificateSerial(raw: string): ParseResult {
  const hex = nfkc(raw)
    .replace(/[\s:-]+/gu, '')
    .replace(/^0x/i, '');
  if (!/^[0-9A-Fa-f]{1,42}$/.test(hex))
    return fail('jpki-user-certificate.format', 'certificate serial number: must be hexadecimal (up to 20 octets)');
  const value = hex.toUpperCase().replace(/^0+(?=.)/, '');
  if (value === '0') return fail('jpki-user-certificate.format', 'certificate serial number: must be positive');
  if (value.length > 40) return fail('jpki-user-certificate.format', 'certificate serial number: longer than 20 octets');
  return ok(value);
}
