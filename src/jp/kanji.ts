/**
 * Kanji names compared as people mean them: NFKC, no spaces or middle dots, no ideographic
 * variation selectors, and each variant form (異体字) folded to its common form (髙 → 高,
 * 﨑 → 崎; the table is kanji-variants.ts).
 */
import { nfkc, stripNameSeparators } from './characters.ts';
import { KANJI_VARIANTS } from './kanji-variants.ts';

/** Kanji name key: NFKC, no spaces, each variant form folded to its common form (髙 → 高, 﨑 → 崎). */
export function kanjiKey(s: string): string {
  const out: string[] = [];
  for (const c of stripNameSeparators(nfkc(s))) {
    // NFKC leaves an ideographic variation selector (U+E0100…) on its base: drop it.
    const cp = c.codePointAt(0) ?? 0;
    if ((cp >= 0xe0100 && cp <= 0xe01ef) || (cp >= 0xfe00 && cp <= 0xfe0f)) continue;
    out.push(KANJI_VARIANTS.get(c) ?? c);
  }
  return out.join('');
}
