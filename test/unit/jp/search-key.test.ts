import { describe, expect, it } from 'vitest';
import { searchKey } from '../../../src/jp/search-key.ts';

describe('searchKey', () => {
  it('folds case', () => expect(searchKey('SMITH')).toBe('smith'));
  it('removes Latin accents', () => expect(searchKey('Müller-Ève')).toBe('muller-eve'));
  it('folds full-width Latin and digits', () => expect(searchKey('ＡＢＣ１２３')).toBe('abc123'));
  it('folds half-width katakana, voiced marks included', () => expect(searchKey('ﾔﾏﾀﾞ')).toBe('やまだ'));
  it('folds katakana to hiragana', () => expect(searchKey('ヤマダ タロウ')).toBe('やまだたろう'));
  it('keeps voiced and unvoiced kana apart', () => expect(searchKey('ガ')).not.toBe(searchKey('カ')));
  it('removes ASCII and ideographic spaces', () => expect(searchKey(' 山田　太郎 ')).toBe('山田太郎'));
  it('leaves kanji as they are', () => expect(searchKey('髙橋')).toBe('髙橋'));
});
