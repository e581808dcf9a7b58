/**
 * Fellegi–Sunter adds the fields' weights as if each were independent evidence. Some are not:
 * - a name agreeing in kana and in kanji is one name written twice (a namesake's 佐藤 agrees in
 *   both scripts as surely as the person's does);
 * - postal code, address and phone agreeing say one thing, "lives there";
 * - a family name and a home agreeing together say "same household" — which parents, children
 *   and siblings share with the person sought.
 * Counted as independent, a household member scored 34 bits (probable) with both the given name
 * and the sex disagreeing. These rows correct the sum so each fact counts once; they appear in
 * the explanation beside the fields, so a desk sees why a family member was not matched.
 *
 * Two rules then keep a candidate below probable, whatever its weight, unless an identifier
 * agrees: a given name that disagrees (in every script given) — the mark of a family member —
 * and a birth date that disagrees outright (not a swap or one digit) with no contact data
 * agreeing — the mark of a namesake.
 */
import type { Comparison } from './compare.ts';
import type { FieldWeight } from './weights.ts';

/** What agreeing both kana and kanji adds over the stronger of the two (homophones written apart). */
const SECOND_SCRIPT_BITS = 1;
/**
 * The most one script's disagreement can take away while the other script agrees: a kana typo
 * under an agreeing kanji name is a desk's slip far more often than another person (m for
 * "disagree" is estimated over names as a whole, where such slips are rare).
 */
const OTHER_SCRIPT_SLIP_BITS = -3;
/** What each further agreeing contact item adds over the strongest (a phone and an address are not one record). */
const FURTHER_CONTACT_BITS = 1;
/**
 * The most "same household" can weigh: about log2(m/u) for sharing family name and home, where u
 * is the chance that another person in the candidate's block is a member of its household.
 * Chosen with the labelled queries of bench/match-eval.ts (one seed chosen, another reported).
 */
export const HOUSEHOLD_CAP_BITS = 20;
/** An agreeing identifier (insured number, medical ID, My Number): m ≈ 0.99, u ≈ 1e-9 (a mistyped number that is someone else's). */
export const IDENTIFIER_BITS = 30;

const weightOf = (fields: readonly FieldWeight[], f: string): number => fields.find((x) => x.field === f)?.weight ?? 0;

/**
 * One name's weight across its two scripts: one name, one fact, whichever way it went. Only a
 * kana disagreement under agreeing kanji is taken for a slip; kanji that differ under the same
 * reading (健一 / 謙一) are another name and keep their whole weight.
 */
function bothScripts(kana: number, kanji: number): number {
  if (kana > 0 && kanji > 0) return Math.max(kana, kanji) + SECOND_SCRIPT_BITS;
  if (kana < 0 && kanji < 0) return Math.min(kana, kanji);
  if (kanji > 0 && kana < 0) return kanji + Math.max(kana, OTHER_SCRIPT_SLIP_BITS);
  return kana + kanji;
}

/** The positive weight of contact data agreeing (disagreements keep their own weights). */
function contactAgreement(fields: readonly FieldWeight[]): { raw: number; counted: number } {
  const agreeing = ['postalCode', 'address', 'phone'].map((f) => weightOf(fields, f)).filter((w) => w > 0);
  const raw = agreeing.reduce((s, w) => s + w, 0);
  return { raw, counted: agreeing.length === 0 ? 0 : Math.max(...agreeing) + FURTHER_CONTACT_BITS * (agreeing.length - 1) };
}

const row = (field: FieldWeight['field'], level: string, weight: number): FieldWeight => ({ field, level, weight });

/**
 * The correction rows for one candidate (each non-zero one listed, with what it corrects), and
 * the identifier's own row when one agreed. Their weights sum with the fields' to the total.
 */
export function evidenceRows(fields: readonly FieldWeight[], identifierAgrees: boolean): FieldWeight[] {
  const out: FieldWeight[] = [];
  const familyRaw = weightOf(fields, 'familyKana') + weightOf(fields, 'familyKanji');
  const family = bothScripts(weightOf(fields, 'familyKana'), weightOf(fields, 'familyKanji'));
  if (family !== familyRaw) out.push(row('familyName', 'one-name-two-scripts', family - familyRaw));
  const given = bothScripts(weightOf(fields, 'givenKana'), weightOf(fields, 'givenKanji'));
  const givenRaw = weightOf(fields, 'givenKana') + weightOf(fields, 'givenKanji');
  if (given !== givenRaw) out.push(row('givenName', 'one-name-two-scripts', given - givenRaw));
  const contact = contactAgreement(fields);
  if (contact.counted !== contact.raw) out.push(row('contact', 'one-home', contact.counted - contact.raw));
  if (family > 0 && contact.counted > 0 && family + contact.counted > HOUSEHOLD_CAP_BITS) {
    out.push(row('household', 'capped', HOUSEHOLD_CAP_BITS - (family + contact.counted)));
  }
  if (identifierAgrees) out.push(row('identifier', 'agree', IDENTIFIER_BITS));
  return out;
}

/** Why a candidate is held below probable: the kind of other person it looks like, and the note's words. */
export interface Hold {
  level: 'family-member' | 'namesake';
  reason: string;
}

/**
 * Why a candidate must stay below probable, if it must. With an identifier that agrees, only the
 * family-member rule applies: members of one household can share an insured number's symbol
 * and number, while a person's own number with a mistyped birth date is still that person.
 */
export function heldBelowProbable(c: Comparison, identifierAgrees = false): Hold | undefined {
  const given = [c.givenKana, c.givenKanji].filter((l) => l !== 'missing');
  if (given.length > 0 && given.every((l) => l === 'disagree'))
    return { level: 'family-member', reason: 'the given name disagrees (a family member?)' };
  if (identifierAgrees) return undefined;
  const home = c.postalCode === 'agree' || c.address === 'agree' || c.phone === 'agree';
  if (c.birthDate === 'disagree' && !home)
    return { level: 'namesake', reason: 'the birth date disagrees and no contact data agrees (a namesake?)' };
  return undefined;
}
