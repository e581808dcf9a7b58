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
 *
 * A cell is one 31-bit integer (CellCodec), so an export of a million persons keeps a number per
 * person and a number per cell, not an object and a string (the first version peaked at 1.2 GB).
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

/** One level coarser than the record as it is: birth year-month → year, postal 3 digits → 2. */
export function generalize(q: QuasiIdentifiers): QuasiIdentifiers {
  return LEVELS[1](q);
}

/** Small integers for the few values a text field takes (sexes, insurer kinds), 1-based; 0 is absent. */
class Dictionary {
  private readonly codes = new Map<string, number>();
  private readonly values: string[] = [];
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  code(v: string | undefined): number {
    if (v === undefined) return 0;
    let c = this.codes.get(v);
    if (c === undefined) {
      if (this.values.length >= this.max) throw new RangeError(`more than ${this.max} distinct values in one field`);
      this.values.push(v);
      c = this.values.length;
      this.codes.set(v, c);
    }
    return c;
  }
  value(c: number): string | undefined {
    return c === 0 ? undefined : this.values[c - 1];
  }
}

const FIRST_YEAR = 1850;

/**
 * A cell as one integer below 2^31: year (8 bits, 0 = none, 1 = 1850), month (4), sex (3),
 * postal (11: 0 none, 1–1000 three digits, 1001–1100 two, 1101–1110 one), insurer kind (4),
 * deceased (1). A birth outside 1850–2104 or a postal code that is not 1–3 digits counts as absent.
 */
export class CellCodec {
  private readonly sexes = new Dictionary(7);
  private readonly kinds = new Dictionary(15);

  encode(q: QuasiIdentifiers): number {
    const m = /^(\d{4})(?:-(\d{2}))?$/.exec(q.birth ?? '');
    const y = m ? Number(m[1]) - FIRST_YEAR + 1 : 0;
    const yearCode = y >= 1 && y <= 255 ? y : 0;
    const month = yearCode && m?.[2] ? Number(m[2]) : 0;
    const p = q.postal && /^\d{1,3}$/.test(q.postal) ? q.postal : '';
    const postal = p.length === 3 ? 1 + Number(p) : p.length === 2 ? 1001 + Number(p) : p.length === 1 ? 1101 + Number(p) : 0;
    let c = yearCode;
    c = c * 16 + (month <= 12 ? month : 0);
    c = c * 8 + this.sexes.code(q.sex);
    c = c * 2048 + postal;
    c = c * 16 + this.kinds.code(q.insurerKind);
    return c * 2 + (q.deceased ? 1 : 0);
  }

  decode(code: number): QuasiIdentifiers {
    let c = code;
    const deceased = c % 2;
    c = Math.floor(c / 2);
    const kind = this.kinds.value(c % 16);
    c = Math.floor(c / 16);
    const postal = c % 2048;
    c = Math.floor(c / 2048);
    const sex = this.sexes.value(c % 8);
    c = Math.floor(c / 8);
    const month = c % 16;
    const y = Math.floor(c / 16);
    const digits =
      postal === 0
        ? undefined
        : postal <= 1000
          ? String(postal - 1).padStart(3, '0')
          : postal <= 1100
            ? String(postal - 1001).padStart(2, '0')
            : String(postal - 1101);
    return {
      ...(y ? { birth: `${FIRST_YEAR + y - 1}${month ? `-${String(month).padStart(2, '0')}` : ''}` } : {}),
      ...(sex ? { sex } : {}),
      ...(digits ? { postal: digits } : {}),
      ...(kind ? { insurerKind: kind } : {}),
      ...(deceased ? { deceased: true as const } : {}),
    };
  }

  /** The cell a record of cell `code` falls in at `level` of the ladder. */
  atLevel(code: number, level: number): number {
    return level === 0 ? code : this.encode(LEVELS[level](this.decode(code)));
  }
}

/**
 * The guard's decision per cell, from the distinct cells and how many records each holds: the
 * level each cell's records are released at, or -1 (suppressed).
 */
export function planSmallCells(
  codec: CellCodec,
  cells: readonly number[],
  counts: readonly number[],
  k: number,
): { levels: Int8Array; generalized: number; suppressed: number; byLevel: number[] } {
  if (!Number.isInteger(k) || k < 1) throw new RangeError('k must be a positive integer');
  const levels = new Int8Array(cells.length).fill(-1);
  const byLevel = LEVELS.map(() => 0);
  let left = Array.from(cells.keys());
  for (let level = 0; level < LEVELS.length; level++) {
    const at = left.map((i) => codec.atLevel(cells[i], level));
    const sums = new Map<number, number>();
    left.forEach((i, n) => sums.set(at[n], (sums.get(at[n]) ?? 0) + counts[i]));
    const next: number[] = [];
    left.forEach((i, n) => {
      if ((sums.get(at[n]) ?? 0) >= k) {
        levels[i] = level;
        byLevel[level] = (byLevel[level] ?? 0) + counts[i];
      } else next.push(i);
    });
    left = next;
  }
  const suppressed = left.reduce((n, i) => n + counts[i], 0);
  return { levels, generalized: byLevel.slice(1).reduce((a, b) => a + b, 0), suppressed, byLevel };
}

/** Cells as they are met: each record's cell number, and each cell's code and count. */
export class CellCounter {
  readonly codec = new CellCodec();
  readonly codes: number[] = [];
  readonly counts: number[] = [];
  private readonly index = new Map<number, number>();

  /** Counts a record; returns its cell's number. */
  add(q: QuasiIdentifiers): number {
    const code = this.codec.encode(q);
    let i = this.index.get(code);
    if (i === undefined) {
      i = this.codes.length;
      this.index.set(code, i);
      this.codes.push(code);
      this.counts.push(0);
    }
    this.counts[i] = this.counts[i] + 1;
    return i;
  }
}

/** The guard over records in memory (tests, small exports): what is released, generalized and suppressed. */
export function guardSmallCells<T>(records: readonly T[], quasi: (r: T) => QuasiIdentifiers, k: number): SmallCellReport<T> {
  const counter = new CellCounter();
  const cellOfRecord = records.map((r) => counter.add(quasi(r)));
  const plan = planSmallCells(counter.codec, counter.codes, counter.counts, k);
  const released: Released<T>[] = [];
  records.forEach((record, n) => {
    const i = cellOfRecord[n];
    const level = plan.levels[i];
    if (level >= 0) released.push({ record, qi: counter.codec.decode(counter.codec.atLevel(counter.codes[i], level)), level });
  });
  return { released, generalized: plan.generalized, suppressed: plan.suppressed, byLevel: plan.byLevel };
}
