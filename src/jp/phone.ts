/**
 * Japanese telephone numbers: written with hyphens, parentheses, spaces, in full width, or with
 * +81 for the leading 0 (03-1234-5678, ０３（１２３４）５６７８, +81 3 1234 5678).
 */
import { nfkc, stripSpaces } from './characters.ts';

/** A telephone number as written, width-folded and without spaces; undefined when it cannot be one. */
export function readPhone(raw: string): string | undefined {
  const p = stripSpaces(nfkc(raw));
  return /^\+?[0-9()-]{6,20}$/.test(p) ? p : undefined;
}

/** Digits of a phone number (+81 as a leading 0), for comparison. */
export function phoneKey(s: string): string {
  const d = nfkc(s).replace(/[^\d+]/g, '');
  return d.startsWith('+81') ? `0${d.slice(3)}` : d.replace(/\+/g, '');
}
