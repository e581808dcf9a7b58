/**
 * A registration record: what an insurer submits about one insured person (R1). Two ways in,
 * one shape: a flat record (a CSV row or an NDJSON object from `medid import`) or a Patient
 * (the `$register` operation). Both are normalized here, with every problem reported as an
 * issue naming the field (flat) or the FHIRPath (Patient) and the rule — never a guess.
 */
import { formatInsuredMemberId, parseInsuredMemberParts } from '../identifiers/insured-member-id.ts';
import { parseMyNumber } from '../identifiers/my-number.ts';
import type { IdentifierRules } from '../identifiers/kind.ts';
import { parsePublicPayerMemberId } from '../identifiers/public-payer-member-id.ts';
import { nfkc } from '../jp/characters.ts';
import { japanDay, parseJapaneseDate } from '../jp/date.ts';
import { isKatakanaName, registeredKana } from '../jp/kana.ts';
import { readPhone } from '../jp/phone.ts';
import { readPostalCode } from '../jp/postal-code.ts';
import { readSex } from '../jp/sex.ts';
import type { Sex } from '../jp/sex.ts';

export interface RegistrationRecord {
  /** The submitter's own key for the record (echoed in results and error reports). */
  record: string | undefined;
  /** 被保険者個人識別子, canonical, with its insurer number. */
  insuredMemberId: { value: string; insurerNumber: string } | undefined;
  /** 生活保護受給者識別子, canonical, with its public payer number. */
  publicPayerMemberId: { value: string; payerNumber: string } | undefined;
  /** 12 digits; lives only in memory until it is turned into its keyed MAC. */
  myNumber: string | undefined;
  familyKanji: string | undefined;
  givenKanji: string | undefined;
  /** Full-width katakana. */
  familyKana: string;
  givenKana: string | undefined;
  /**
   * A newborn not yet named (R17: an ID from birth): the family name is provisional (the parent's,
   * as the insurer knows it) and there is no given name. Stored as `use: temp` names; a later
   * registration with the real name completes them under the same medical ID. Weak evidence.
   */
  provisional: boolean;
  /** Order within a multiple birth (twins: 1, 2): tells apart newborns filed under one provisional name. */
  birthOrder: number | undefined;
  birthDate: string;
  gender: Sex;
  postalCode: string | undefined;
  address: string | undefined;
  phone: string | undefined;
  /** Validity of the submitted number (inclusive dates). */
  validFrom: string | undefined;
  validTo: string | undefined;
}

export interface RecordIssue {
  /** The flat field (`birth_date`) or the FHIRPath (`Patient.birthDate`) at fault. */
  expression: string;
  /** medid's rule id, e.g. `insurer-number.check-digit`. */
  rule: string;
  text: string;
}

export type RecordResult = { ok: true; record: RegistrationRecord } | { ok: false; record: string | undefined; issues: RecordIssue[] };

export type RegistrationStatus = 'created' | 'updated' | 'unchanged' | 'review' | 'error';

/** What became of one record: the person it names (new or existing), its medical ID, or why it was held or refused. */
export interface RegistrationResult {
  record: string | undefined;
  status: RegistrationStatus;
  patientId?: string;
  medicalId?: string;
  taskId?: string;
  issues: RecordIssue[];
}

/** The flat fields of a CSV header / NDJSON object, in documentation order. */
export const FLAT_FIELDS = [
  'record',
  'insurer_number',
  'symbol',
  'number',
  'branch',
  'public_payer_number',
  'recipient_number',
  'my_number',
  'family_kanji',
  'given_kanji',
  'family_kana',
  'given_kana',
  'provisional_name',
  'birth_order',
  'birth_date',
  'sex',
  'postal_code',
  'address',
  'phone',
  'valid_from',
  'valid_to',
] as const;
export type FlatField = (typeof FLAT_FIELDS)[number];
export type FlatRecord = Partial<Record<FlatField, string>>;

