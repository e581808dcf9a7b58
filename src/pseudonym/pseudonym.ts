/**
 * A domain pseudonym's text form (privacy-design.md §4): `v<key version>.` + Crockford base32
 * of the 16-byte block (26 characters). Crockford's alphabet has no I, L, O or U and reads back
 * case-insensitively, so a pseudonym survives a case-folding collation or a spreadsheet.
 */
import { base32crockford } from '@scure/base';

export const KID_BYTES = 16;

export function formatPseudonym(version: number, block: Uint8Array): string {
  return `v${version}.${base32crockford.encode(block)}`;
}

/** A linkage order's project pseudonym: `p.` + Crockford base32 — never mistaken for a domain's (`v1.`). */
export function formatProjectPseudonym(block: Uint8Array): string {
  return `p.${base32crockford.encode(block)}`;
}

/** The version and block of a pseudonym's text, or undefined when it is not one (any case). */
export function parsePseudonym(text: string): { version: number; block: Uint8Array } | undefined {
  const [, v = '', body = ''] = /^v([1-9]\d{0,3})\.([0-9A-Za-z]{26})$/.exec(text) ?? [];
  if (!body) return undefined;
  const upper = body.toUpperCase();
  let block: Uint8Array;
  try {
    block = base32crockford.decode(upper);
  } catch {
    return undefined;
  }
  // 26 characters carry 130 bits, and the alphabet reads O as 0: only the one canonical text of a block is a pseudonym.
  if (block.length !== KID_BYTES || base32crockford.encode(block) !== upper) return undefined;
  return { version: Number(v), block };
}
