/**
 * 被保険者個人識別子 (JP-CLINS JP_Insurance_memberID): `保険者番号:記号:番号:枝番`, four parts
 * joined by half-width colons, all three colons always present (identifiers.md §3). Desks type
 * full-width colons, spaces and leave 枝番 off; all of that is normalized to the one canonical
 * value, and the insurer number's check digit is verified.
 */
import { parseInsuredNumber, parseInsuredSubnumber, parseInsuredSymbol } from './insured-parts.ts';
import { parseInsurerNumber } from './insurer-number.ts';
import { mod10CheckDigit } from './check-digits.ts';
import { DEFAULT_RULES, fail, ok } from './kind.ts';
import type { IdentifierKind, IdentifierRules, ParseResult } from './kind.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import { nfkc } from '../jp/characters.ts';

export interface InsuredMemberParts {
  insurerNumber: string;
  symbol: string;
  number: string;
  subnumber: string;
}

/** Splits and normalizes; the value of a successful result is the canonical identifier. */
export function parseInsuredMemberParts(
  raw: string,
  rules: IdentifierRules = DEFAULT_RULES,
): { ok: true; parts: InsuredMemberParts } | { ok: false; rule: string; message: string } {
  const pieces = nfkc(raw).trim().split(':');
  if (pieces.length === 3) pieces.push(''); // 枝番 left off: "00012345::187"
  if (pieces.length !== 4) {
    return {
      ok: false,
      rule: 'insured-member-id.format',
      message: `insured member id: must be 保険者番号:記号:番号:枝番 (three colons)`,
    };
  }
  const [ins, sym, num, sub] = pieces as [string, string, string, string];
  for (const r of [parseInsurerNumber(ins), parseInsuredSymbol(sym), parseInsuredNumber(num), parseInsuredSubnumber(sub)]) {
    if (!r.ok) return { ok: false, rule: r.rule, message: `insured member id: ${r.message}` };
  }
  const v = (r: ParseResult): string => (r.ok ? r.value : '');
  const parts = {
    insurerNumber: v(parseInsurerNumber(ins)),
    symbol: v(parseInsuredSymbol(sym)),
    number: v(parseInsuredNumber(num)),
    subnumber: v(parseInsuredSubnumber(sub)),
  };
  // 後期高齢者医療 (法別 39): the 番号 is an 8-digit 被保険者番号 whose last digit third-party
  // validators check with the 2-1 rule — unconfirmed, so only when configured.
  if (rules.lateElderlyNumberCheckDigit && parts.insurerNumber.startsWith('39')) {
    const n = nfkc(parts.number);
    if (!/^\d{8}$/.test(n))
      return { ok: false, rule: 'late-elderly-number.format', message: `insured member id: a 後期高齢者 number must be 8 digits` };
    const expected = mod10CheckDigit(n.slice(0, 7));
    if (Number(n[7]) !== expected)
      return {
        ok: false,
        rule: 'late-elderly-number.check-digit',
        message: `insured member id: 後期高齢者 number: the check digit is wrong`,
      };
  }
  return { ok: true, parts };
}

export function formatInsuredMemberId(p: InsuredMemberParts): string {
  return `${p.insurerNumber}:${p.symbol}:${p.number}:${p.subnumber}`;
}

export function parseInsuredMemberId(raw: string, rules: IdentifierRules = DEFAULT_RULES): ParseResult {
  const r = parseInsuredMemberParts(raw, rules);
  return r.ok ? ok(formatInsuredMemberId(r.parts)) : fail(r.rule, r.message);
}

export const insuredMemberId: IdentifierKind = {
  system: ID_SYSTEMS.insuredMemberId,
  label: 'insured member id',
  labelJa: '被保険者個人識別子',
  parse: parseInsuredMemberId,
};
