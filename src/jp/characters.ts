/**
 * Character-level folding every Japanese text rule builds on: NFKC (full-width ＡＢ０１ → AB01,
 * half-width ｶﾅ → カナ, U+3000 → a space), spaces, digits, full width, code points. Desks type
 * numbers and names in any width with any space; these are the one copy of those folds.
 */

/** NFKC: full-width ASCII → half-width, half-width kana → full-width, U+3000 → space. */
export function nfkc(s: string): string {
  return s.normalize('NFKC');
}

/** Removes every space, ASCII or ideographic (JavaScript's \s includes U+3000). */
export function stripSpaces(s: string): string {
  return s.replace(/\s+/gu, '');
}

/** Removes spaces and the middle dots (・, half-width ･) that separate the parts of a name. */
export function stripNameSeparators(s: string): string {
  return s.replace(/[\s・･]+/gu, '');
}

/** Every hyphen-like character desks and fonts produce (ASCII, Unicode dashes, ー, full-width －). */
const HYPHENS = /[-‐‑‒–—―ー−－]/g;

/** Digits only, after NFKC and with spaces and hyphen-like separators removed. */
export function compactDigits(s: string): string {
  return stripSpaces(nfkc(s)).replace(HYPHENS, '');
}

/** Printable ASCII (U+0021–U+007E) to its full-width form (U+FF01–U+FF5E). */
export function toFullWidth(s: string): string {
  return s.replace(/[\u0021-\u007e]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
}

/** The code points of a string (𠮷 is one, not two UTF-16 units). */
export const codePoints = (s: string): string[] => Array.from(s);