/** Codes and numbers: width-folded and trimmed; empty is absent. */
const clean = (s: string | undefined): string | undefined => {
  const t = s === undefined ? undefined : nfkc(s).trim();
  return t === '' ? undefined : t;
};

/**
 * Names and addresses: trimmed only. NFKC would rewrite some kanji (CJK compatibility
 * ideographs such as 神 U+FA19 → 神), and a person's name is kept exactly as written.
 */
const text = (s: string | undefined): string | undefined => {
  const t = s?.trim();
  return t === '' ? undefined : t;
};

/** Where each part of a record sits in its source, for issue expressions. */
export interface FieldPaths {
  insuredMemberId: string;
  publicPayerMemberId: string;
  myNumber: string;
  familyKana: string;
  givenKana: string;
  provisional: string;
  birthOrder: string;
  birthDate: string;
  gender: string;
  postalCode: string;
  phone: string;
  validFrom: string;
  validTo: string;
}

/** The raw values of a record before normalization, from either source. */
export interface RawRecord {
  record: string | undefined;
  insuredMemberId: string | undefined;
  publicPayerMemberId: string | undefined;
  myNumber: string | undefined;
  familyKanji: string | undefined;
  givenKanji: string | undefined;
  familyKana: string | undefined;
  givenKana: string | undefined;
  /** Whether the names are provisional (see RegistrationRecord.provisional); the flat form's cell is read by the caller. */
  provisional: boolean;
  birthOrder: string | number | undefined;
  birthDate: string | undefined;
  gender: string | undefined;
  postalCode: string | undefined;
  address: string | undefined;
  phone: string | undefined;
  validFrom: string | undefined;
  validTo: string | undefined;
}

/** No birth date before this day is believed: a typo (1890 for 1980) or an era read wrongly, not a living person. */
export const EARLIEST_BIRTH_DATE = '1900-01-01';
/** A provisional name is for a newborn: the insurer registers the real name once the child is named (within days). */
export const PROVISIONAL_NAME_MAX_DAYS = 365;
/** The largest birth order accepted within a multiple birth. */
const MAX_BIRTH_ORDER = 9;

