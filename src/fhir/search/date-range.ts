/**
 * FHIR date, dateTime and instant values as half-open UTC ranges [lo, hi), in epoch ms.
 * A partial date covers its whole precision: `1980` is all of 1980, `1980-02` all of February.
 * Values without a time zone are read as UTC, the same way on write and on search, so they
 * compare consistently.
 */

export interface DateRange {
  lo: number;
  hi: number;
}

const DATE_RE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Parses a FHIR date/dateTime/instant; undefined when it is not one. */
export function parseDateRange(text: string): DateRange | undefined {
  const m = DATE_RE.exec(text);
  if (!m) {
    return undefined;
  }
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y);
  if (year < 1) {
    return undefined;
  }
  const month = mo === undefined ? undefined : Number(mo);
  const day = d === undefined ? undefined : Number(d);
  if (month !== undefined && (month < 1 || month > 12)) {
    return undefined;
  }
  if (day !== undefined && (day < 1 || day > daysIn(year, month as number))) {
    return undefined;
  }
  const utc = (yy: number, mm: number, dd: number, hh = 0, mn = 0, ss = 0, ms = 0): number => {
    const dt = new Date(Date.UTC(yy, mm, dd, hh, mn, ss, ms));
    // Date.UTC maps years 0–99 to 1900–1999; undo that after month/day roll-over is applied.
    if (yy < 100) dt.setUTCFullYear(dt.getUTCFullYear() - 1900);
    return dt.getTime();
  };
  if (month === undefined) {
    return { lo: utc(year, 0, 1), hi: utc(year + 1, 0, 1) };
  }
  if (day === undefined) {
    return { lo: utc(year, month - 1, 1), hi: utc(year, month, 1) };
  }
  if (h === undefined) {
    return { lo: utc(year, month - 1, day), hi: utc(year, month - 1, day + 1) };
  }
  const hour = Number(h);
  const minute = Number(mi);
  if (hour > 23 || minute > 59 || (s !== undefined && Number(s) > 59)) {
    return undefined;
  }
  let offsetMin = 0;
  if (tz && tz !== 'Z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    offsetMin = sign * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6)));
  }
  const shift = offsetMin * 60_000;
  if (s === undefined) {
    const lo = utc(year, month - 1, day, hour, minute) - shift;
    return { lo, hi: lo + 60_000 };
  }
  if (frac === undefined) {
    const lo = utc(year, month - 1, day, hour, minute, Number(s)) - shift;
    return { lo, hi: lo + 1000 };
  }
  // Sub-second precision: the range is one unit of the last digit given (1 ms at the finest).
  const digits = Math.min(frac.length - 1, 3);
  const ms = Math.floor(Number(frac) * 1000);
  const lo = utc(year, month - 1, day, hour, minute, Number(s), ms) - shift;
  return { lo, hi: lo + 10 ** (3 - digits) };
}

export const MIN_TIME = Number.NEGATIVE_INFINITY;
export const MAX_TIME = Number.POSITIVE_INFINITY;
const YEAR_10000 = Date.UTC(10000, 0, 1);

/** SQL literal form of an epoch-ms bound for a timestamptz parameter. */
export function toSqlTime(ms: number): string {
  if (ms === MIN_TIME) {
    return '-infinity';
  }
  if (ms === MAX_TIME || ms >= YEAR_10000) {
    return 'infinity';
  }
  return new Date(ms).toISOString();
}
