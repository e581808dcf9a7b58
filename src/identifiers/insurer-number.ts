/**
 * 保険者番号 (insurer number): 8 digits = 法別 2 + 都道府県 2 + 保険者別 3 + check digit; 市町村
 * 国保 numbers have 6 digits (no 法別). Canonical form: 8 digits, left-padded with zeros (JP
 * Core / CLINS; the claims format pads with spaces instead, which is read too). The last digit
 * is the 2-1 check digit of the other seven (identifiers.md §4.1).
 */
import { mod10CheckDigit } from './check-digits.ts';
import { fail, ok } from './kind.ts';
import type { IdentifierKind, ParseResult } from './kind.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import { compactDigits } from '../jp/characters.ts';

export function parseInsurerNumber(raw: string): ParseResult {
  const d = compactDigits(raw);
  if (!/^\d+$/.test(d)) return fail('insurer-number.digits', `insurer number: only digits are allowed`);
  if (d.length < 6 || d.length > 8)
    return fail('insurer-number.length', `insurer number: must have 8 digits (6 for 市町村国保), has ${d.length}`);
  const v = d.padStart(8, '0');
  const expected = mod10CheckDigit(v.slice(0, 7));
  if (Number(v[7]) !== expected) return fail('insurer-number.check-digit', 'insurer number: the check digit is wrong');
  return ok(v);
}

export const insurerNumber: IdentifierKind = {
  system: ID_SYSTEMS.insurerNumber,
  label: 'insurer number',
  labelJa: '保険者番号',
  parse: parseInsurerNumber,
};
