/**
 * Kana: the two scripts as one (hiragana ↔ katakana is a fixed offset of 0x60 over
 * U+3041–U+3096 / U+30A1–U+30F6), the form a registered name is kept in, and the keys matching
 * compares on — each folding away one kind of difference that desks introduce without meaning
 * another person: width, script, spaces, small kana, long-vowel spellings, voicing marks (loose
 * key only). Every rule has a unit test (test/unit/jp/).
 */
import { codePoints, nfkc, stripNameSeparators, stripSpaces } from './characters.ts';

const HIRAGANA = /[\u3041-\u3096]/g;
const KATAKANA = /[\u30a1-\u30f6]/g;

/** Hiragana → katakana (ひらがな → ヒラガナ); everything else unchanged. */
export function toKatakana(s: string): string {
  return s.replace(HIRAGANA, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60));
}

/** Katakana → hiragana (ヤマダ → やまだ); ー, ヷ–ヺ and everything else unchanged. */
export function toHiragana(s: string): string {
  return s.replace(KATAKANA, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60));
}

const KATAKANA_NAME = /^[ァ-ヺー・]+$/;
const KANA_ONLY = /^[\u3041-\u3096\u30a1-\u30fa\u30fc\uff66-\uff9f\s\u3000・･ー]+$/u;

/** A kana name as the registry keeps it: NFKC (ﾔﾏﾀﾞ → ヤマダ), katakana, no spaces. */
export function registeredKana(s: string): string {
  return stripSpaces(toKatakana(nfkc(s)));
}

/** Whether a registered kana name (registeredKana) is katakana only. */
export function isKatakanaName(s: string): boolean {
  return KATAKANA_NAME.test(s);
}

/** Whether text is written in kana only (either script, either width, with spaces and dots). */
export function isKanaOnly(s: string): boolean {
  return KANA_ONLY.test(s);
}

/** NFKC (half-width ｶﾅ → カナ, full-width ＡＢ → AB), hiragana → katakana, no spaces or middle dots. */
export function kanaBase(s: string): string {
  return stripNameSeparators(toKatakana(nfkc(s)));
}

const SMALL: Record<string, string> = {
  ァ: 'ア',
  ィ: 'イ',
  ゥ: 'ウ',
  ェ: 'エ',
  ォ: 'オ',
  ッ: 'ツ',
  ャ: 'ヤ',
  ュ: 'ユ',
  ョ: 'ヨ',
  ヮ: 'ワ',
  ヵ: 'カ',
  ヶ: 'ケ',
};
/** Same sound, two spellings: ヂ/ジ, ヅ/ズ, ヲ/オ, ヴ/ブ, ヰ/イ, ヱ/エ. */
const SAME_SOUND: Record<string, string> = { ヂ: 'ジ', ヅ: 'ズ', ヲ: 'オ', ヴ: 'ブ', ヰ: 'イ', ヱ: 'エ' };

/** The vowel a katakana ends in (for long-vowel folding). */
const VOWEL_OF = new Map<string, string>();
for (const [v, row] of Object.entries({
  ア: 'アカガサザタダナハバパマヤラワ',
  イ: 'イキギシジチヂニヒビピミリ',
  ウ: 'ウクグスズツヅヌフブプムユルヴ',
  エ: 'エケゲセゼテデネヘベペメレ',
  オ: 'オコゴソゾトドノホボポモヨロヲ',
}))
  for (const c of row) VOWEL_OF.set(c, v);

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
  return codePoints(kanaKey(s))
    .map((c) => {
      const i = VOICED.indexOf(c);
      return i >= 0 ? UNVOICED[i] : c;
    })
    .join('');
}
