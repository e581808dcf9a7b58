/**
 * 公費受給者番号 (public expense recipient number): 7 digits for national programmes (6 + a
 * check digit that practice systems compute with the 2-1 rule — not a published rule, so the
 * check is off unless configured: MEDID_RULE_RECIPIENT_CHECK_DIGIT). Local programmes (地方単独)
 * use up to 30 characters, so those are accepted as they are. Digit-only values shorter than
 * 7 are left-padded with zeros, as prescriptions carry them (ePrescription IG).
 */
import { mod10CheckDigit } from './check-digits.ts';
import { fail, ok } from './kind.ts';
import type { IdentifierKind, IdentifierRules, ParseResult } from './kind.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import { compactDigits, nfkc, stripSpaces } from '../jp/characters.ts';

export function parsePublicRecipientNumber(raw: string, rules: IdentifierRules): ParseResult {
  const d = compactDigits(raw);
  if (/^\d{1,7}$/.test(d)) {
    const v = d.padStart(7, '0');
    if (rules.recipientNumberCheckDigit) {
      const expected = mod10CheckDigit(v.slice(0, 6));
      if (Number(v[6]) !== expected)
        return fail('public-recipient-number.check-digit', 'public recipient number: the check digit is wrong');
    }
    return ok(v);
  }
  const v = stripSpaces(nfkc(raw));
  if (!/^[0-9A-Za-z-]{1,30}$/.test(v))
    return fail(
      'public-recipient-number.format',
      `public recipient number: 7 digits, or up to 30 letters and digits for a local programme`,
    );
  return ok(v);
}

export const publicRecipientNumber: IdentifierKind = {
  system: ID_SYSTEMS.publicRecipientNumber,
  label: 'public recipient number',
  labelJa: '公費受給者番号',
  parse: parsePublicRecipientNumber,
};
