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

/** Kana (SYL, or written only in kana) and kanji (IDE, or anything else not ABC) names of a Patient, current ones only. */
export function namesOf(p: Patient): { kana?: NameParts; kanji?: NameParts } {
  const names = (p.name ?? []).filter((n) => n.use !== 'old' && n.use !== 'maiden');
  const isKana = (n: HumanName): boolean =>
    representationOf(n) === 'SYL' ||
    (representationOf(n) === undefined && isKanaOnly([n.family, ...(n.given ?? []), n.text].filter(Boolean).join('')));
  const kana = names.find(isKana);
  const kanji = names.find((n) => !isKana(n) && representationOf(n) !== 'ABC');
  return { kana: kana ? parts(kana) : undefined, kanji: kanji ? parts(kanji) : undefined };
}
