/**
 * Text forms of numbers as desks type them: full-width digits and letters (０１２, ＡＢ),
 * full-width colons and hyphens, ideographic spaces. NFKC folds them to the half-width forms
 * compared on; the CLINS width rule decides the form stored.
 */

/** NFKC: full-width ASCII → half-width, half-width kana → full-width, U+3000 → space. */
export function nfkc(s: string): string {
  return s.normalize('NFKC');
}

/** Removes every space, ASCII or ideographic (NFKC has made U+3000 a plain space already). */
export function stripSpaces(s: string): string {
  return s.replace(/[\s\u3000]+/gu, '');
}

/** Digits only, after NFKC and with spaces and hyphen-like separators removed. */
export function compactDigits(s: string): string {
  return stripSpaces(nfkc(s)).replace(/[-‐‑‒–—―ー−－]/g, '');
}

/** Printable ASCII (U+0021–U+007E) to its full-width form (U+FF01–U+FF5E). */
export function toFullWidth(s: string): string {
  return s.replace(/[\u0021-\u007e]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
}
