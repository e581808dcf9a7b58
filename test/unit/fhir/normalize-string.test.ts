import { describe, expect, it } from 'vitest';
import { normalizeSearchString } from '../../../src/fhir/search/normalize-string.ts';

describe('normalizeSearchString', () => {
  it('folds case', () => expect(normalizeSearchString('SMITH')).toBe('smith'));
  it('removes Latin accents', () => expect(normalizeSearchString('Müller-Ève')).toBe('muller-eve'));
  it('folds full-width Latin and digits', () => expect(normalizeSearchString('ＡＢＣ１２３')).toBe('abc123'));
  it('folds half-width katakana, voiced marks included', () => expect(normalizeSearchString('ﾔﾏﾀﾞ')).toBe('やまだ'));
  it('folds katakana to hiragana', () => expect(normalizeSearchString('ヤマダ タロウ')).toBe('やまだたろう'));
  it('keeps voiced and unvoiced kana apart', () => expect(normalizeSearchString('ガ')).not.toBe(normalizeSearchString('カ')));
  it('removes ASCII and ideographic spaces', () => expect(normalizeSearchString(' 山田　太郎 ')).toBe('山田太郎'));
  it('leaves kanji as they are', () => expect(normalizeSearchString('髙橋')).toBe('髙橋'));
});
