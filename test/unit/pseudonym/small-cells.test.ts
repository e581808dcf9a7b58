/** The small-cell guard: every released tuple of quasi-identifiers is shared by at least k released records. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CellCodec, generalize, guardSmallCells, LEVELS } from '../../../src/pseudonym/small-cells.ts';
import type { QuasiIdentifiers } from '../../../src/pseudonym/small-cells.ts';

const tuple = (q: QuasiIdentifiers) => JSON.stringify([q.birth, q.sex, q.postal, q.insurerKind]);

describe('the small-cell guard', () => {
  it('releases cells of k or more as they are, generalizes smaller ones, suppresses what is still small', () => {
    const big = Array.from({ length: 5 }, () => ({ birth: '1980-04', sex: 'F', postal: '100', insurerKind: 'kenpo' }));
    // Two small cells of one year and area that together reach k = 5 once generalized.
    const a = Array.from({ length: 3 }, () => ({ birth: '1975-01', sex: 'M', postal: '123', insurerKind: 'kokuho' }));
    const b = Array.from({ length: 2 }, () => ({ birth: '1975-11', sex: 'M', postal: '129', insurerKind: 'kokuho' }));
    const lone = [{ birth: '1931-02', sex: 'F', postal: '999', insurerKind: 'koki' }];
    const r = guardSmallCells([...big, ...a, ...b, ...lone], (x) => x, 5);
    expect(r.generalized).toBe(5);
    expect(r.suppressed).toBe(1);
    expect(r.released).toHaveLength(10);
    expect(r.released.filter((x) => x.level > 0).map((x) => x.qi)).toEqual(
      Array.from({ length: 5 }, () => ({ birth: '1975', sex: 'M', postal: '12', insurerKind: 'kokuho' })),
    );
    expect(r.released.filter((x) => x.level === 0).every((x) => x.qi.birth === '1980-04')).toBe(true);
    expect(r.byLevel).toEqual([5, 5, 0, 0, 0]);
  });
  it('climbs the ladder only as far as it must: region, then no place, then no insurer kind; death is kept at every level', () => {
    const spread = ['100', '200', '300', '400', '500'].map((postal, i) => ({
      birth: `1960-0${i + 1}`,
      sex: 'M',
      postal,
      insurerKind: 'kyokai',
    }));
    const dead = Array.from({ length: 5 }, (_, i) => ({
      birth: `1940-0${i + 1}`,
      sex: 'F',
      postal: '150',
      insurerKind: i < 3 ? 'koki' : 'kokuho',
      deceased: true as const,
    }));
    const r = guardSmallCells([...spread, ...dead], (x) => x, 5);
    expect(r.byLevel).toEqual([0, 0, 0, 5, 5]);
    expect(r.released.find((x) => x.record === spread[0])?.qi).toEqual({ birth: '1960', sex: 'M', insurerKind: 'kyokai' });
    expect(r.released.find((x) => x.record === dead[0])?.qi).toEqual({ birth: '1940', sex: 'F', deceased: true });
  });
  it('generalizes birth year-month to the year and the 3-digit postal area to 2 digits, nothing else', () => {
    expect(generalize({ birth: '1980-04', sex: 'F', postal: '100', insurerKind: 'kenpo' })).toEqual({
      birth: '1980',
      sex: 'F',
      postal: '10',
      insurerKind: 'kenpo',
    });
    expect(generalize({ sex: 'M' })).toEqual({ sex: 'M' });
  });
  it('for any records and k: each released tuple is shared by ≥ k released records, and released + suppressed = all', () => {
    const qi = fc.record({
      birth: fc.constantFrom('1980-01', '1980-02', '1981-01', '1990-12'),
      sex: fc.constantFrom('F', 'M'),
      postal: fc.constantFrom('100', '101', '110', '530'),
      insurerKind: fc.constantFrom('kenpo', 'kokuho'),
    });
    fc.assert(
      fc.property(fc.array(qi, { maxLength: 300 }), fc.integer({ min: 1, max: 10 }), (records, k) => {
        const r = guardSmallCells(records, (x) => x, k);
        const counts = new Map<string, number>();
        for (const x of r.released) counts.set(tuple(x.qi), (counts.get(tuple(x.qi)) ?? 0) + 1);
        expect([...counts.values()].every((n) => n >= k)).toBe(true);
        expect(r.released.length + r.suppressed).toBe(records.length);
        expect(r.released.filter((x) => x.level > 0)).toHaveLength(r.generalized);
        expect(r.byLevel.reduce((a, b) => a + b, 0)).toBe(r.released.length);
      }),
    );
  });
  it('a cell is one integer: every tuple survives the round trip, and every level computed on integers equals it on tuples', () => {
    const codec = new CellCodec();
    const qi = fc.record(
      {
        birth: fc.oneof(
          fc.integer({ min: 1850, max: 2104 }).map(String),
          fc
            .tuple(fc.integer({ min: 1850, max: 2104 }), fc.integer({ min: 1, max: 12 }))
            .map(([y, m]) => `${y}-${String(m).padStart(2, '0')}`),
        ),
        sex: fc.constantFrom('male', 'female', 'other', 'unknown'),
        postal: fc.oneof(
          fc.integer({ min: 0, max: 999 }).map((n) => String(n).padStart(3, '0')),
          fc.integer({ min: 0, max: 9 }).map(String),
        ),
        insurerKind: fc.constantFrom('kokuho', 'kyokai', 'kumiai', 'kyosai', 'koki', 'public'),
        deceased: fc.constant(true as const),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(qi, (q) => {
        const code = codec.encode(q);
        expect(code).toBeLessThan(2 ** 31);
        expect(codec.decode(code)).toEqual(q);
        LEVELS.forEach((at, level) => expect(codec.decode(codec.atLevel(code, level))).toEqual(at(q)));
      }),
    );
  });
});
