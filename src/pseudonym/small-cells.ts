/**
 * The small-cell guard of a pseudonymized export (issue 16 item 4; privacy-design.md §10): a
 * record whose quasi-identifiers — birth year-month, sex, the postal code's first 3 digits, the
 * insurer's kind — are shared by fewer than k released records can be singled out by anyone who
 * knows those few facts about a person, pseudonym or not. So, in two steps:
 *   1. records in cells smaller than k are generalized one level (birth year-month → year,
 *      postal 3 digits → 2, the area's first digits);
 *   2. generalized records whose coarser cell is still smaller than k are suppressed.
 * Records in cells of k or more are released as they are. Every released tuple is then shared
 * by at least k released records (k-anonymity over exactly what is released), and the manifest
 * reports how many were generalized and suppressed.
 */
export interface QuasiIdentifiers {
  /** YYYY-MM, or YYYY once generalized. */
  birth?: string;
  sex?: string;
  /** The postal code's first 3 digits, or 2 once generalized. */
  postal?: string;
  insurerKind?: string;
}

export interface Released<T> {
  record: T;
  qi: QuasiIdentifiers;
  generalized: boolean;
}

export interface SmallCellReport<T> {
  released: Released<T>[];
  generalized: number;
  suppressed: number;
}

const cellOf = (q: QuasiIdentifiers): string => JSON.stringify([q.birth ?? null, q.sex ?? null, q.postal ?? null, q.insurerKind ?? null]);

/** One level coarser: birth year-month → year, postal 3 digits → 2. */
export function generalize(q: QuasiIdentifiers): QuasiIdentifiers {
  return { ...q, ...(q.birth ? { birth: q.birth.slice(0, 4) } : {}), ...(q.postal ? { postal: q.postal.slice(0, 2) } : {}) };
}

function cells<T>(items: readonly T[], qi: (t: T) => QuasiIdentifiers): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const t of items) {
    const key = cellOf(qi(t));
    const cell = m.get(key);
    if (cell) cell.push(t);
    else m.set(key, [t]);
  }
  return m;
}

export function guardSmallCells<T>(records: readonly T[], quasi: (r: T) => QuasiIdentifiers, k: number): SmallCellReport<T> {
  if (!Number.isInteger(k) || k < 1) throw new RangeError('k must be a positive integer');
  const fine = records.map((record) => ({ record, qi: quasi(record), generalized: false }));
  const released: Released<T>[] = [];
  const small: Released<T>[] = [];
  for (const cell of cells(fine, (r) => r.qi).values()) (cell.length >= k ? released : small).push(...cell);
  const coarse = small.map((r) => ({ ...r, qi: generalize(r.qi), generalized: true }));
  let suppressed = 0;
  let generalized = 0;
  for (const cell of cells(coarse, (r) => r.qi).values()) {
    if (cell.length >= k) {
      released.push(...cell);
      generalized += cell.length;
    } else suppressed += cell.length;
  }
  return { released, generalized, suppressed };
}
