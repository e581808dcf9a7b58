/**
 * 生活保護受給者識別子 (JP-CLINS JP_PublicPayer_memberID): `{公費負担者番号 8}::{受給者番号 7}:`
 * — public-assistance recipients have no insured number, and this is how a CLINS Patient names
 * them instead (identifiers.md §7). The payer number's check digit is verified; the pattern
 * `^[0-9]{8}::[^:\s]{7}:$` (no ideographic space either) comes from the CLINS notes.
 */
import { fail, ok } from './kind.ts';
import type { IdentifierKind, IdentifierRules, ParseResult } from './kind.ts';
import { parsePublicPayerNumber } from './public-payer-number.ts';
import { parsePublicRecipientNumber } from './public-recipient-number.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import { nfkc } from '../jp/characters.ts';

export function parsePublicPayerMemberId(raw: string, rules: IdentifierRules): ParseResult {
  const parts = nfkc(raw).trim().split(':');
  // Accept the trailing colon or its absence; the middle part must be empty.
  if (parts.length === 3) parts.push('');
  if (parts.length !== 4 || parts[1] !== '' || parts[3] !== '') {
    return fail('public-payer-member-id.format', `public payer member id: must be 公費負担者番号::受給者番号:`);
  }
  const payer = parsePublicPayerNumber(parts[0]);
  if (!payer.ok) return fail(payer.rule, `public payer member id: ${payer.message}`);
  const recipient = parsePublicRecipientNumber(parts[2], rules);
  if (!recipient.ok) return fail(recipient.rule, `public payer member id: ${recipient.message}`);
  if (!/^\d{7}$/.test(recipient.value))
    return fail('public-payer-member-id.recipient', `public payer member id: the recipient number must be 7 digits`);
  return ok(`${payer.value}::${recipient.value}:`);
}

export const publicPayerMemberId: IdentifierKind = {
  system: ID_SYSTEMS.publicPayerMemberId,
  label: 'public payer member id',
  labelJa: '生活保護受給者識別子',
  parse: parsePublicPayerMemberId,
};
