/**
 * 医療機関コード (10 digits): 都道府県 2 + 点数表 1 + 郡市区 2 + 機関番号 4 + 検証番号 1. The
 * check digit's algorithm is not published (the 2-1 rule fails on real codes), so only the
 * format JP Core fixes is checked: `^[0-4][0-9][1-3][0-9]{7}$` (identifiers.md §4.2, §5).
 */
import { fail, ok } from './kind.ts';
import type { IdentifierKind, ParseResult } from './kind.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import { compactDigits } from '../jp/characters.ts';

const FORMAT = /^[0-4][0-9][1-3][0-9]{7}$/;

export function parseMedicalInstitutionCode(raw: string): ParseResult {
  const d = compactDigits(raw);
  if (!/^\d{10}$/.test(d)) return fail('medical-institution-code.length', `medical institution code: must be 10 digits`);
  if (!FORMAT.test(d))
    return fail(
      'medical-institution-code.format',
      'medical institution code: prefecture 01–47 and fee table 1–3 expected (pattern [0-4][0-9][1-3][0-9]{7})',
    );
  const pref = Number(d.slice(0, 2));
  if (pref < 1 || pref > 47)
    return fail('medical-institution-code.prefecture', 'medical institution code: the prefecture (first two digits) is not 01–47');
  return ok(d);
}

export const medicalInstitutionCode: IdentifierKind = {
  system: ID_SYSTEMS.medicalInstitutionCode,
  label: 'medical institution code',
  labelJa: '医療機関コード',
  parse: parseMedicalInstitutionCode,
};
