/**
 * A Japanese person's names in a Patient: the kana reading (ISO 21090 representation SYL, or a
 * name written only in kana) and the kanji name (IDE, or any other name that is not
 * alphabetic). JP Core writes both; older systems write one, or put the whole name in `text`.
 */
import type { HumanName, Patient } from '@medplum/fhirtypes';
import { NAME_REPRESENTATION } from '../core/systems.ts';
import { isKanaOnly } from './kana.ts';

export interface NameParts {
  family?: string;
  given?: string;
}

export const representationOf = (n: HumanName): string | undefined => n.extension?.find((e) => e.url === NAME_REPRESENTATION)?.valueCode;

/** Family and given of a name; a name given only as text splits at its first space (family first). */
function parts(n: HumanName): NameParts {
  if (n.family !== undefined || n.given !== undefined) return { family: n.family, given: n.given?.join('') };
  const t = n.text?.trim().split(/[\s\u3000]+/u) ?? [];
  return t.length >= 2 ? { family: t[0], given: t.slice(1).join('') } : { family: t[0] };
}

const isKana = (n: HumanName): boolean =>
  representationOf(n) === 'SYL' ||
  (representationOf(n) === undefined && isKanaOnly([n.family, ...(n.given ?? []), n.text].filter(Boolean).join('')));

const isFormer = (n: HumanName): boolean => n.use === 'old' || n.use === 'maiden';

/**
 * Kana (SYL, or written only in kana) and kanji (IDE, or anything else not ABC) names of a
 * Patient, current ones only. A temporary name (`use: temp`: a newborn's provisional name, the
 * parent's family name) counts only when there is no other; `provisional` says so.
 */
export function namesOf(p: Patient): { kana?: NameParts; kanji?: NameParts; provisional: boolean } {
  const current = (p.name ?? []).filter((n) => !isFormer(n));
  const real = current.filter((n) => n.use !== 'temp');
  const names = real.length > 0 ? real : current;
  const kana = names.find(isKana);
  const kanji = names.find((n) => !isKana(n) && representationOf(n) !== 'ABC');
  return {
    kana: kana ? parts(kana) : undefined,
    kanji: kanji ? parts(kanji) : undefined,
    provisional: real.length === 0 && current.length > 0,
  };
}

/**
 * The family names a person no longer uses (`use: old` or `maiden`: the registry keeps a name
 * that changed as `old`, e.g. on marriage), in kana and in kanji: a desk that knew the person
 * before still types them.
 */
export function formerFamilyNamesOf(p: Patient): { kana: string[]; kanji: string[] } {
  const kana: string[] = [];
  const kanji: string[] = [];
  for (const n of (p.name ?? []).filter(isFormer)) {
    const family = parts(n).family;
    if (!family) continue;
    if (isKana(n)) kana.push(family);
    else if (representationOf(n) !== 'ABC') kanji.push(family);
  }
  return { kana, kanji };
}
