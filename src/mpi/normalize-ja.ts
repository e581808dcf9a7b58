/**
 * Japanese name, date, address and phone normalization for matching. Each function folds away
 * one kind of difference that desks introduce without meaning a different person: width, script
 * (hiragana/katakana), spaces, small kana, long-vowel spellings, voicing marks (loose form only),
 * variant kanji, Japanese-era dates, address numbering forms. Every rule has a unit test.
 */
import { KANJI_VARIANTS } from './kanji-variants.ts';

const HIRAGANA = /[\u3041-\u3096]/g;

/** The code points of a string (𠮷 is one, not two UTF-16 units). */
export const codePoints = (s: string): string[] => Array.from(s);
const SPACES = /[\s\u3000・･]+/gu;

/** NFKC (half-width ｶﾅ → カナ, full-width ＡＢ → AB), hiragana → katakana, no spaces or middle dots. */
export function kanaBase(s: string): string {
  return s.normalize('NFKC').replace(HIRAGANA, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60)).replace(SPACES, '');
}

const SMALL: Record<string, string> = {
  ァ: 'ア', ィ: 'イ', ゥ: 'ウ', ェ: 'エ', ォ: 'オ', ッ: 'ツ', ャ: 'ヤ', ュ: 'ユ', ョ: 'ヨ', ヮ: 'ワ', ヵ: 'カ', ヶ: 'ケ',
};
/** Same sound, two spellings: ヂ/ジ, ヅ/ズ, ヲ/オ, ヴ/ブ, ヰ/イ, ヱ/エ. */
const SAME_SOUND: Record<string, string> = { ヂ: 'ジ', ヅ: 'ズ', ヲ: 'オ', ヴ: 'ブ', ヰ: 'イ', ヱ: 'エ' };

/** The vowel a katakana ends in (for long-vowel folding). */
const VOWEL_OF = new Map<string, string>();
for (const [v, row] of Object.entries({
  ア: 'アカガサザタダナハバパマヤラワ', イ: 'イキギシジチヂニヒビピミリ', ウ: 'ウクグスズツヅヌフブプムユルヴ',
  エ: 'エケゲセゼテデネヘベペメレ', オ: 'オコゴソゾトドノホボポモヨロヲ',
})) for (const c of row) VOWEL_OF.set(c, v);

/**
 * The strict kana key: kanaBase, small kana as large (シヨウ ≡ ショウ as desks key them on
 * old systems), same-sound kana, and long vowels folded: ー, and a following ウ after an オ-row
 * or ウ-row kana, イ after an エ-row kana, or a repeated vowel, are dropped (サトウ ≡ サトー ≡
 * サト, オオノ ≡ オーノ ≡ オノ, ユウコ ≡ ユーコ, ケイコ ≡ ケーコ). Voicing marks stay.
 */
export function kanaKey(s: string): string {
  const base = codePoints(kanaBase(s)).map((c) => SAME_SOUND[c] ?? SMALL[c] ?? c);
  const out: string[] = [];
  for (const c of base) {
    const prev = out.at(-1);
    const v = prev === undefined ? undefined : VOWEL_OF.get(prev);
    if (c === 'ー' || c === '-' || c === '‐') {
      if (prev !== undefined) continue;
    } else if (v !== undefined && (c === v || (c === 'ウ' && (v === 'オ' || v === 'ウ')) || (c === 'イ' && v === 'エ'))) {
      continue;
    }
    out.push(c);
  }
  return out.join('');
}

const VOICED = 'ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポヴ';
const UNVOICED = 'カキクケコサシスセソタチツテトハヒフヘホハヒフヘホウ';

/** The loose kana key: kanaKey with voicing marks dropped (ガ → カ, パ → ハ), for blocking and partial agreement. */
export function kanaLooseKey(s: string): string {
  return codePoints(kanaKey(s)).map((c) => {
    const i = VOICED.indexOf(c);
    return i >= 0 ? (UNVOICED[i]) : c;
  }).join('');
}

/** Kanji name key: NFKC, no spaces, each variant form folded to its common form (髙 → 高, 﨑 → 崎). */
export function kanjiKey(s: string): string {
  const out: string[] = [];
  for (const c of s.normalize('NFKC').replace(SPACES, '')) {
    // NFKC leaves an ideographic variation selector (U+E0100…) on its base: drop it.
    const cp = c.codePointAt(0) ?? 0;
    if ((cp >= 0xe0100 && cp <= 0xe01ef) || (cp >= 0xfe00 && cp <= 0xfe0f)) continue;
    out.push(KANJI_VARIANTS.get(c) ?? c);
  }
  return out.join('');
}

