/**
 * Field comparisons: each field of a query and a candidate compares to one discrete level
 * (Fellegi–Sunter's comparison vector). Levels are ordered from strongest agreement to
 * disagreement; `missing` when either side lacks the field (weight 0).
 */
import type { MatchFeatures } from './features.ts';
import { codePoints } from '../jp/characters.ts';

export const FIELDS = [
  'familyKana',
  'givenKana',
  'familyKanji',
  'givenKanji',
  'birthDate',
  'sex',
  'postalCode',
  'address',
  'phone',
] as const;
export type Field = (typeof FIELDS)[number];

export const LEVELS = {
  // 'former': the name agrees with one the other side no longer uses (a maiden name, kept as `use: old`).
  // 'provisional': it agrees with a newborn's provisional name (the parent's family name): weak evidence.
  familyKana: ['exact', 'loose', 'similar', 'former', 'provisional', 'disagree'],
  givenKana: ['exact', 'loose', 'similar', 'disagree'],
  familyKanji: ['exact', 'former', 'provisional', 'disagree'],
  givenKanji: ['exact', 'disagree'],
  birthDate: ['exact', 'swapped', 'one-digit', 'disagree'],
  sex: ['agree', 'disagree'],
  postalCode: ['agree', 'disagree'],
  address: ['agree', 'disagree'],
  phone: ['agree', 'disagree'],
} as const satisfies Record<Field, readonly string[]>;

export type Level<F extends Field = Field> = (typeof LEVELS)[F][number] | 'missing';
export type Comparison = { [F in Field]: Level<F> };

/** Jaro–Winkler similarity on code points. */
export function jaroWinkler(a: string, b: string): number {
  const s = codePoints(a);
  const t = codePoints(b);
  if (s.length === 0 || t.length === 0) return 0;
  const range = Math.max(0, Math.floor(Math.max(s.length, t.length) / 2) - 1);
  const sm = new Array<boolean>(s.length).fill(false);
  const tm = new Array<boolean>(t.length).fill(false);
  let m = 0;
  for (let i = 0; i < s.length; i++) {
    for (let j = Math.max(0, i - range); j < Math.min(t.length, i + range + 1); j++) {
      if (!tm[j] && s[i] === t[j]) {
        sm[i] = tm[j] = true;
        m++;
        break;
      }
    }
  }
  if (m === 0) return 0;
  let k = 0;
  let trans = 0;
  for (let i = 0; i < s.length; i++) {
    if (!sm[i]) continue;
    while (!tm[k]) k++;
    if (s[i] !== t[k]) trans++;
    k++;
  }
  const jaro = (m / s.length + m / t.length + (m - trans / 2) / m) / 3;
  let prefix = 0;
  while (prefix < 4 && s[prefix] !== undefined && s[prefix] === t[prefix]) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}

function kana(q: string | undefined, c: string | undefined, ql: string | undefined, cl: string | undefined): Level<'givenKana'> {
  if (!q || !c) return 'missing';
  if (q === c) return 'exact';
  if (ql !== undefined && ql === cl) return 'loose';
  return jaroWinkler(q, c) >= 0.85 ? 'similar' : 'disagree';
}

const eq = <L extends string>(q: string | undefined, c: string | undefined, yes: L): L | 'disagree' | 'missing' =>
  !q || !c ? 'missing' : q === c ? yes : 'disagree';

/**
 * A family name that does not agree now but agrees with a name one side no longer uses: the
 * query's name is the candidate's former one (the registry kept it when it changed), the
 * query's former name is the candidate's, or both once had the same. Looked at when the current
 * names disagree or are only similar (サトウ / サイトウ): an exact former name says more than a
 * near one; a current name that agrees exactly or loosely is kept (it weighs more).
 */
function agreesWithFormer(
  q: string | undefined,
  c: string | undefined,
  qf: readonly string[] | undefined,
  cf: readonly string[] | undefined,
): boolean {
  return (!!q && !!cf?.includes(q)) || (!!c && !!qf?.includes(c)) || (!!qf && !!cf && qf.some((n) => cf.includes(n)));
}

