/**
 * Variant kanji (異体字) in names, folded to the form desks most often type. Sources:
 * - 戸籍法施行規則 別表第二 (人名用漢字) — the pairs it prints in parentheses, old form → new form
 *   (澤→沢, 濱→浜, 廣→広, 櫻→桜, 國→国, 壽→寿, 惠→恵, …), Ministry of Justice;
 * - the Ministry of Justice 戸籍統一文字 / 文字情報基盤 (IPA MJ) tables for surname-only variants
 *   outside JIS X 0208 (髙, 﨑, 𠮷, 邉, 濵, 嵜, 德 …);
 * - the variant sets NDB linkage studies found splitting persons (齋/齊/斉 → 斎, 邊/邉 → 辺).
 * Changing a pair changes stored match features and blocking keys: bump MATCH_INDEX_VERSION
 * (mpi/features.ts), note why in mpi/README.md, and run `medid mpi reindex`.
 * One line per common form; each variant on the right folds to the form on the left.
 */
const TABLE: Record<string, string> = {
  高: '髙',
  崎: '﨑嵜',
  斎: '齋齊斉齎',
  辺: '邊邉',
  沢: '澤',
  浜: '濱濵',
  広: '廣',
  桜: '櫻',
  国: '國圀',
  吉: '𠮷',
  寿: '壽',
  恵: '惠',
  栄: '榮',
  蔵: '藏',
  竜: '龍',
  徳: '德',
  真: '眞',
  実: '實',
  浅: '淺',
  学: '學',
  会: '會',
  与: '與',
  静: '靜',
  豊: '豐',
  礼: '禮',
  鉄: '鐵銕',
  顕: '顯',
  円: '圓',
  関: '關',
  条: '條',
  弥: '彌',
  滝: '瀧',
  島: '嶋嶌',
  黒: '黑',
  団: '團',
  県: '縣',
  万: '萬',
  槙: '槇',
  穂: '穗',
  館: '舘',
  富: '冨',
  峰: '峯',
  鴎: '鷗',
  晋: '晉',
  児: '兒',
  来: '來',
  亜: '亞',
  気: '氣',
  薫: '薰',
  糸: '絲',
  伝: '傳',
  稲: '稻',
  将: '將',
  荘: '莊',
  壮: '壯',
  声: '聲',
  縄: '繩',
  狭: '狹',
  総: '總',
  遥: '遙',
  尭: '堯',
  曽: '曾',
  譲: '讓',
  野: '埜',
  村: '邨',
  杉: '杦',
  船: '舩',
  桧: '檜',
  巌: '巖',
  郎: '郞',
  芦: '蘆',
  篭: '籠',
  桑: '桒',
  渕: '淵渊',
  冴: '冱',
  凛: '凜',
  橋: '槗',
  柳: '栁',
};

/** Variant → common form. */
export const KANJI_VARIANTS: ReadonlyMap<string, string> = new Map(
  Object.entries(TABLE).flatMap(([common, variants]) =>
    Array.from(variants)
      .filter((v) => v !== common)
      .map((v) => [v, common] as [string, string]),
  ),
);
