/**
 * Dates as Japanese desks and files write them, read as a calendar day (YYYY-MM-DD): ISO
 * 1980-04-01, 1980/4/1, 1980.4.1, 19800401, 1980年4月1日, and the Japanese eras (和暦) 昭和55年4月1日,
 * S55.4.1, H1/1/8, 平成元年1月8日, ㍼55.4.1 — full-width or half-width, with or without spaces.
 * The one date reader: registration files, Patient/$register, $match and the lifecycle
 * operations all accept exactly these forms.
 */
import { nfkc } from './characters.ts';

type Era = { names: string[]; start: [number, number, number] };
/** Japanese eras (start day, inclusive), their names as NFKC leaves them (㍼ → 昭和). 元年 is year 1. */
const ERAS: Era[] = (
  [
    { names: ['令和', 'R', 'r', '㋿'], start: [2019, 5, 1] },
    { names: ['平成', 'H', 'h', '㍻'], start: [1989, 1, 8] },
    { names: ['昭和', 'S', 's', '㍼'], start: [1926, 12, 25] },
    { names: ['大正', 'T', 't', '㍽'], start: [1912, 7, 30] },
    { names: ['明治', 'M', 'm', '㍾'], start: [1868, 1, 25] },
  ] satisfies Era[]
).map((e) => ({ ...e, names: [...new Set(e.names.map(nfkc))] }));

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** YYYY-MM-DD when y-m-d is a real calendar day (2026-02-30 is not), else undefined. */
export function calendarDay(y: number, m: number, d: number): string | undefined {
  const dt = new Date(Date.UTC(y, m - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== d) return undefined;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/**
 * A date as desks write it, to YYYY-MM-DD (see the file header for the forms). A wareki date
 * outside its era (昭和65年, 平成1年1月7日) is not a date. Undefined when it cannot be read.
 */
export function parseJapaneseDate(raw: string): string | undefined {
  // The form machines send, checked without the folding (it is on every eligibility request).
  const iso = ISO_DAY.exec(raw);
  if (iso) return calendarDay(Number(iso[1]), Number(iso[2]), Number(iso[3]));
  const s = nfkc(raw).replace(/\s+/g, '').replace(/元年/, '1年');
  const era = ERAS.find((e) => e.names.some((n) => s.startsWith(n)));
  if (era) {
    const name = era.names.find((n) => s.startsWith(n)) as string;
    const m = /^(\d{1,2})[年./-](\d{1,2})[月./-](\d{1,2})日?$/.exec(s.slice(name.length));
    if (!m) return undefined;
    const [ey, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const out = calendarDay(era.start[0] + ey - 1, mo, d);
    if (out === undefined || ey < 1) return undefined;
    const startIso = calendarDay(...era.start) as string;
    const next = ERAS[ERAS.indexOf(era) - 1];
    if (out < startIso || (next && out >= (calendarDay(...next.start) as string))) return undefined;
    return out;
  }
  const m = /^(\d{4})[年./-]?(\d{1,2})[月./-]?(\d{1,2})日?$/.exec(
    /^\d{8}$/.test(s) ? `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6)}` : s,
  );
  return m ? calendarDay(Number(m[1]), Number(m[2]), Number(m[3])) : undefined;
}

/** Whether `s` is already a calendar day written YYYY-MM-DD (the canonical form, nothing else). */
export function isCalendarDay(s: string): boolean {
  return ISO_DAY.test(s) && parseJapaneseDate(s) === s;
}

/** Japan Standard Time is UTC+9 all year (no daylight saving). */
const JST_OFFSET_MS = 9 * 3_600_000;

/**
 * The calendar day in Japan at an instant: a child born at 08:00 on 1 April in Tokyo was born on
 * 2026-04-01, though it is still 31 March in UTC.
 */
export function japanDay(at: Date): string {
  return new Date(at.getTime() + JST_OFFSET_MS).toISOString().slice(0, 10);
}