const daysBetween = (from: string, to: string): number => (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;

/**
 * Normalizes and validates a raw record; every problem is reported, not only the first.
 * `today` (YYYY-MM-DD, Japan's day: jp/date.ts japanDay) bounds the birth date.
 */
export function normalizeRecord(raw: RawRecord, paths: FieldPaths, rules: IdentifierRules, today: string): RecordResult {
  const issues: RecordIssue[] = [];
  const bad = (expression: string, rule: string, text: string): undefined => {
    issues.push({ expression, rule, text });
    return undefined;
  };
  let insured: RegistrationRecord['insuredMemberId'];
  if (raw.insuredMemberId !== undefined) {
    const p = parseInsuredMemberParts(raw.insuredMemberId, rules);
    insured = p.ok
      ? { value: formatInsuredMemberId(p.parts), insurerNumber: p.parts.insurerNumber }
      : bad(paths.insuredMemberId, p.rule, p.message);
  }
  let payer: RegistrationRecord['publicPayerMemberId'];
  if (raw.publicPayerMemberId !== undefined) {
    const p = parsePublicPayerMemberId(raw.publicPayerMemberId, rules);
    payer = p.ok ? { value: p.value, payerNumber: p.value.slice(0, 8) } : bad(paths.publicPayerMemberId, p.rule, p.message);
  }
  let myNumber: string | undefined;
  if (raw.myNumber !== undefined) {
    const p = parseMyNumber(raw.myNumber);
    // The message of a failed My Number parse never repeats the digits.
    myNumber = p.ok ? p.value : bad(paths.myNumber, p.rule, p.message);
  }
  const familyKana = raw.familyKana === undefined ? undefined : registeredKana(raw.familyKana);
  if (familyKana === undefined || familyKana === '')
    bad(
      paths.familyKana,
      'record.kana-required',
      raw.provisional
        ? "the family name in kana is required: a newborn's provisional name is its parent's family name"
        : 'the family name in kana is required (a newborn not yet named: its provisional name, the family name without a given name)',
    );
  else if (!isKatakanaName(familyKana)) bad(paths.familyKana, 'record.kana', 'family name kana must be katakana or hiragana');
  const givenKana = raw.givenKana === undefined ? undefined : registeredKana(raw.givenKana) || undefined;
  if (givenKana !== undefined && !isKatakanaName(givenKana))
    bad(paths.givenKana, 'record.kana', 'given name kana must be katakana or hiragana');
  // A provisional name with a given name would be a real name filed as weak evidence.
  if (raw.provisional && (givenKana !== undefined || (raw.givenKanji ?? '').trim() !== ''))
    bad(
      paths.givenKana,
      'record.provisional-given',
      'a provisional name has no given name: register the real name (not provisional) once the child is named',
    );
  const birthOrder = readBirthOrder(raw.birthOrder);
  if (birthOrder === null)
    bad(paths.birthOrder, 'record.birth-order', `the birth order within a multiple birth is a whole number from 1 to ${MAX_BIRTH_ORDER}`);
  const birthDate =
    raw.birthDate === undefined
      ? bad(paths.birthDate, 'record.birth-date-required', 'the birth date is required')
      : parseJapaneseDate(raw.birthDate);
  if (raw.birthDate !== undefined && birthDate === undefined)
    bad(
      paths.birthDate,
      'record.birth-date',
      `birth date is not a date (YYYY-MM-DD, or a Japanese era date such as 昭和55年4月1日 or S55.4.1)`,
    );
  // The date is not echoed: it is the person's.
  if (birthDate !== undefined && birthDate > today)
    bad(paths.birthDate, 'record.birth-date-future', "the birth date is after today (Japan's date)");
  if (birthDate !== undefined && birthDate < EARLIEST_BIRTH_DATE)
    bad(paths.birthDate, 'record.birth-date-too-early', `the birth date is before ${EARLIEST_BIRTH_DATE}`);
  if (raw.provisional && birthDate !== undefined && birthDate <= today && daysBetween(birthDate, today) > PROVISIONAL_NAME_MAX_DAYS)
    bad(
      paths.provisional,
      'record.provisional-age',
      `a provisional name is for a newborn (born within ${PROVISIONAL_NAME_MAX_DAYS} days): register the real name`,
    );
  const gender = raw.gender === undefined ? bad(paths.gender, 'record.sex-required', 'the sex is required') : readSex(raw.gender);
  if (raw.gender !== undefined && gender === undefined)
    bad(paths.gender, 'record.sex', `sex must be male, female, other, unknown (or 1, 2)`);
  const postalCode =
    raw.postalCode === undefined
      ? undefined
      : (readPostalCode(raw.postalCode) ?? bad(paths.postalCode, 'record.postal-code', 'postal code must be 7 digits'));
  const phone =
    raw.phone === undefined ? undefined : (readPhone(raw.phone) ?? bad(paths.phone, 'record.phone', 'phone is not a telephone number'));
  const validFrom =
    raw.validFrom === undefined
      ? undefined
      : (parseJapaneseDate(raw.validFrom) ?? bad(paths.validFrom, 'record.valid-from', 'valid_from is not a date'));
  const validTo =
    raw.validTo === undefined
      ? undefined
      : (parseJapaneseDate(raw.validTo) ?? bad(paths.validTo, 'record.valid-to', 'valid_to is not a date'));
  if (validFrom && validTo && validTo < validFrom)
    bad(paths.validTo, 'record.period', `valid_to ${validTo} is before valid_from ${validFrom}`);
  if (issues.length > 0) return { ok: false, record: raw.record, issues };
  return {
    ok: true,
    record: {
      record: raw.record,
      insuredMemberId: insured,
      publicPayerMemberId: payer,
      myNumber,
      familyKanji: raw.familyKanji,
      givenKanji: raw.givenKanji,
      familyKana: familyKana as string,
      givenKana,
      provisional: raw.provisional,
      birthOrder: birthOrder ?? undefined,
      birthDate: birthDate as string,
      gender: gender as Sex,
      postalCode,
      address: raw.address,
      phone,
      validFrom,
      validTo,
    },
  };
}

/** A birth order as given (a number, or digits in a cell): undefined when absent, null when not 1–MAX_BIRTH_ORDER. */
function readBirthOrder(v: string | number | undefined): number | undefined | null {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : /^\d{1,2}$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= MAX_BIRTH_ORDER ? n : null;
}

/** The flat form's provisional_name cell: yes (1, true, yes, y, 仮) or no (0, false, no, n, empty); null otherwise. */
function readFlag(v: string | undefined): boolean | null {
  if (v === undefined) return false;
  const t = v.toLowerCase();
  if (['1', 'true', 'yes', 'y', '仮'].includes(t)) return true;
  if (['0', 'false', 'no', 'n'].includes(t)) return false;
  return null;
}

const FLAT_PATHS: FieldPaths = {
  insuredMemberId: 'insurer_number',
  publicPayerMemberId: 'public_payer_number',
  myNumber: 'my_number',
  familyKana: 'family_kana',
  givenKana: 'given_kana',
  provisional: 'provisional_name',
  birthOrder: 'birth_order',
  birthDate: 'birth_date',
  gender: 'sex',
  postalCode: 'postal_code',
  phone: 'phone',
  validFrom: 'valid_from',
  validTo: 'valid_to',
};

/** A CSV row or NDJSON object (`FLAT_FIELDS`) as a record; `today` (Japan's day) bounds the birth date. */
export function recordFromFlat(f: FlatRecord, rules: IdentifierRules, today = japanDay(new Date())): RecordResult {
  const insurer = clean(f.insurer_number);
  const payer = clean(f.public_payer_number);
  const issues: RecordIssue[] = [];
  const provisional = readFlag(clean(f.provisional_name));
  if (provisional === null)
    issues.push({
      expression: 'provisional_name',
      rule: 'record.provisional-name',
      text: 'provisional_name is 1 (a newborn not yet named: family name only) or 0',
    });
  if (insurer !== undefined && clean(f.number) === undefined)
    issues.push({ expression: 'number', rule: 'record.number-required', text: 'an insurer number needs the 番号 (number)' });
  if (payer !== undefined && clean(f.recipient_number) === undefined)
    issues.push({
      expression: 'recipient_number',
      rule: 'record.recipient-required',
      text: 'a public payer number needs the 受給者番号 (recipient_number)',
    });
  const r = normalizeRecord(
    {
      record: clean(f.record),
      insuredMemberId:
        insurer === undefined || issues.length > 0
          ? undefined
          : `${insurer}:${clean(f.symbol) ?? ''}:${clean(f.number) ?? ''}:${clean(f.branch) ?? ''}`,
      publicPayerMemberId: payer === undefined || issues.length > 0 ? undefined : `${payer}::${clean(f.recipient_number) ?? ''}:`,
      myNumber: clean(f.my_number),
      familyKanji: text(f.family_kanji),
      givenKanji: text(f.given_kanji),
      familyKana: clean(f.family_kana),
      givenKana: clean(f.given_kana),
      provisional: provisional === true,
      birthOrder: clean(f.birth_order),
      birthDate: clean(f.birth_date),
      gender: clean(f.sex),
      postalCode: clean(f.postal_code),
      address: text(f.address),
      phone: clean(f.phone),
      validFrom: clean(f.valid_from),
      validTo: clean(f.valid_to),
    },
    FLAT_PATHS,
    rules,
    today,
  );
  if (issues.length === 0) return r;
  return { ok: false, record: clean(f.record), issues: [...issues, ...(r.ok ? [] : r.issues)] };
}
