/**
 * Re-estimation of the matching weights from the registry (`medid mpi estimate`):
 * - value frequencies of every name key (frequency-aware exact agreement);
 * - u, P(level | different persons), counted directly over random pairs of persons;
 * - m, P(level | same person), and the prior by EM (Fellegi–Sunter under conditional
 *   independence) over pairs that share a blocking key, u held fixed. A registry without
 *   enough duplicates to learn from (fewer than MIN_EXPECTED_MATCHES expected among the
 *   pairs) keeps the default m and says so.
 */
import { compare, FIELDS, LEVELS } from './compare.ts';
import type { Comparison, Field } from './compare.ts';
import { DEFAULT_WEIGHTS } from './weights.ts';
import type { LevelTable, Weights } from './weights.ts';

export const MIN_EXPECTED_MATCHES = 30;

export interface EstimateReport {
  weights: Omit<Weights, 'source'>;
  randomPairs: number;
  blockedPairs: number;
  iterations: number;
  mEstimated: boolean;
  note: string;
}

type Counts = { [F in Field]: Record<string, number> };
const emptyCounts = (): Counts => Object.fromEntries(FIELDS.map((f) => [f, {}])) as unknown as Counts;

/** u from random pairs, with add-one smoothing per level. */
export function estimateU(random: readonly Comparison[]): LevelTable {
  const counts = emptyCounts();
  for (const c of random) for (const f of FIELDS) if (c[f] !== 'missing') counts[f][c[f]] = (counts[f][c[f]] ?? 0) + 1;
  return Object.fromEntries(
    FIELDS.map((f) => {
      const levels = LEVELS[f] as readonly string[];
      const total = levels.reduce((s, l) => s + (counts[f][l] ?? 0), 0);
      return [f, Object.fromEntries(levels.map((l) => [l, ((counts[f][l] ?? 0) + 1) / (total + levels.length)]))];
    }),
  ) as unknown as LevelTable;
}

const prob = (t: LevelTable, f: Field, l: string): number => (t[f] as Record<string, number | undefined>)[l] ?? 0.5;

/** EM for m and the prior, u fixed. */
export function estimateM(
  blocked: readonly Comparison[],
  u: LevelTable,
  start: { m: LevelTable; prior: number },
  maxIter = 100,
): { m: LevelTable; prior: number; iterations: number } {
  let m = start.m;
  let prior = start.prior;
  let it = 0;
  for (; it < maxIter; it++) {
    const counts = emptyCounts();
    const seen = Object.fromEntries(FIELDS.map((f) => [f, 0])) as Record<Field, number>;
    let gSum = 0;
    for (const c of blocked) {
      let pm = prior;
      let pu = 1 - prior;
      for (const f of FIELDS) {
        if (c[f] === 'missing') continue;
        pm *= prob(m, f, c[f]);
        pu *= prob(u, f, c[f]);
      }
      const g = pm / (pm + pu || 1);
      gSum += g;
      for (const f of FIELDS) {
        if (c[f] === 'missing') continue;
        counts[f][c[f]] = (counts[f][c[f]] ?? 0) + g;
        seen[f] += g;
      }
    }
    const next = Object.fromEntries(
      FIELDS.map((f) => {
        const levels = LEVELS[f] as readonly string[];
        // A small pseudo-count towards the previous m keeps unseen levels from collapsing to 0.
        return [f, Object.fromEntries(levels.map((l) => [l, ((counts[f][l] ?? 0) + prob(m, f, l)) / (seen[f] + 1)]))];
      }),
    ) as unknown as LevelTable;
    const nextPrior = Math.min(0.5, Math.max(1e-6, gSum / Math.max(1, blocked.length)));
    const delta =
      Math.abs(nextPrior - prior) +
      FIELDS.reduce((s, f) => s + (LEVELS[f] as readonly string[]).reduce((t, l) => t + Math.abs(prob(next, f, l) - prob(m, f, l)), 0), 0);
    m = next;
    prior = nextPrior;
    if (delta < 1e-6) break;
  }
  return { m, prior, iterations: it + 1 };
}

/**
 * `birthDateU`: the chance two persons share a birth date, counted over the whole registry. A
 * sample of 20,000 random pairs expects less than one such pair (u ≈ 3e-5), so the sampled
 * figure swung with chance between ~1/20,000 and ~4/20,000 — two bits of weight on every
 * exact birth date, which decided whether a married woman with no identifier reached probable
 * (recall 35–85 % from run to run at 1M). The whole distribution has no such noise.
 */
export function estimate(
  random: readonly [object, object][],
  blocked: readonly [object, object][],
  persons: number,
  birthDateU?: number,
): EstimateReport {
  const cmp = (p: [object, object]): Comparison => compare(p[0], p[1]);
  const u = estimateU(random.map(cmp));
  if (birthDateU !== undefined && birthDateU > 0) u.birthDate = { ...u.birthDate, exact: birthDateU };
  const em = estimateM(blocked.map(cmp), u, { m: DEFAULT_WEIGHTS.m, prior: DEFAULT_WEIGHTS.prior });
  const expected = em.prior * blocked.length;
  // EM finds the strongest cluster; in a registry without duplicates that is families (same
  // surname, address, birth year), not same persons. Same persons agree on birth date and
  // given name nearly always: an estimate where they do not is rejected.
  const plausible =
    em.prior < 0.3 && (em.m.birthDate.exact ?? 0) >= 0.6 && (em.m.givenKana.exact ?? 0) >= 0.6 && (em.m.familyKana.exact ?? 0) >= 0.5;
  const mEstimated = expected >= MIN_EXPECTED_MATCHES && plausible;
  return {
    weights: { prior: mEstimated ? em.prior : DEFAULT_WEIGHTS.prior, m: mEstimated ? em.m : DEFAULT_WEIGHTS.m, u, persons },
    randomPairs: random.length,
    blockedPairs: blocked.length,
    iterations: em.iterations,
    mEstimated,
    note: mEstimated
      ? `m and the prior estimated by EM (${em.iterations} iterations, ~${Math.round(expected)} same-person pairs among the blocked pairs)`
      : plausible
        ? `m kept at its defaults: EM expects only ~${Math.round(expected)} same-person pairs among ${blocked.length} blocked pairs (fewer than ${MIN_EXPECTED_MATCHES}), too few to learn from`
        : `m kept at its defaults: EM converged on a cluster that is not same persons (prior ${em.prior.toFixed(2)}, m(birth date exact) ${(em.m.birthDate.exact ?? 0).toFixed(2)}): the registry has too few duplicates to learn agreement from`,
  };
}
