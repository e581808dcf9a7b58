/**
 * One identifier kind: its system URI, how a raw value is read, the one canonical value it
 * becomes, and why it is refused when it cannot be made valid. Messages name the element and
 * the rule ("insurer number: the check digit is wrong"), never the value: refusals reach
 * responses, logs and the append-only audit log, and a value there could name a person.
 */

export interface IdentifierRules {
  /** 公費受給者番号: check the 7th digit with the 2-1 rule (practice, not a published rule). */
  recipientNumberCheckDigit: boolean;
  /** 後期高齢者 被保険者番号 (8 digits under 法別39): check the 8th digit with the 2-1 rule. */
  lateElderlyNumberCheckDigit: boolean;
}

export const DEFAULT_RULES: IdentifierRules = {
  recipientNumberCheckDigit: false,
  lateElderlyNumberCheckDigit: false,
};

export type ParseResult = { ok: true; value: string } | { ok: false; rule: string; message: string };

export interface IdentifierKind {
  /** The system URI medid emits. */
  system: string;
  /** Other systems (legacy OIDs) read as this one and rewritten to `system`. */
  aliases?: readonly string[];
  /** A short English name for messages. */
  label: string;
  /** Japanese name, for the IG. */
  labelJa: string;
  parse(raw: string, rules: IdentifierRules): ParseResult;
}

export const ok = (value: string): ParseResult => ({ ok: true, value });
export const fail = (rule: string, message: string): ParseResult => ({ ok: false, rule, message });