/**
 * A family name against a newborn's provisional name (either side): the parent's family name
 * is what the child will most likely carry, but it is not yet the child's — the blocks a
 * newborn is found in hold its siblings and cousins under the same name. Agreement weighs
 * little (level `provisional`); disagreement says nothing (a child may take the other parent's
 * name), so it is `missing`.
 */
function provisional(level: string): 'provisional' | 'missing' {
  return level === 'exact' || level === 'loose' ? 'provisional' : 'missing';
}

const eitherProvisional = (q: MatchFeatures, c: MatchFeatures): boolean => q.provisionalName === true || c.provisionalName === true;

function familyKana(q: MatchFeatures, c: MatchFeatures): Level<'familyKana'> {
  const level = kana(q.familyKana, c.familyKana, q.familyKanaLoose, c.familyKanaLoose);
  if (eitherProvisional(q, c)) return provisional(level);
  return (level === 'disagree' || level === 'similar') &&
    agreesWithFormer(q.familyKana, c.familyKana, q.formerFamilyKana, c.formerFamilyKana)
    ? 'former'
    : level;
}

function familyKanji(q: MatchFeatures, c: MatchFeatures): Level<'familyKanji'> {
  const level = eq(q.familyKanji, c.familyKanji, 'exact');
  if (eitherProvisional(q, c)) return provisional(level);
  return level === 'disagree' && agreesWithFormer(q.familyKanji, c.familyKanji, q.formerFamilyKanji, c.formerFamilyKanji)
    ? 'former'
    : level;
}

/** Day and month swapped (1980-04-03 vs 1980-03-04), or exactly one digit different. */
function birthDate(q: string | undefined, c: string | undefined): Level<'birthDate'> {
  if (!q || !c) return 'missing';
  if (q === c) return 'exact';
  if (q.slice(0, 4) === c.slice(0, 4) && q.slice(5, 7) === c.slice(8, 10) && q.slice(8, 10) === c.slice(5, 7)) return 'swapped';
  let diff = 0;
  for (let i = 0; i < q.length; i++) if (q[i] !== c[i]) diff++;
  return diff === 1 ? 'one-digit' : 'disagree';
}

/** Whether the query's family and given names are the candidate's given and family. */
export function namesSwapped(q: MatchFeatures, c: MatchFeatures): boolean {
  const [qf, qg] = [q.familyKanaLoose, q.givenKanaLoose];
  return qf !== undefined && qg !== undefined && qf !== qg && qf === c.givenKanaLoose && qg === c.familyKanaLoose;
}

export function compare(q: MatchFeatures, c: MatchFeatures): Comparison {
  // Family and given swapped on the form: compare each with the other.
  const qq: MatchFeatures = namesSwapped(q, c)
    ? {
        ...q,
        familyKana: q.givenKana,
        givenKana: q.familyKana,
        familyKanaLoose: q.givenKanaLoose,
        givenKanaLoose: q.familyKanaLoose,
        familyKanji: q.givenKanji,
        givenKanji: q.familyKanji,
      }
    : q;
  const address =
    !qq.address || !c.address
      ? 'missing'
      : qq.address === c.address || c.address.startsWith(qq.address) || qq.address.startsWith(c.address)
        ? 'agree'
        : 'disagree';
  const phone = !qq.phones || !c.phones ? 'missing' : qq.phones.some((p) => c.phones?.includes(p)) ? 'agree' : 'disagree';
  return {
    familyKana: familyKana(qq, c),
    givenKana: kana(qq.givenKana, c.givenKana, qq.givenKanaLoose, c.givenKanaLoose),
    familyKanji: familyKanji(qq, c),
    givenKanji: eq(qq.givenKanji, c.givenKanji, 'exact'),
    birthDate: birthDate(qq.birthDate, c.birthDate),
    sex: qq.sex === 'unknown' || c.sex === 'unknown' ? 'missing' : eq(qq.sex, c.sex, 'agree'),
    postalCode: eq(qq.postalCode, c.postalCode, 'agree'),
    address,
    phone,
  };
}
