/**
 * Seeded synthetic insured persons for the registry benchmark and tests: the same seed and
 * index give the same person. Insurer numbers carry valid check digits; about 70 % of persons
 * have a My Number (valid check digit); every person has their own insured member id.
 *
 *   node bench/registry-data.ts 1000000 > persons.ndjson
 */
import { parseInsurerNumber } from '../src/identifiers/insurer-number.ts';
import { parseMyNumber } from '../src/identifiers/my-number.ts';
import { rng } from './synthetic.ts';

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
  ['勅使河原', 'テシガワラ'],
  ['小鳥遊', 'タカナシ'],
  ['五十嵐', 'イガラシ'],
  ['長谷川', 'ハセガワ'],
];
const GIVEN: [string, string, 'male' | 'female'][] = [
  ['太郎', 'タロウ', 'male'],
  ['翔太', 'ショウタ', 'male'],
  ['大輔', 'ダイスケ', 'male'],
  ['健一', 'ケンイチ', 'male'],
  ['蓮', 'レン', 'male'],
  ['悠真', 'ユウマ', 'male'],
  ['誠', 'マコト', 'male'],
  ['浩', 'ヒロシ', 'male'],
  ['花子', 'ハナコ', 'female'],
  ['陽菜', 'ヒナ', 'female'],
  ['美咲', 'ミサキ', 'female'],
  ['結衣', 'ユイ', 'female'],
  ['恵子', 'ケイコ', 'female'],
  ['由美', 'ユミ', 'female'],
  ['さくら', 'サクラ', 'female'],
];

function withCheckDigit(body: string, valid: (s: string) => boolean): string {
  for (let d = 0; d <= 9; d++) if (valid(`${body}${d}`)) return `${body}${d}`;
  throw new Error(`no check digit for ${body}`);
}

/** 200 insurers (健保組合 06…, 国保 as 8-digit 01…/13… style numbers). */
export const INSURERS = Array.from({ length: 200 }, (_v, i) =>
  withCheckDigit(`06${String(13000 + i * 37).padStart(5, '0')}`, (s) => parseInsurerNumber(s).ok),
);

export interface FlatPerson {
  [k: string]: string;
}

export function syntheticPerson(n: number, seed = 7): FlatPerson {
  const r = rng(seed * 7_919 + n);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const [fk, fa] = pick(FAMILY);
  const [gk, ga, sex] = pick(GIVEN);
  const y = 1930 + Math.floor(r() * 94);
  const m = 1 + Math.floor(r() * 12);
  const d = 1 + Math.floor(r() * 28);
  const pad = (x: number, w = 2): string => String(x).padStart(w, '0');
  const insurer = INSURERS[n % INSURERS.length];
  const myNumber = r() < 0.7 ? withCheckDigit(String(10_000_000_000 + n * 7).slice(0, 11), (s) => parseMyNumber(s).ok) : '';
  return {
    record: `P${pad(n, 8)}`,
    insurer_number: insurer,
    symbol: String(1 + (n % 97)),
    number: String(100_000 + n),
    branch: pad(n % 3),
    my_number: myNumber,
    family_kanji: fk,
    given_kanji: gk,
    family_kana: fa,
    given_kana: ga,
    birth_date: `${y}-${pad(m)}-${pad(d)}`,
    sex,
    postal_code: `${pad(100 + (n % 800), 3)}-${pad(n % 10000, 4)}`,
    phone: `090-${pad(n % 10000, 4)}-${pad((n * 13) % 10000, 4)}`,
    valid_from: '2024-04-01',
  };
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const total = Number(process.argv[2] ?? 1000);
  const start = Number(process.argv[3] ?? 0);
  const out: string[] = [];
  for (let i = start; i < start + total; i++) {
    out.push(JSON.stringify(syntheticPerson(i)));
    if (out.length === 10_000) process.stdout.write(`${out.splice(0).join('\n')}\n`);
  }
  if (out.length) process.stdout.write(`${out.join('\n')}\n`);
}
