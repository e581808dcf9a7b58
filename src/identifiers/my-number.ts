/**
 * My Number (個人番号): 12 digits, the 12th a mod-11 check digit (総務省令第八十五号 第五条).
 * medid accepts it as input only — at registration and lookup — and keeps nothing but a keyed
 * MAC (privacy/my-number/mac.ts). It is never a FHIR identifier medid emits.
 */
import { myNumberCheckDigit } from './check-digits.ts';
import { fail, ok } from './kind.ts';
import type { IdentifierKind, ParseResult } from './kind.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import { compactDigits } from '../jp/characters.ts';

export function parseMyNumber(raw: string): ParseResult {
  const d = compactDigits(raw);
  // The number itself is never put into a message: messages reach logs and responses.
  if (!/^\d{12}$/.test(d)) return fail('my-number.format', 'My Number: must be 12 digits');
  if (Number(d[11]) !== myNumberCheckDigit(d.slice(0, 11)))
    return fail('my-number.check-digit', 'My Number: the check digit does not match');
  return ok(d);
}

export const myNumber: IdentifierKind = {
  system: ID_SYSTEMS.myNumber,
  label: 'My Number',
  labelJa: '個人番号（マイナンバー）',
  parse: parseMyNumber,
};
