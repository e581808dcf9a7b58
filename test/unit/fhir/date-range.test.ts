import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDateRange } from '../../../src/fhir/search/date-range.ts';

const utc = (s: string): number => Date.parse(s);

describe('parseDateRange', () => {
  it('a year covers the whole year', () => {
    expect(parseDateRange('1980')).toEqual({ lo: utc('1980-01-01T00:00:00Z'), hi: utc('1981-01-01T00:00:00Z') });
  });
  it('a month covers the month, February of a leap year included', () => {
    expect(parseDateRange('2024-02')).toEqual({ lo: utc('2024-02-01T00:00:00Z'), hi: utc('2024-03-01T00:00:00Z') });
  });
  it('a day covers 24 hours', () => {
    expect(parseDateRange('2024-02-29')).toEqual({ lo: utc('2024-02-29T00:00:00Z'), hi: utc('2024-03-01T00:00:00Z') });
  });
  it('the last day of a year, month and the year itself roll over into the next year', () => {
    expect(parseDateRange('1975-12-31')).toEqual({ lo: utc('1975-12-31T00:00:00Z'), hi: utc('1976-01-01T00:00:00Z') });
    expect(parseDateRange('1975-12')).toEqual({ lo: utc('1975-12-01T00:00:00Z'), hi: utc('1976-01-01T00:00:00Z') });
    expect(parseDateRange('1999-12-31T23:59:59Z')).toEqual({ lo: utc('1999-12-31T23:59:59Z'), hi: utc('2000-01-01T00:00:00Z') });
    expect(parseDateRange('0099-12-31')?.hi).toBe(new Date('0100-01-01T00:00:00Z').getTime());
  });
  it('a dateTime with an offset is converted to UTC at second precision', () => {
    expect(parseDateRange('2024-05-01T10:00:00+09:00')).toEqual({ lo: utc('2024-05-01T01:00:00Z'), hi: utc('2024-05-01T01:00:01Z') });
  });
  it('a dateTime without seconds covers the minute', () => {
    expect(parseDateRange('2024-05-01T10:00Z')).toEqual({ lo: utc('2024-05-01T10:00:00Z'), hi: utc('2024-05-01T10:01:00Z') });
  });
  it('fractions narrow the range to their last digit', () => {
    expect(parseDateRange('2024-05-01T10:00:00.5Z')).toEqual({ lo: utc('2024-05-01T10:00:00.500Z'), hi: utc('2024-05-01T10:00:00.600Z') });
    expect(parseDateRange('2024-05-01T10:00:00.123Z')).toEqual({
      lo: utc('2024-05-01T10:00:00.123Z'),
      hi: utc('2024-05-01T10:00:00.124Z'),
    });
  });
  it('years before 100 are not shifted into the 1900s', () => {
    expect(new Date((parseDateRange('0050') as { lo: number }).lo).getUTCFullYear()).toBe(50);
  });
  it('refuses impossible dates and other text', () => {
    for (const bad of ['1980-13', '1980-02-30', '2023-02-29', '1980-1-1', '80', 'R2-01-01', '1980-01-01T25:00Z', '0000', '']) {
      expect(parseDateRange(bad), bad).toBeUndefined();
    }
  });
});

describe('parseDateRange properties', () => {
  const day = fc
    .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9998-12-31T00:00:00Z'), noInvalidDate: true })
    .map((d) => d.toISOString().slice(0, 10));
  it('consecutive days tile the time line: one ends where the next begins', () => {
    fc.assert(
      fc.property(day, (d) => {
        const r = parseDateRange(d) as { lo: number; hi: number };
        const next = new Date(r.lo + 86_400_000).toISOString().slice(0, 10).replace(/^\+0*/, '');
        expect(r.hi - r.lo).toBe(86_400_000);
        expect(parseDateRange(next.padStart(10, '0'))?.lo).toBe(r.hi);
      }),
    );
  });
  it('a day lies inside its month and its year', () => {
    fc.assert(
      fc.property(day, (d) => {
        const r = parseDateRange(d) as { lo: number; hi: number };
        const m = parseDateRange(d.slice(0, 7)) as { lo: number; hi: number };
        const y = parseDateRange(d.slice(0, 4)) as { lo: number; hi: number };
        expect(m.lo <= r.lo && r.hi <= m.hi && y.lo <= m.lo && m.hi <= y.hi).toBe(true);
      }),
    );
  });
});
