/**
 * Seeded synthetic Japanese patients for benchmarks: the same seed gives the same people.
 * Names are drawn from common surnames and given names (kanji with their kana reading).
 */

const FAMILY: [string, string][] = [
  ['佐藤', 'サトウ'],
  ['鈴木', 'スズキ'],
  ['高橋', 'タカハシ'],
  ['田中', 'タナカ'],
  ['伊藤', 'イトウ'],
  ['渡辺', 'ワタナベ'],
  ['山本', 'ヤマモト'],
  ['中村', 'ナカムラ'],
  ['小林', 'コバヤシ'],
  ['加藤', 'カトウ'],
  ['吉田', 'ヨシダ'],
  ['山田', 'ヤマダ'],
  ['佐々木', 'ササキ'],
  ['山口', 'ヤマグチ'],
  ['松本', 'マツモト'],
  ['井上', 'イノウエ'],
  ['木村', 'キムラ'],
  ['林', 'ハヤシ'],
  ['斎藤', 'サイトウ'],
  ['清水', 'シミズ'],
  ['山崎', 'ヤマザキ'],
  ['森', 'モリ'],
  ['池田', 'イケダ'],
  ['橋本', 'ハシモト'],
  ['阿部', 'アベ'],
  ['石川', 'イシカワ'],
  ['山下', 'ヤマシタ'],
  ['中島', 'ナカジマ'],
  ['石井', 'イシイ'],
  ['小川', 'オガワ'],
  ['前田', 'マエダ'],
  ['岡田', 'オカダ'],
  ['長谷川', 'ハセガワ'],
  ['藤田', 'フジタ'],
  ['後藤', 'ゴトウ'],
  ['近藤', 'コンドウ'],
  ['村上', 'ムラカミ'],
  ['遠藤', 'エンドウ'],
  ['青木', 'アオキ'],
  ['坂本', 'サカモト'],
  ['勅使河原', 'テシガワラ'],
  ['小鳥遊', 'タカナシ'],
  ['東海林', 'ショウジ'],
  ['五十嵐', 'イガラシ'],
];
const GIVEN_M: [string, string][] = [
  ['太郎', 'タロウ'],
  ['翔太', 'ショウタ'],
  ['大輔', 'ダイスケ'],
  ['健一', 'ケンイチ'],
  ['蓮', 'レン'],
  ['悠真', 'ユウマ'],
  ['誠', 'マコト'],
  ['浩', 'ヒロシ'],
  ['学', 'マナブ'],
  ['拓也', 'タクヤ'],
];
const GIVEN_F: [string, string][] = [
  ['花子', 'ハナコ'],
  ['陽菜', 'ヒナ'],
  ['美咲', 'ミサキ'],
  ['結衣', 'ユイ'],
  ['恵子', 'ケイコ'],
  ['由美', 'ユミ'],
  ['愛', 'アイ'],
  ['さくら', 'サクラ'],
  ['直子', 'ナオコ'],
  ['葵', 'アオイ'],
];

/** mulberry32: a small, fast, seedable PRNG (deterministic benchmark data). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

export interface SyntheticPatient {
  resourceType: 'Patient';
  identifier: { system: string; value: string }[];
  name: { use: 'usual'; family: string; given: string[]; text: string }[];
  gender: 'male' | 'female';
  birthDate: string;
  telecom: { system: 'phone'; value: string }[];
  address: { postalCode: string; state: string; city: string; line: string[] }[];
}

export const BENCH_MRN = 'urn:bench:mrn';

export function syntheticPatient(n: number, seed = 1): SyntheticPatient {
  const r = rng(seed * 1_000_003 + n);
  const [fk, fkana] = pick(r, FAMILY);
  const male = r() < 0.5;
  const [gk, gkana] = pick(r, male ? GIVEN_M : GIVEN_F);
  const y = 1930 + Math.floor(r() * 90);
  const m = 1 + Math.floor(r() * 12);
  const d = 1 + Math.floor(r() * 28);
  const pad = (x: number, w = 2): string => String(x).padStart(w, '0');
  return {
    resourceType: 'Patient',
    identifier: [{ system: BENCH_MRN, value: `B${pad(n, 8)}` }],
    name: [
      { use: 'usual', family: fk, given: [gk], text: `${fk} ${gk}` },
      { use: 'usual', family: fkana, given: [gkana], text: `${fkana} ${gkana}` },
    ],
    gender: male ? 'male' : 'female',
    birthDate: `${y}-${pad(m)}-${pad(d)}`,
    telecom: [{ system: 'phone', value: `090-${pad(Math.floor(r() * 10000), 4)}-${pad(Math.floor(r() * 10000), 4)}` }],
    address: [
      {
        postalCode: `${pad(Math.floor(r() * 1000), 3)}-${pad(Math.floor(r() * 10000), 4)}`,
        state: '東京都',
        city: '千代田区',
        line: [`${1 + Math.floor(r() * 9)}-${1 + Math.floor(r() * 20)}`],
      },
    ],
  };
}
