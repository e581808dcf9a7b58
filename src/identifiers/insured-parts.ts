/**
 * 被保険者証記号 / 番号 / 枝番 (insured person's symbol, number, branch), as separate JP Core
 * systems and as the parts of the 被保険者個人識別子. Rules (identifiers.md §3, CLINS R1013):
 * no spaces, no ':'; a part is all half-width or all full-width, and any symbol, kana or kanji
 * makes it all full-width (digits too). 枝番 is two half-width digits, left-padded from one.
 */
import { fail, ok } from './kind.ts';
import type { IdentifierKind, ParseResult } from './kind.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import { nfkc, stripSpaces, toFullWidth } from '../jp/characters.ts';

/** The canonical width of a 記号 or 番号: half-width if plain alphanumerics, else full-width. */
function widthNormalized(s: string): string {
  const k = stripSpaces(nfkc(s));
  return /^[0-9A-Za-z]*$/.test(k) ? k : toFullWidth(k);
}

function parsePart(label: string, rule: string, raw: string, required: boolean): ParseResult {
  const v = widthNormalized(raw);
  if (v.includes(':') || v.includes('：')) return fail(`${rule}.colon`, `${label}: ":" is not allowed`);
  if (required && v === '') return fail(`${rule}.empty`, `${label}: must not be empty`);
  if (v.length > 64) return fail(`${rule}.length`, `${label}: longer than 64 characters`);
  return ok(v);
}

export const parseInsuredSymbol = (raw: string): ParseResult => parsePart('insured person symbol (記号)', 'insured-symbol', raw, false);
export const parseInsuredNumber = (raw: string): ParseResult => parsePart('insured person number (番号)', 'insured-number', raw, true);

/** 枝番: "" when absent (never invented as "00"), else two digits. */
export function parseInsuredSubnumber(raw: string): ParseResult {
  const v = stripSpaces(nfkc(raw));
  if (v === '') return ok('');
  if (!/^\d{1,2}$/.test(v)) return fail('insured-subnumber.format', `insured person branch number (枝番): must be 2 digits 00–99`);
  return ok(v.padStart(2, '0'));
}

export const insuredSymbol: IdentifierKind = {
  system: ID_SYSTEMS.insuredSymbol,
  label: 'insured person symbol',
  labelJa: '被保険者証記号',
  parse: parseInsuredSymbol,
};
export const insuredNumber: IdentifierKind = {
  system: ID_SYSTEMS.insuredNumber,
  label: 'insured person number',
  labelJa: '被保険者証番号',
  parse: parseInsuredNumber,
};
export const insuredSubnumber: IdentifierKind = {
  system: ID_SYSTEMS.insuredSubnumber,
  label: 'insured person branch number',
  labelJa: '被保険者証枝番',
  parse: (raw) => {
    const r = parseInsuredSubnumber(raw);
    return r.ok && r.value === '' ? fail('insured-subnumber.empty', 'insured person branch number (枝番): must not be empty') : r;
  },
};
