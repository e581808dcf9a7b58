/** Japanese addresses compared as people mean them (丁目 / 番地 / 号 and their numerals). */
import { kanjiKey } from './kanji.ts';

const KANJI_DIGITS: Record<string, number> = { 〇: 0, 一: 1, 二: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };

/** 二十三 → 23, 十 → 10, 百五 → 105 (the numerals of addresses). */
function kanjiNumber(s: string): string {
  let total = 0;
  let cur = 0;
  for (const c of s) {
    if (c === '百') {
      total += (cur || 1) * 100;
      cur = 0;
    } else if (c === '十') {
      total += (cur || 1) * 10;
      cur = 0;
    } else cur = cur * 10 + (KANJI_DIGITS[c] ?? 0);
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
