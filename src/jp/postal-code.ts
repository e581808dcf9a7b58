/** 郵便番号: seven digits, written 123-4567, 〒123-4567, １２３４５６７ or with spaces. */
import { nfkc } from './characters.ts';

/** Seven postal-code digits, or '' when there are not seven (the comparison key). */
export function postalKey(s: string): string {
  const d = nfkc(s).replace(/\D/g, '');
  return d.length === 7 ? d : '';
}

/** The postal code as 123-4567, from a value that is only 〒, spaces, hyphens and seven digits; else undefined. */
export function readPostalCode(raw: string): string | undefined {
  const d = nfkc(raw).replace(/[〒\s-]/g, '');
  return /^\d{7}$/.test(d) ? `${d.slice(0, 3)}-${d.slice(3)}` : undefined;
}
