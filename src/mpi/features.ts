/**
 * What matching compares, read off a Patient once: normalized kana and kanji names, birth date,
 * sex, postal code, address and phones. Stored per patient (mpi.features) so that scoring a
 * candidate never parses its Patient, and used to build the blocking keys.
 */
import type { HumanName, Patient } from '@medplum/fhirtypes';
import { REPRESENTATION } from '../registry/patient.ts';
import { addressKey, kanaKey, kanaLooseKey, kanjiKey, parseBirthDate, phoneKey, postalKey } from './normalize-ja.ts';

export interface MatchFeatures {
  /** kanaKey / kanaLooseKey of family and given kana. */
  fk?: string; gk?: string; fl?: string; gl?: string;
  /** kanjiKey of family and given kanji. */
  fj?: string; gj?: string;
  /** YYYY-MM-DD */
  b?: string;
  s?: 'male' | 'female' | 'other' | 'unknown';
  z?: string;
  a?: string;
  p?: string[];
}

const KANA_ONLY = /^[\u3041-\u3096\u30a1-\u30fa\u30fc\uff66-\uff9f\s\u3000・･ー]+$/u;

const repOf = (n: HumanName): string | undefined => n.extension?.find((e) => e.url === REPRESENTATION)?.valueCode;

/** Family and given of a name; a name given only as text splits at its first space (family first). */
function parts(n: HumanName): { family?: string; given?: string } {
  if (n.family !== undefined || n.given !== undefined) return { family: n.family, given: n.given?.join('') };
  const t = n.text?.trim().split(/[\s\u3000]+/u) ?? [];
  return t.length >= 2 ? { family: t[0], given: t.slice(1).join('') } : { family: t[0] };
}

/** Kana (SYL, or written only in kana) and kanji (IDE, or anything else) names of a Patient. */
export function namesOf(p: Patient): { kana?: { family?: string; given?: string }; kanji?: { family?: string; given?: string } } {
  const names = (p.name ?? []).filter((n) => n.use !== 'old' && n.use !== 'maiden');
  const isKana = (n: HumanName): boolean => repOf(n) === 'SYL' || (repOf(n) === undefined && KANA_ONLY.test([n.family, ...(n.given ?? []), n.text].filter(Boolean).join('')));
  const kana = names.find(isKana);
  const kanji = names.find((n) => !isKana(n) && repOf(n) !== 'ABC');
  return { kana: kana ? parts(kana) : undefined, kanji: kanji ? parts(kanji) : undefined };
}

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s === '' ? undefined : s);

export function featuresOf(p: Patient): MatchFeatures {
  const { kana, kanji } = namesOf(p);
  const addr = p.address?.find((a) => a.use !== 'old') ?? p.address?.[0];
  const addrText = addr ? (addr.text ?? [addr.state, addr.city, ...(addr.line ?? [])].filter(Boolean).join('')) : '';
  const phones = (p.telecom ?? []).filter((t) => t.system === 'phone' && t.value).map((t) => phoneKey(t.value as string)).filter((x) => x.length >= 6);
  const f: MatchFeatures = {
    fk: nonEmpty(kana?.family && kanaKey(kana.family)), gk: nonEmpty(kana?.given && kanaKey(kana.given)),
    fl: nonEmpty(kana?.family && kanaLooseKey(kana.family)), gl: nonEmpty(kana?.given && kanaLooseKey(kana.given)),
    fj: nonEmpty(kanji?.family && kanjiKey(kanji.family)), gj: nonEmpty(kanji?.given && kanjiKey(kanji.given)),
    b: p.birthDate ? parseBirthDate(p.birthDate) : undefined,
    s: p.gender, z: nonEmpty(addr?.postalCode && postalKey(addr.postalCode)), a: nonEmpty(addrText && addressKey(addrText)),
    p: phones.length > 0 ? [...new Set(phones)] : undefined,
  };
  // Absent fields are left out: the stored JSON stays small.
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined));
}

/**
 * Blocking keys (version 1), each small at national scale even for 佐藤: loose family kana +
 * birth year-month, loose given kana + birth date (a changed family name), loose family kana +
 * birth month-day + sex (a wrong year digit), kanji full name + birth year (day and month
 * swapped, a wrong month digit, a kana typo), phone digits. A query also looks under its
 * family and given swapped.
 */
export function blockingKeys(f: MatchFeatures, swapped = false): string[] {
  const [fl, gl] = swapped ? [f.gl, f.fl] : [f.fl, f.gl];
  const keys: string[] = [];
  if (fl && f.b) keys.push(`f:${fl}|${f.b.slice(0, 7)}`, `fd:${fl}|${f.b.slice(5)}|${f.s ?? ''}`);
  if (gl && f.b) keys.push(`g:${gl}|${f.b}`);
  const [fj, gj] = swapped ? [f.gj, f.fj] : [f.fj, f.gj];
  if (fj && gj && f.b) keys.push(`k:${fj}${gj}|${f.b.slice(0, 4)}`);
  if (!swapped) for (const p of f.p ?? []) keys.push(`p:${p}`);
  return keys;
}
