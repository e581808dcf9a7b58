/**
 * What matching compares, read off a Patient once: normalized kana and kanji names, birth date,
 * sex, postal code, address and phones. Stored per patient (mpi.features, in the compact form of
 * store/mpi.ts) so that scoring a candidate never parses its Patient, and used to build the
 * blocking keys.
 *
 * MATCH_INDEX_VERSION dates the rules that produce stored rows (features, blocking keys, the
 * Japanese folding in jp/ they use). A change to any of them needs `medid mpi reindex`: see
 * this folder's README for the changelog.
 */
import type { Patient } from '@medplum/fhirtypes';
import { addressKey } from '../jp/address.ts';
import { parseJapaneseDate } from '../jp/date.ts';
import { kanaKey, kanaLooseKey } from '../jp/kana.ts';
import { kanjiKey } from '../jp/kanji.ts';
import { formerFamilyNamesOf, namesOf } from '../jp/names.ts';
import { phoneKey } from '../jp/phone.ts';
import { postalKey } from '../jp/postal-code.ts';
import { STORED_FEATURE_KEYS } from '../store/mpi.ts';

/** The version of the stored match index (features and blocking keys). */
export const MATCH_INDEX_VERSION = 3;

export interface MatchFeatures {
  /** kanaKey of the family and given kana (long vowels, small kana, width folded). */
  familyKana?: string;
  givenKana?: string;
  /** kanaLooseKey of the same (voicing marks dropped too): blocking and partial agreement. */
  familyKanaLoose?: string;
  givenKanaLoose?: string;
  /** kanjiKey of the family and given kanji (variant kanji folded). */
  familyKanji?: string;
  givenKanji?: string;
  /** YYYY-MM-DD */
  birthDate?: string;
  sex?: 'male' | 'female' | 'other' | 'unknown';
  /** Seven digits. */
  postalCode?: string;
  address?: string;
  /** Phone digits, distinct. */
  phones?: string[];
  /** kanaKey and kanjiKey of family names no longer used (`use: old` or `maiden`), distinct and not the current one. */
  formerFamilyKana?: string[];
  formerFamilyKanji?: string[];
  /**
   * The names are provisional (`use: temp` only: a newborn not yet named, filed under the parent's
   * family name): the family name is weak evidence, level `provisional` (compare.ts).
   */
  provisionalName?: true;
}

/** Every feature has a stored key (the type check fails here when a new feature has none). */
export const STORED_KEY_OF: Readonly<Record<keyof MatchFeatures, string>> = STORED_FEATURE_KEYS;

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s === '' ? undefined : s);

/**
 * Former family names kept per script: a person rarely has had more, and a query listing dozens
 * of "old" names must not turn every family-name disagreement into a former-name agreement.
 */
export const MAX_FORMER_NAMES = 3;

/** Distinct non-empty keys, without the current one, the first MAX_FORMER_NAMES; undefined when none is left. */
function formerKeys(names: readonly string[], key: (s: string) => string, current: string | undefined): string[] | undefined {
  const keys = [...new Set(names.map(key).filter((k) => k !== '' && k !== current))].slice(0, MAX_FORMER_NAMES);
  return keys.length > 0 ? keys : undefined;
}

export function featuresOf(p: Patient): MatchFeatures {
  const { kana, kanji, provisional } = namesOf(p);
  const former = formerFamilyNamesOf(p);
  const addr = p.address?.find((a) => a.use !== 'old') ?? p.address?.[0];
  const addrText = addr ? (addr.text ?? [addr.state, addr.city, ...(addr.line ?? [])].filter(Boolean).join('')) : '';
  const phones = (p.telecom ?? [])
    .filter((t) => t.system === 'phone' && t.value)
    .map((t) => phoneKey(t.value as string))
    .filter((x) => x.length >= 6);
  const f: MatchFeatures = {
    familyKana: nonEmpty(kana?.family && kanaKey(kana.family)),
    givenKana: nonEmpty(kana?.given && kanaKey(kana.given)),
    familyKanaLoose: nonEmpty(kana?.family && kanaLooseKey(kana.family)),
    givenKanaLoose: nonEmpty(kana?.given && kanaLooseKey(kana.given)),
    familyKanji: nonEmpty(kanji?.family && kanjiKey(kanji.family)),
    givenKanji: nonEmpty(kanji?.given && kanjiKey(kanji.given)),
    birthDate: p.birthDate ? parseJapaneseDate(p.birthDate) : undefined,
    sex: p.gender,
    postalCode: nonEmpty(addr?.postalCode && postalKey(addr.postalCode)),
    address: nonEmpty(addrText && addressKey(addrText)),
    phones: phones.length > 0 ? [...new Set(phones)] : undefined,
    provisionalName: provisional ? true : undefined,
  };
  f.formerFamilyKana = formerKeys(former.kana, kanaKey, f.familyKana);
  f.formerFamilyKanji = formerKeys(former.kanji, kanjiKey, f.familyKanji);
  // Absent fields are left out: the stored JSON stays small.
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined));
}

/**
 * Blocking keys (MATCH_INDEX_VERSION 1), each small at national scale even for 佐藤: loose family
 * kana + birth year-month, loose given kana + birth date (a changed family name), loose family
 * kana + birth month-day + sex (a wrong year digit), kanji full name + birth year (day and month
 * swapped, a wrong month digit, a kana typo), phone digits. A query also looks under its family
 * and given swapped. The key prefixes (f:, fd:, g:, k:, p:) are stored: they are part of the
 * index version.
 */
export function blockingKeys(f: MatchFeatures, swapped = false): string[] {
  const [fl, gl] = swapped ? [f.givenKanaLoose, f.familyKanaLoose] : [f.familyKanaLoose, f.givenKanaLoose];
  const b = f.birthDate;
  const keys: string[] = [];
  if (fl && b) keys.push(`f:${fl}|${b.slice(0, 7)}`, `fd:${fl}|${b.slice(5)}|${f.sex ?? ''}`);
  if (gl && b) keys.push(`g:${gl}|${b}`);
  const [fj, gj] = swapped ? [f.givenKanji, f.familyKanji] : [f.familyKanji, f.givenKanji];
  if (fj && gj && b) keys.push(`k:${fj}${gj}|${b.slice(0, 4)}`);
  if (!swapped) for (const p of f.phones ?? []) keys.push(`p:${p}`);
  return keys;
}
