/**
 * 公費負担者番号 (public expense payer number): 8 digits = 法別 2 + 都道府県 2 + 実施機関 3 +
 * check digit, the same 2-1 rule as 保険者番号 (identifiers.md §4.1). 法別 12 is 生活保護.
 */
import { mod10CheckDigit } from './check-digits.ts';
import { fail, ok } from './kind.ts';
import type { IdentifierKind, ParseResult } from './kind.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import { compactDigits } from '../jp/characters.ts';

export function parsePublicPayerNumber(raw: string): ParseResult {
  const d = compactDigits(raw);
  if (!/^\d{8}$/.test(d)) return fail('public-payer-number.format', `public payer number: must be 8 digits`);
  const expected = mod10CheckDigit(d.slice(0, 7));
  if (Number(d[7]) !== expected) return fail('public-payer-number.check-digit', 'public payer number: the check digit is wrong');
  return ok(d);
}

export const publicPayerNumber: IdentifierKind = {
  system: ID_SYSTEMS.publicPayerNumber,
  label: 'public payer number',
  labelJa: '公費負担者番号',
  parse: parsePublicPayerNumber,
};