/** Japanese eras (start day, inclusive). 元年 is year 1. */
const ERAS: { names: string[]; start: [number, number, number] }[] = [
  { names: ['令和', 'R', 'r', '㋿'], start: [2019, 5, 1] },
  { names: ['平成', 'H', 'h', '㍻'], start: [1989, 1, 8] },
  { names: ['昭和', 'S', 's', '㍼'], start: [1926, 12, 25] },
  { names: ['大正', 'T', 't', '㍽'], start: [1912, 7, 30] },
  { names: ['明治', 'M', 'm', '㍾'], start: [1868, 1, 25] },
];

const iso = (y: number, m: number, d: number): string | undefined => {
  const dt = new Date(Date.UTC(y, m - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== d) return undefined;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
};

/**
 * A birth date as desks write it, to YYYY-MM-DD: 1980-04-01, 1980/4/1, 19800401, 1980年4月1日,
 * 昭和55年4月1日, S55.4.1, H1/1/8, 平成元年1月8日 (full-width too). A wareki date outside its
 * era (昭和65年, 平成1年1月7日) is not a date. Undefined when it cannot be read.
 */
export function parseBirthDate(raw: string): string | undefined {
  const s = raw.normalize('NFKC').replace(/\s+/g, '').replace(/元年/, '1年');
  const era = ERAS.find((e) => e.names.some((n) => s.startsWith(n.normalize('NFKC'))));
  if (era) {
    const name = era.names.find((n) => s.startsWith(n.normalize('NFKC'))) as string;
    const m = /^(\d{1,2})[年./-](\d{1,2})[月./-](\d{1,2})日?$/.exec(s.slice(name.normalize('NFKC').length));
    if (!m) return undefined;
    const [ey, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const out = iso(era.start[0] + ey - 1, mo, d);
    if (out === undefined || ey < 1) return undefined;
    const startIso = iso(...era.start) as string;
    const next = ERAS[ERAS.indexOf(era) - 1];
    if (out < startIso || (next && out >= (iso(...next.start) as string))) return undefined;
    return out;
  }
  const m = /^(\d{4})[年./-]?(\d{1,2})[月./-]?(\d{1,2})日?$/.exec(/^\d{8}$/.test(s) ? `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6)}` : s);
  return m ? iso(Number(m[1]), Number(m[2]), Number(m[3])) : undefined;
}

/** Digits of a phone number (+81 as a leading 0). */
export function phoneKey(s: string): string {
  const d = s.normalize('NFKC').replace(/[^\d+]/g, '');
  return d.startsWith('+81') ? `0${d.slice(3)}` : d.replace(/\+/g, '');
}

/** Seven postal-code digits, or '' when there are not seven. */
export function postalKey(s: string): string {
  const d = s.normalize('NFKC').replace(/\D/g, '');
  return d.length === 7 ? d : '';
}

const KANJI_DIGITS: Record<string, number> = { 〇: 0, 一: 1, 二: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };

/** 二十三 → 23, 十 → 10, 百五 → 105 (the numerals of addresses). */
function kanjiNumber(s: string): string {
  let total = 0;
  let cur = 0;
  for (const c of s) {
    if (c === '百') { total += (cur || 1) * 100; cur = 0; } else if (c === '十') { total += (cur || 1) * 10; cur = 0; } else cur = cur * 10 + (KANJI_DIGITS[c] ?? 0);
  }
  return String(total + cur);
}

/**
 * An address key: NFKC, kanji numerals as digits, 丁目/番地/番/号/の and every hyphen form as
 * one separator, no spaces, variant kanji folded: 東京都千代田区丸の内一丁目2番3号 ≡ 東京都千代田区丸の内1-2-3.
 */
export function addressKey(s: string): string {
  return kanjiKey(s)
    .replace(/[〇一二三四五六七八九十百]+(?=丁目|番地|番|号|[-‐‑‒–—―ー−－]|$)/g, kanjiNumber)
    .replace(/(\d)\s*(丁目|番地の?|番の?|号の?|の)\s*(?=\d)/g, '$1-')
    .replace(/(\d)\s*(丁目|番地|番|号)$/g, '$1')
    .replace(/[-‐‑‒–—―ー−－]+/g, '-');
}
