/** Each Japanese normalization rule of $match, and each variant kanji folded. */
import { describe, expect, it } from 'vitest';
import { addressKey } from '../../../src/jp/address.ts';
import { parseJapaneseDate } from '../../../src/jp/date.ts';
import { kanaKey, kanaLooseKey } from '../../../src/jp/kana.ts';
import { kanjiKey } from '../../../src/jp/kanji.ts';
import { KANJI_VARIANTS } from '../../../src/jp/kanji-variants.ts';
import { phoneKey } from '../../../src/jp/phone.ts';
import { postalKey } from '../../../src/jp/postal-code.ts';

describe('kana keys', () => {
  it.each([
    ['hiragana is katakana', 'さとう', 'サトウ'],
    ['half-width kana is full-width', 'ｻﾄｳ', 'サトウ'],
    ['half-width voiced kana combine', 'ﾔﾏﾀﾞ', 'ヤマダ'],
    ['the space between family and given name is ignored', 'ヤマダ　タロウ', 'ヤマダタロウ'],
    ['a half-width space too', 'ヤマダ ﾀﾛｳ', 'ヤマダタロウ'],
    ['small kana are large (old systems)', 'シヨウタ', 'ショウタ'],
    ['ー after an o-row kana is ウ', 'サトー', 'サトウ'],
    ['オオ is オー is オウ', 'オオノ', 'オーノ'],
    ['ユウ is ユー', 'ユウコ', 'ユーコ'],
    ['エイ is エー', 'ケイコ', 'ケーコ'],
    ['ヂ is ジ', 'ヂロウ', 'ジロウ'],
    ['ヅ is ズ', 'ミヅホ', 'ミズホ'],
    ['ヲ is オ', 'ヲノ', 'オノ'],
    ['ヴ is ブ', 'ヴィ', 'ブィ'],
  ])('%s: %s ≡ %s', (_rule, a, b) => {
    expect(kanaKey(a)).toBe(kanaKey(b));
  });
  it('keeps voicing in the strict key and drops it in the loose key', () => {
    expect(kanaKey('ヤマダ')).not.toBe(kanaKey('ヤマタ'));
    expect(kanaLooseKey('ヤマダ')).toBe(kanaLooseKey('ヤマタ'));
    expect(kanaLooseKey('ハヤシ')).toBe(kanaLooseKey('パヤシ'));
  });
  it('keeps different names apart', () => {
    expect(kanaKey('サトウ')).not.toBe(kanaKey('サイトウ'));
    expect(kanaKey('ユミ')).not.toBe(kanaKey('ユキ'));
  });
});

describe('kanji keys', () => {
  it.each([
    ['髙橋', '高橋'],
    ['山﨑', '山崎'],
    ['齋藤', '斎藤'],
    ['齊藤', '斎藤'],
    ['斉藤', '斎藤'],
    ['渡邊', '渡辺'],
    ['渡邉', '渡辺'],
    ['澤田', '沢田'],
    ['濱田', '浜田'],
    ['濵田', '浜田'],
    ['廣瀬', '広瀬'],
    ['櫻井', '桜井'],
    ['國分', '国分'],
    ['𠮷田', '吉田'],
    ['山田 太郎', '山田太郎'],
    ['山田　太郎', '山田太郎'],
  ])('%s ≡ %s', (a, b) => {
    expect(kanjiKey(a)).toBe(kanjiKey(b));
  });
  it('folds every variant of the table to its common form, and no common form further', () => {
    expect(KANJI_VARIANTS.size).toBeGreaterThan(80);
    for (const [variant, common] of KANJI_VARIANTS) {
      expect(kanjiKey(variant), variant).toBe(common);
      expect(KANJI_VARIANTS.has(common), `${common} is itself a variant`).toBe(false);
    }
  });
  it('drops an ideographic variation selector', () => {
    expect(kanjiKey('葛\u{E0100}飾')).toBe('葛飾');
  });
});

describe('birth dates', () => {
  it.each([
    ['1980-04-01', '1980-04-01'],
    ['1980/4/1', '1980-04-01'],
    ['19800401', '1980-04-01'],
    ['１９８０年４月１日', '1980-04-01'],
    ['昭和55年4月1日', '1980-04-01'],
    ['S55.4.1', '1980-04-01'],
    ['s55/04/01', '1980-04-01'],
    ['Ｓ５５．４．１', '1980-04-01'],
    ['平成元年1月8日', '1989-01-08'],
    ['H1/1/8', '1989-01-08'],
    ['S64.1.7', '1989-01-07'],
    ['令和元年5月1日', '2019-05-01'],
    ['R6.2.29', '2024-02-29'],
    ['大正15年12月24日', '1926-12-24'],
    ['T1.7.30', '1912-07-30'],
  ])('%s → %s', (raw, iso) => {
    expect(parseJapaneseDate(raw)).toBe(iso);
  });
  it.each([
    ['平成1年1月7日 (still 昭和)'],
    ['S64.1.8 (already 平成)'],
    ['令和元年4月30日 (still 平成)'],
    ['1980-02-30'],
    ['R5.2.29'],
    ['昭和'],
    ['yesterday'],
  ])('refuses %s', (raw) => {
    expect(parseJapaneseDate(raw.split(' ')[0])).toBeUndefined();
  });
});

describe('addresses, postal codes and phones', () => {
  it.each([
    ['東京都千代田区丸の内一丁目2番3号', '東京都千代田区丸の内1-2-3'],
    ['東京都千代田区丸の内１－２－３', '東京都千代田区丸の内1-2-3'],
    ['東京都千代田区丸の内1丁目2-3', '東京都千代田区丸の内1-2-3'],
    ['東京都千代田区丸の内1丁目2番地3', '東京都千代田区丸の内1-2-3'],
    ['大阪府大阪市北区梅田三丁目1ー1', '大阪府大阪市北区梅田3-1-1'],
    ['東京都 千代田区 丸の内 1-2-3', '東京都千代田区丸の内1-2-3'],
    ['京都府京都市下京区二十三番地', '京都府京都市下京区23'],
  ])('%s ≡ %s', (a, b) => {
    expect(addressKey(a)).toBe(addressKey(b));
  });
  it('reads postal codes and phones as digits', () => {
    expect(postalKey('〒100-0005')).toBe('1000005');
    expect(postalKey('１００−０００５')).toBe('1000005');
    expect(postalKey('100-05')).toBe('');
    expect(phoneKey('+81-90-1234-5678')).toBe('09012345678');
    expect(phoneKey('090(1234)5678')).toBe('09012345678');
    expect(phoneKey('０９０－１２３４－５６７８')).toBe('09012345678');
  });
});
