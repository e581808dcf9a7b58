/**
 * Fellegi–Sunter weights: for each field and level, m = P(level | same person) and
 * u = P(level | different persons); a level contributes log2(m/u) bits. Exact agreement on a
 * name is frequency-aware: u is the share of persons carrying that very value, so 佐藤 agreeing
 * weighs far less than 勅使河原 agreeing. `medid mpi estimate` re-estimates u from random pairs,
 * m by EM over blocked pairs, and the value frequencies; until then these defaults apply.
 */
import { FIELDS } from './compare.ts';
import type { Comparison, Field, LEVELS } from './compare.ts';

export type LevelTable = { [F in Field]: Partial<Record<(typeof LEVELS)[F][number], number>> };

export interface Weights {
  /** Where the weights come from: 'default', or the estimate's instant. */
  source: string;
  /** P(match) for a blocked candidate pair: the prior odds of the posterior score. */
  prior: number;
  m: LevelTable;
  u: LevelTable;
  /** Persons counted for the value frequencies (0: none counted). */
  persons: number;
}

/** Defaults from Japanese population statistics (birth dates over ~90 years, surname shares) and desk error rates reported for NDB linkage. */
export const DEFAULT_WEIGHTS: Weights = {
  source: 'default',
  prior: 0.01,
  persons: 0,
  m: {
    // Family names change (marriage, adoption): disagreement is weak evidence against a match.
    // Given names almost never do: disagreement (beyond the loose and similar levels that
    // absorb typos) is strong evidence — it is what tells twins and siblings apart.
    // 'former': some of the family names that differ are a name the person had before
    // (marriage), which the registry knows when the change was registered.
    // 'provisional': a newborn's provisional (parent's) family name agreeing — weak by design, see u.
    familyKana: { exact: 0.81, loose: 0.03, similar: 0.03, former: 0.03, provisional: 0.8, disagree: 0.1 },
    givenKana: { exact: 0.93, loose: 0.035, similar: 0.033, disagree: 0.002 },
    familyKanji: { exact: 0.78, former: 0.05, provisional: 0.8, disagree: 0.17 },
    givenKanji: { exact: 0.99, disagree: 0.01 },
    birthDate: { exact: 0.95, swapped: 0.015, 'one-digit': 0.025, disagree: 0.01 },
    sex: { agree: 0.99, disagree: 0.01 },
    postalCode: { agree: 0.8, disagree: 0.2 },
    address: { agree: 0.75, disagree: 0.25 },
    phone: { agree: 0.7, disagree: 0.3 },
  },
  u: {
    // Another person's former family name agreeing: the name's share times the few who changed theirs.
    // A provisional name agrees with every newborn of the family in its block (siblings,
    // cousins, twins): u is the chance that another blocked newborn shares the family name, so
    // the agreement weighs 2 bits and never carries a candidate to probable with a birth date alone.
    familyKana: { exact: 0.003, loose: 0.002, similar: 0.02, former: 0.0003, provisional: 0.2, disagree: 0.9747 },
    givenKana: { exact: 0.003, loose: 0.002, similar: 0.03, disagree: 0.965 },
    familyKanji: { exact: 0.003, former: 0.0003, provisional: 0.2, disagree: 0.9967 },
    givenKanji: { exact: 0.002, disagree: 0.998 },
    birthDate: { exact: 0.00003, swapped: 0.00003, 'one-digit': 0.0008, disagree: 0.999 },
    sex: { agree: 0.5, disagree: 0.5 },
    // Contact data is shared by a household: u is the chance that a blocked candidate (often a
    // relative) shares it, not a random person's.
    postalCode: { agree: 0.005, disagree: 0.995 },
    address: { agree: 0.002, disagree: 0.998 },
    phone: { agree: 0.002, disagree: 0.998 },
  },
};

/** How many persons carry the query's name values (exact, by key), from mpi.value_count. */
export interface ValueCounts {
  familyKana?: number;
  givenKana?: number;
  familyKanji?: number;
  givenKanji?: number;
}

/**
 * Rows beside the fields: corrections for facts counted twice and an agreeing identifier's
 * (mpi/evidence.ts), and the cut that holds a family member or namesake below probable (match.ts).
 */
export type EvidenceRow = 'familyName' | 'givenName' | 'contact' | 'household' | 'identifier' | 'held';

export interface FieldWeight {
  field: Field | EvidenceRow;
  level: string;
  weight: number;
}

/**
 * Levels whose weights are always the defaults: a former family name agreeing is too rare among
 * blocked pairs for EM to see (an estimate would give it ~0 and make it weigh less than a
 * disagreement), and an older estimate does not have it; a provisional name's weight is a
 * policy (weak evidence), not an estimate.
 */
const DEFAULT_LEVELS = new Set<string>(['former', 'provisional']);

/**
 * About the share of adults who once had another family name (mostly women who married): a
 * stranger's former name agrees by chance this much more rarely than the name itself — so with
 * m(former) = 0.03 a former name always weighs about 3 bits less than the same name agreeing now.
 */
const FORMER_NAME_SHARE = 0.3;

const NAME_FIELDS = new Set<Field>(['familyKana', 'givenKana', 'familyKanji', 'givenKanji']);
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/** Each field's contribution in bits (missing fields contribute 0 and are listed as such). */
export function fieldWeights(c: Comparison, w: Weights, counts: ValueCounts = {}): FieldWeight[] {
  return FIELDS.map((field) => {
    const level = c[field];
    if (level === 'missing') return { field, level, weight: 0 };
    const from = DEFAULT_LEVELS.has(level) ? DEFAULT_WEIGHTS : w;
    const m = (from.m[field] as Record<string, number | undefined>)[level] ?? 0.5;
    let u = (from.u[field] as Record<string, number | undefined>)[level] ?? 0.5;
    if ((level === 'exact' || level === 'former') && NAME_FIELDS.has(field) && w.persons > 0) {
      // Frequency-aware: the share of persons with this very value (an unseen value counts once);
      // a former name (the query's name, counted as a current one) also needs the name to have changed.
      const n = counts[field as keyof ValueCounts] ?? 0;
      const share = clamp(Math.max(n, 1) / w.persons, 1e-7, 0.5);
      u = level === 'exact' ? share : clamp(share * FORMER_NAME_SHARE, 1e-7, 0.5);
    }
    return { field, level, weight: Math.log2(clamp(m, 1e-9, 1) / clamp(u, 1e-9, 1)) };
  });
}

/**
 * The score $match reports: the probability that a candidate of this total weight is the person
 * sought, a logistic curve fitted to labelled results (`npm run bench:match-refit`: maximum
 * likelihood over every result of bench/match-eval.ts at 1,000,000 persons, query seed 20261201,
 * with former names and the whole-registry birth-date u; reported on seed 20261202 in the README).
 * The prior-odds posterior below assumes the fields independent and said 0.99+ for candidates
 * that were right 0 % of the time; this one rises with the weight as the ranking does.
 */
export const SCORE_CURVE = { perBit: 1.081, midpoint: 21.73 };

export function calibratedScore(total: number): number {
  return 1 / (1 + Math.exp(-SCORE_CURVE.perBit * (total - SCORE_CURVE.midpoint)));
}

/** Posterior probability of a match, from the total weight and the prior. */
export function posterior(total: number, prior: number): number {
  const odds = (prior / (1 - prior)) * 2 ** total;
  return odds / (1 + odds);
}
