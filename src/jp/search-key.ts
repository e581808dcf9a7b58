/**
 * The key string search parameters compare on. FHIR asks for case- and accent-insensitive
 * matching; for Japanese text medid also folds width (NFKC: ﾔﾏﾀﾞ → ヤマダ, ＡＢＣ → abc),
 * katakana to hiragana (ヤマダ ≡ やまだ) and drops all spaces, because desks type names with a
 * half-width, full-width or no space between family and given name (NDB linkage lost most
 * records to exactly this). Kana voicing marks (が ≠ か) are letters, not accents, and stay.
 */
import { nfkc, stripSpaces } from './characters.ts';
import { toHiragana } from './kana.ts';

const LATIN_COMBINING = /[\u0300-\u036f]/g;

export function searchKey(s: string): string {
  return stripSpaces(toHiragana(nfkc(s).toLowerCase().normalize('NFD').replace(LATIN_COMBINING, '').normalize('NFC')));
}
