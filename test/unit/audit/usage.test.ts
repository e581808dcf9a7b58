/** The counting rules and month arithmetic of usage metering (audit/usage.ts), without a database. */
import { describe, expect, it } from 'vitest';
import { monthOfPeriod } from '../../../src/api/operations/measure-evaluate-measure.ts';
import { gradesCount, monthRange, tally, zeroCounts } from '../../../src/audit/usage.ts';
import type { OrgUsage } from '../../../src/audit/usage.ts';
import { lastMonth, usageCsv, USAGE_CSV_HEADER } from '../../../src/cli/usage.ts';

const fresh = (): OrgUsage => ({ org: { kind: 'insurer', code: '06139955' }, billable: zeroCounts(), refused: zeroCounts(), events: 0 });

describe('usage metering rules', () => {
  it('bounds a month in Japan Standard Time, December rolling into the next year', () => {
    expect(monthRange('2026-11')).toEqual({ from: '2026-11-01T00:00:00+09:00', to: '2026-12-01T00:00:00+09:00' });
    expect(monthRange('2026-12')).toEqual({ from: '2026-12-01T00:00:00+09:00', to: '2027-01-01T00:00:00+09:00' });
    for (const bad of ['2026-13', '2026-00', '2026-1', '2026-11-01', 'x']) expect(monthRange(bad), bad).toBeUndefined();
  });

  it('reads a period as one whole month only (a leap February included)', () => {
    expect(monthOfPeriod('2026-11', '2026-11')).toBe('2026-11');
    expect(monthOfPeriod('2026-11-01', '2026-11-30')).toBe('2026-11');
    expect(monthOfPeriod('2028-02-01', '2028-02-29')).toBe('2028-02');
    expect(monthOfPeriod('2027-02-01', '2027-02-29')).toBeUndefined();
    expect(monthOfPeriod('2026-11-01', '2026-11-29')).toBeUndefined();
    expect(monthOfPeriod('2026-11-02', '2026-11-30')).toBeUndefined();
    expect(monthOfPeriod('2026-11', '2026-12')).toBeUndefined();
  });

  it('counts the persons a $match returned from its grades, encoded or not', () => {
    expect(gradesCount('')).toBe(0);
    expect(gradesCount(null)).toBe(0);
    expect(gradesCount('certain')).toBe(1);
    expect(gradesCount('certain%2Cprobable%2Cpossible')).toBe(3);
    expect(gradesCount('probable,possible')).toBe(2);
  });

  it('counts a $match call returning n persons once from its n events, and names events that make no whole call', () => {
    const u = fresh();
    const broken = tally(u, [
      { subtype: '$match', eventType: 'rest', ok: true, person: true, matchPersons: 3, events: 6 }, // two calls
      { subtype: '$match', eventType: 'rest', ok: true, person: false, matchPersons: 0, events: 2 }, // two empty calls
      { subtype: '$match', eventType: 'rest', ok: true, person: true, matchPersons: 2, events: 3 }, // one call and a stray event
      { subtype: '$match', eventType: 'rest', ok: false, person: false, events: 1 },
    ]);
    expect(u.billable['match-calls']).toBe(5);
    expect(u.refused['match-calls']).toBe(1);
    expect([...broken]).toEqual([[2, 3]]);
    expect(u.events).toBe(12);
  });

  it('bills successful events naming a person; confirmations whoever they name; never writes, logins or refusals', () => {
    const u = fresh();
    tally(u, [
      { subtype: '$submit', eventType: 'rest', ok: true, person: false, events: 2 },
      { subtype: '$submit', eventType: 'rest', ok: true, person: true, events: 3 },
      { subtype: 'search-type', eventType: 'rest', ok: true, person: false, events: 4 },
      { subtype: 'search-type', eventType: 'rest', ok: true, person: true, events: 5 },
      { subtype: 'read', eventType: 'rest', ok: false, person: true, events: 1 },
      { subtype: '$export-file', eventType: 'rest', ok: true, person: true, events: 7 },
      { subtype: '$link', eventType: 'rest', ok: true, person: true, events: 2 },
      { subtype: '$pseudonymize', eventType: 'rest', ok: true, person: true, events: 1 },
      { subtype: 'create', eventType: 'rest', ok: true, person: true, events: 9 },
      { subtype: 'login', eventType: 'login', ok: true, person: false, events: 4 },
    ]);
    expect(u.billable).toEqual({
      'eligibility-confirmations': 5,
      'match-calls': 0,
      'persons-read': 5,
      'export-records': 7,
      'pseudonym-conversions': 3,
    });
    expect(u.refused).toEqual({ ...zeroCounts(), 'persons-read': 1 });
    expect(u.events).toBe(38);
  });

  it('defaults to last month in Japan (1 January 00:30 JST is still December 31 in UTC)', () => {
    expect(lastMonth(new Date('2026-12-31T15:30:00Z'))).toBe('2026-12');
    expect(lastMonth(new Date('2026-12-31T14:30:00Z'))).toBe('2026-11');
    expect(lastMonth(new Date('2027-02-10T00:00:00Z'))).toBe('2027-01');
  });

  it('writes CSV with RFC 4180 quoting and CRLF lines', () => {
    const u = { ...fresh(), org: { kind: 'database', code: 'a,"b"' } };
    u.billable['persons-read'] = 2;
    const csv = usageCsv({ month: '2026-11', from: '', to: '', organizations: [u], problems: [] });
    expect(csv).toBe(`${USAGE_CSV_HEADER}\r\n2026-11,database,"a,""b""",0,0,2,0,0,0,0,0,0,0,0\r\n`);
  });
});
