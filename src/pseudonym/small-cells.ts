/**
 * The small-cell guard of a pseudonymized export (issue 16 item 4; privacy-design.md §10): a
 * record whose quasi-identifiers — birth year-month, sex, the postal code's first 3 digits, the
 * insurer's kind, and whether the person has died — are shared by fewer than k released records can be singled out by anyone who
 * knows those few facts about a person, pseudonym or not. So records climb a ladder of levels,
 * each coarser than the one before, and stop at the first where they are in good company:
 *   0. as they are: birth year-month, sex, postal 3 digits, insurer kind;
 *   1. birth year, postal 2 digits;
 *   2. birth year, postal 1 digit (a region);
 *   3. birth year, sex and insurer kind only;
 *   4. birth year and sex only;
 * then, still alone, they are suppressed. At each level only the records left over from the
 * levels below are grouped, and a group is released when it holds k or more — so every
 * released tuple is shared by at least k released records carrying exactly that tuple
 * (k-anonymity over exactly what is released), and the manifest reports how many records were
 * released at each level and how many suppressed. (One generalization step alone, tried
 * first, suppressed all but a handful of 10,000 persons spread over 95 birth years and 300
 * postal areas: test/unit/pseudonym/collusion.test.ts.)
 */
export interface QuasiIdentifiers {
  /** YYYY-MM, or YYYY once generalized. */
  birth?: string;
  sex?: string;
  /** The postal code's first 3 digits, or fewer once generalized. */
  postal?: string;
  insurerKind?: string;
  /** Released as a flag, so it is a quasi-identifier too (kept at every level). */
  deceased?: true;
}

export interface Released<T> {
  record: T;
  qi: QuasiIdentifiers;
  /** The level it was released at (0: as it is). */
  level: number;
}

export interface SmallCellReport<T> {
  released: Released<T>[];
  /** Released at a level above 0. */
  generalized: number;
  suppressed: number;
  /** How many were released at each level. */
  byLevel: number[];
}

const year = (b: string | undefined): { birth?: string } => (b ? { birth: b.slice(0, 4) } : {});
const keep = (q: QuasiIdentifiers, ...keys: (keyof QuasiIdentifiers)[]): QuasiIdentifiers =>
  Object.fromEntries(keys.filter((k) => q[k] !== undefined).map((k) => [k, q[k]]));

/** The ladder: what each level keeps of a record's quasi-identifiers. */
export const LEVELS: readonly ((q: QuasiIdentifiers) => QuasiIdentifiers)[] = [
  (q) => q,
  (q) => ({ ...keep(q, 'sex', 'insurerKind', 'deceased'), ...year(q.birth), ...(q.postal ? { postal: q.postal.slice(0, 2) } : {}) }),
  (q) => ({ ...keep(q, 'sex', 'insurerKind', 'deceased'), ...year(q.birth), ...(q.postal ? { postal: q.postal.slice(0, 1) } : {}) }),
  (q) => ({ ...keep(q, 'sex', 'insurerKind', 'deceased'), ...year(q.birth) }),
  (q) => ({ ...keep(q, 'sex', 'deceased'), ...year(q.birth) }),
];

/** The cell a tuple falls in (its quasi-identifiers, in a fixed order). */
export const cellOf = (q: QuasiIdentifiers): string =>
  JSON.stringify([q.birth ?? null, q.sex ?? null, q.postal ?? null, q.insurerKind ?? null, q.deceased ?? false]);

/** One level coarser than the record as it is: birth year-month → year, postal 3 digits → 2. */
export function generalize(q: QuasiIdentifiers): QuasiIdentifiers {
  return LEVELS[1](q);
}

/**
 * The guard's decision per cell, from the cells and how many records each holds — so an export
 * of millions keeps one small entry per cell, not the records: the level each cell's records
 * are released at, or -1 (suppressed).
 */
export function planSmallCells(
  cells: readonly { qi: QuasiIdentifiers; count: number }[],
  k: number,
): { levels: number[]; generalized: number; suppressed: number; byLevel: number[] } {
  if (!Number.isInteger(k) || k < 1) throw new RangeError('k must be a positive integer');
  const levels = cells.map(() => -1);
  const byLevel = LEVELS.map(() => 0);
  let left = cells.map((_, i) => i);
  LEVELS.forEach((at, level) => {
    const groups = new Map<string, { count: number; members: number[] }>();
    for (const i of left) {
      const c = cells[i];
      const key = cellOf(at(c.qi));
      const g = groups.get(key) ?? { count: 0, members: [] };
      g.count += c.count;
      g.members.push(i);
      groups.set(key, g);
    }
    const next: number[] = [];
    for (const g of groups.values()) {
      if (g.count >= k) {
        for (const i of g.members) levels[i] = level;
        byLevel[level] = (byLevel[level] ?? 0) + g.count;
      } else next.push(...g.members);
    }
    left = next;
  });
  const suppressed = left.reduce((n, i) => n + (cells[i] as { count: number }).count, 0);
  return { levels, generalized: byLevel.slice(1).reduce((a, b) => a + b, 0), suppressed, byLevel };
}

/** The guard over records in memory (tests, small exports): what is released, generalized and suppressed. */
export function guardSmallCells<T>(records: readonly T[], quasi: (r: T) => QuasiIdentifiers, k: number): SmallCellReport<T> {
  const index = new Map<string, number>();
  const cells: { qi: QuasiIdentifiers; count: number }[] = [];
  const cellOfRecord = records.map((r) => {
    const qi = quasi(r);
    const key = cellOf(qi);
    let i = index.get(key);
    if (i === undefined) {
      i = cells.length;
      index.set(key, i);
      cells.push({ qi, count: 0 });
    }
    (cells[i] as { count: number }).count++;
    return i;
  });
  const plan = planSmallCells(cells, k);
  const released: Released<T>[] = [];
  records.forEach((record, n) => {
    const i = cellOfRecord[n];
    const level = plan.levels[i];
    if (level >= 0) released.push({ record, qi: LEVELS[level](cells[i]?.qi ?? {}), level });
  });
  return { released, generalized: plan.generalized, suppressed: plan.suppressed, byLevel: plan.byLevel };
}
