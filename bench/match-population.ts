/**
 * A seeded synthetic Japanese population for the $match evaluation: households sharing a
 * family name, address, postal code and (often) a landline; twins (same birth date) and
 * siblings; surnames drawn with a Zipf-like skew (佐藤 is common, 勅使河原 rare); about 90 % with
 * a My Number. The same seed gives the same people. Also: the desk errors the labelled queries
 * apply (bench/match-eval.ts).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { parseInsurerNumber } from '../src/identifiers/insurer-number.ts';
import { ID_SYSTEMS } from '../src/core/systems.ts';
import { ROOT } from './lib.ts';
import { parseMyNumber } from '../src/identifiers/my-number.ts';
import { rng } from './synthetic.ts';

export const FAMILY: [string, string][] = [
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
  ['斉藤', 'サイトウ'],
  ['福田', 'フクダ'],
  ['太田', 'オオタ'],
  ['西村', 'ニシムラ'],
  ['藤井', 'フジイ'],
  ['金子', 'カネコ'],
  ['岡本', 'オカモト'],
  ['藤原', 'フジワラ'],
  ['中野', 'ナカノ'],
  ['三浦', 'ミウラ'],
  ['原田', 'ハラダ'],
  ['中川', 'ナカガワ'],
  ['松田', 'マツダ'],
  ['竹内', 'タケウチ'],
  ['小野', 'オノ'],
  ['田村', 'タムラ'],
  ['中山', 'ナカヤマ'],
  ['和田', 'ワダ'],
  ['石田', 'イシダ'],
  ['森田', 'モリタ'],
  ['上田', 'ウエダ'],
  ['原', 'ハラ'],
  ['内田', 'ウチダ'],
  ['柴田', 'シバタ'],
  ['酒井', 'サカイ'],
  ['宮崎', 'ミヤザキ'],
  ['横山', 'ヨコヤマ'],
  ['高木', 'タカギ'],
  ['安藤', 'アンドウ'],
  ['宮本', 'ミヤモト'],
  ['大野', 'オオノ'],
  ['小島', 'コジマ'],
  ['工藤', 'クドウ'],
  ['谷口', 'タニグチ'],
  ['今井', 'イマイ'],
  ['高田', 'タカダ'],
  ['増田', 'マスダ'],
  ['丸山', 'マルヤマ'],
  ['杉山', 'スギヤマ'],
  ['村田', 'ムラタ'],
  ['大塚', 'オオツカ'],
  ['新井', 'アライ'],
  ['小山', 'コヤマ'],
  ['平野', 'ヒラノ'],
  ['藤本', 'フジモト'],
  ['河野', 'コウノ'],
  ['上野', 'ウエノ'],
  ['野口', 'ノグチ'],
  ['武田', 'タケダ'],
  ['松井', 'マツイ'],
  ['千葉', 'チバ'],
  ['岩崎', 'イワサキ'],
  ['菅原', 'スガワラ'],
  ['木下', 'キノシタ'],
  ['久保', 'クボ'],
  ['佐野', 'サノ'],
  ['野村', 'ノムラ'],
  ['松尾', 'マツオ'],
  ['渡邊', 'ワタナベ'],
  ['髙橋', 'タカハシ'],
  ['齋藤', 'サイトウ'],
  ['山﨑', 'ヤマザキ'],
  ['濱田', 'ハマダ'],
  ['澤田', 'サワダ'],
  ['廣瀬', 'ヒロセ'],
  ['櫻井', 'サクライ'],
  ['勅使河原', 'テシガワラ'],
  ['小鳥遊', 'タカナシ'],
  ['東海林', 'ショウジ'],
  ['五十嵐', 'イガラシ'],
  ['四月一日', 'ワタヌキ'],
  ['一二三', 'ヒフミ'],
  ['鬼頭', 'キトウ'],
  ['百目鬼', 'ドウメキ'],
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
  ['健太', 'ケンタ'],
  ['直樹', 'ナオキ'],
  ['隆', 'タカシ'],
  ['修', 'オサム'],
  ['大翔', 'ヒロト'],
  ['陽翔', 'ハルト'],
  ['湊', 'ミナト'],
  ['樹', 'イツキ'],
  ['和夫', 'カズオ'],
  ['勇', 'イサム'],
  ['清', 'キヨシ'],
  ['優太', 'ユウタ'],
  ['亮', 'リョウ'],
  ['剛', 'ツヨシ'],
  ['雄一', 'ユウイチ'],
  ['正', 'タダシ'],
  ['進', 'ススム'],
  ['茂', 'シゲル'],
  ['聡', 'サトシ'],
  ['颯太', 'ソウタ'],
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
  ['洋子', 'ヨウコ'],
  ['幸子', 'サチコ'],
  ['和子', 'カズコ'],
  ['久美子', 'クミコ'],
  ['裕子', 'ユウコ'],
  ['陽子', 'ヨウコ'],
  ['真由美', 'マユミ'],
  ['明美', 'アケミ'],
  ['結菜', 'ユイナ'],
  ['凛', 'リン'],
  ['芽依', 'メイ'],
  ['美穂', 'ミホ'],
  ['千尋', 'チヒロ'],
  ['彩', 'アヤ'],
  ['舞', 'マイ'],
  ['瞳', 'ヒトミ'],
  ['智子', 'トモコ'],
  ['香織', 'カオリ'],
  ['優子', 'ユウコ'],
  ['春香', 'ハルカ'],
];
const PLACES: [string, string, string][] = [
  ['東京都', '千代田区丸の内', '100'],
  ['東京都', '世田谷区桜新町', '154'],
  ['大阪府', '大阪市北区梅田', '530'],
  ['愛知県', '名古屋市中区栄', '460'],
  ['北海道', '札幌市中央区大通西', '060'],
  ['福岡県', '福岡市博多区博多駅前', '812'],
  ['宮城県', '仙台市青葉区一番町', '980'],
  ['広島県', '広島市中区紙屋町', '730'],
  ['京都府', '京都市下京区四条通', '600'],
  ['神奈川県', '横浜市西区みなとみらい', '220'],
  ['埼玉県', 'さいたま市浦和区高砂', '330'],
  ['千葉県', '千葉市中央区富士見', '260'],
];

function withCheckDigit(body: string, valid: (s: string) => boolean): string {
  for (let d = 0; d <= 9; d++) if (valid(`${body}${d}`)) return `${body}${d}`;
  throw new Error(`no check digit for ${body}`);
}
export const INSURERS = Array.from({ length: 50 }, (_v, i) =>
  withCheckDigit(`06${String(27000 + i * 53).padStart(5, '0')}`, (s) => parseInsurerNumber(s).ok),
);

export interface Person {
  record: string;
  household: number;
  familyKanji: string;
  familyKana: string;
  givenKanji: string;
  givenKana: string;
  sex: 'male' | 'female';
  birthDate: string;
  prefecture: string;
  city: string;
  block: string;
  postal: string;
  phone: string;
  insurer: string;
  symbol: string;
  number: string;
  branch: string;
  myNumber: string | undefined;
  twinOf?: string;
}

/** Zipf-like pick: index i with weight 1/(i+1)^s. */
function zipf(n: number, s: number): (r: () => number) => number {
  const w = Array.from({ length: n }, (_v, i) => 1 / (i + 1) ** s);
  const total = w.reduce((a, b) => a + b, 0);
  const cum: number[] = [];
  let acc = 0;
  for (const x of w) cum.push((acc += x / total));
  return (r) => {
    const x = r();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

// Name distributions. 'realistic' (the default): the listed surnames take 32 % of persons, as
// Japan's ~115 most common do, with 佐藤 near its real 1.5 %; the rest carry compounds of common
// surname kanji (山+崎, 石+川 …, 864 of them, none above ~0.5 %); given names likewise: the 30
// listed per sex take 20 % (none above ~1.5 %), 300 compounds per sex the rest. 'dense' (BENCH_NAMES=dense, the
// population of the first $match figures): only the listed names, 佐藤 ~8 % — blocks and
// namesakes several times denser than a real registry's, a stress test.
const DENSE = process.env['BENCH_NAMES'] === 'dense';
const SURNAME_HEAD: [string, string][] = [
  ['山', 'ヤマ'],
  ['川', 'カワ'],
  ['中', 'ナカ'],
  ['大', 'オオ'],
  ['小', 'コ'],
  ['高', 'タカ'],
  ['石', 'イシ'],
  ['松', 'マツ'],
  ['竹', 'タケ'],
  ['藤', 'フジ'],
  ['森', 'モリ'],
  ['岡', 'オカ'],
  ['宮', 'ミヤ'],
  ['金', 'カネ'],
  ['長', 'ナガ'],
  ['西', 'ニシ'],
  ['東', 'ヒガシ'],
  ['北', 'キタ'],
  ['南', 'ミナミ'],
  ['上', 'カミ'],
  ['下', 'シモ'],
  ['平', 'ヒラ'],
  ['福', 'フク'],
  ['桜', 'サクラ'],
  ['浜', 'ハマ'],
  ['沢', 'サワ'],
  ['青', 'アオ'],
  ['白', 'シロ'],
  ['黒', 'クロ'],
  ['岩', 'イワ'],
  ['吉', 'ヨシ'],
  ['今', 'イマ'],
  ['古', 'フル'],
  ['新', 'アラ'],
  ['広', 'ヒロ'],
  ['杉', 'スギ'],
];
const SURNAME_TAIL: [string, string][] = [
  ['田', 'ダ'],
  ['川', 'ガワ'],
  ['山', 'ヤマ'],
  ['本', 'モト'],
  ['村', 'ムラ'],
  ['井', 'イ'],
  ['野', 'ノ'],
  ['原', 'ハラ'],
  ['島', 'ジマ'],
  ['崎', 'ザキ'],
  ['沢', 'サワ'],
  ['口', 'グチ'],
  ['木', 'キ'],
  ['谷', 'タニ'],
  ['橋', 'ハシ'],
  ['岡', 'オカ'],
  ['部', 'ベ'],
  ['内', 'ウチ'],
  ['尾', 'オ'],
  ['坂', 'サカ'],
  ['浦', 'ウラ'],
  ['瀬', 'セ'],
  ['辺', 'ベ'],
  ['森', 'モリ'],
];
const GIVEN_M_TAIL = compounds(
  [
    ['健', 'ケン'],
    ['大', 'ダイ'],
    ['翔', 'ショウ'],
    ['拓', 'タク'],
    ['和', 'カズ'],
    ['浩', 'コウ'],
    ['雄', 'ユウ'],
    ['智', 'トモ'],
    ['直', 'ナオ'],
    ['正', 'マサ'],
    ['秀', 'ヒデ'],
    ['康', 'ヤス'],
    ['達', 'タツ'],
    ['信', 'ノブ'],
    ['光', 'ミツ'],
    ['晴', 'ハル'],
    ['俊', 'トシ'],
    ['良', 'リョウ'],
    ['真', 'シン'],
    ['勇', 'ユウ'],
  ],
  [
    ['太', 'タ'],
    ['一', 'イチ'],
    ['介', 'スケ'],
    ['輔', 'スケ'],
    ['斗', 'ト'],
    ['也', 'ヤ'],
    ['樹', 'キ'],
    ['人', 'ト'],
    ['平', 'ヘイ'],
    ['吾', 'ゴ'],
    ['司', 'ジ'],
    ['郎', 'ロウ'],
    ['彦', 'ヒコ'],
    ['志', 'シ'],
    ['典', 'ノリ'],
  ],
  31,
);
const GIVEN_F_TAIL = compounds(
  [
    ['美', 'ミ'],
    ['真', 'マ'],
    ['由', 'ユ'],
    ['千', 'チ'],
    ['香', 'カ'],
    ['理', 'リ'],
    ['佳', 'ヨシ'],
    ['優', 'ユウ'],
    ['幸', 'サチ'],
    ['明', 'アケ'],
    ['奈', 'ナ'],
    ['友', 'トモ'],
    ['早', 'サ'],
    ['亜', 'ア'],
    ['紀', 'キ'],
    ['沙', 'サ'],
    ['麻', 'マ'],
    ['希', 'キ'],
    ['綾', 'アヤ'],
    ['詩', 'ウタ'],
  ],
  [
    ['子', 'コ'],
    ['美', 'ミ'],
    ['香', 'カ'],
    ['奈', 'ナ'],
    ['菜', 'ナ'],
    ['花', 'カ'],
    ['恵', 'エ'],
    ['代', 'ヨ'],
    ['穂', 'ホ'],
    ['里', 'リ'],
    ['絵', 'エ'],
    ['佳', 'カ'],
    ['乃', 'ノ'],
    ['紗', 'サ'],
    ['帆', 'ホ'],
  ],
  37,
);
const FAMILY_TAIL = compounds(SURNAME_HEAD, SURNAME_TAIL, 29);

/** Every first × second part, in a seeded random order (so Zipf rank is not alphabetical). */
function compounds(first: [string, string][], second: [string, string][], seed: number): [string, string][] {
  const all = first.flatMap(([k1, r1]) => second.map(([k2, r2]): [string, string] => [`${k1}${k2}`, `${r1}${r2}`]));
  const r = rng(seed);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all;
}

/** A name from `head` with probability `headShare` (Zipf `sHead`), else from `tail` (a flat Zipf: no tail name above ~1 %). */
function namePicker(
  head: [string, string][],
  sHead: number,
  headShare: number,
  tail: [string, string][],
): (r: () => number) => [string, string] {
  const h = zipf(head.length, sHead);
  const t = zipf(tail.length, 0.3);
  return DENSE ? (r) => head[h(r)] : (r) => (r() < headShare ? head[h(r)] : tail[t(r)]);
}
const familyOf = namePicker(FAMILY, DENSE ? 0.9 : 0.5, 0.32, FAMILY_TAIL);
const givenOf = DENSE
  ? { male: namePicker(GIVEN_M, 0.7, 1, []), female: namePicker(GIVEN_F, 0.7, 1, []) }
  : { male: namePicker(GIVEN_M, 0.3, 0.2, GIVEN_M_TAIL), female: namePicker(GIVEN_F, 0.3, 0.2, GIVEN_F_TAIL) };
const pad = (x: number, w = 2): string => String(x).padStart(w, '0');

function dateOf(r: () => number, fromYear: number, years: number): string {
  const y = fromYear + Math.floor(r() * years);
  const m = 1 + Math.floor(r() * 12);
  const d = 1 + Math.floor(r() * 28);
  return `${y}-${pad(m)}-${pad(d)}`;
}

/** The members of household `h` (1–4 persons; 2 % of households with twins). */
export function household(h: number, seed = 11): Person[] {
  const r = rng(seed * 1_000_003 + h);
  const [familyKanji, familyKana] = familyOf(r);
  const [prefecture, city, post] = PLACES[Math.floor(r() * PLACES.length)];
  const block = `${1 + Math.floor(r() * 5)}-${1 + Math.floor(r() * 30)}-${1 + Math.floor(r() * 20)}`;
  const postal = `${post}${pad(Math.floor(r() * 10000), 4)}`;
  const landline = `0${3 + Math.floor(r() * 6)}-${pad(Math.floor(r() * 10000), 4)}-${pad(Math.floor(r() * 10000), 4)}`;
  const size = 1 + Math.floor(r() * 4);
  const insurer = INSURERS[h % INSURERS.length];
  const members: Person[] = [];
  const twins = r() < 0.02;
  const parentBirth = dateOf(r, 1935, 60);
  for (let k = 0; k < size + (twins ? 1 : 0); k++) {
    const sex: 'male' | 'female' = r() < 0.5 ? 'male' : 'female';
    const [givenKanji, givenKana] = givenOf[sex](r);
    const isTwin = twins && k === size;
    const birthDate = isTwin ? members[size - 1].birthDate : k === 0 ? parentBirth : dateOf(r, Number(parentBirth.slice(0, 4)) + 20, 25);
    const n = h * 8 + k;
    members.push({
      record: `H${h}-${k}`,
      household: h,
      familyKanji,
      familyKana,
      givenKanji,
      givenKana,
      sex,
      birthDate,
      prefecture,
      city,
      block,
      postal,
      phone: r() < 0.6 ? landline : `090-${pad(Math.floor(r() * 10000), 4)}-${pad(Math.floor(r() * 10000), 4)}`,
      insurer,
      symbol: String(h),
      number: String(100_000 + n),
      branch: pad(k),
      myNumber: r() < 0.9 ? withCheckDigit(String(20_000_000_000 + n * 13), (s) => parseMyNumber(s).ok) : undefined,
      ...(isTwin ? { twinOf: members[size - 1]?.record } : {}),
    });
    if (isTwin && members[size - 1]?.givenKana === givenKana) members.pop(); // twins with one name: skip
  }
  return members;
}

/** A person as a `medid import` flat record. */
export function flat(p: Person): Record<string, string> {
  return {
    record: p.record,
    insurer_number: p.insurer,
    symbol: p.symbol,
    number: p.number,
    branch: p.branch,
    my_number: p.myNumber ?? '',
    family_kanji: p.familyKanji,
    given_kanji: p.givenKanji,
    family_kana: p.familyKana,
    given_kana: p.givenKana,
    birth_date: p.birthDate,
    sex: p.sex,
    postal_code: `${p.postal.slice(0, 3)}-${p.postal.slice(3)}`,
    address: `${p.prefecture}${p.city}${p.block}`,
    phone: p.phone,
    valid_from: '2024-04-01',
  };
}

/** Another family name (a marriage), different from `not`. */
export function otherFamily(r: () => number, not: string): [string, string] {
  for (;;) {
    const f = familyOf(r);
    if (f[1] !== not) return f;
  }
}

/**
 * Household members who are not registered (but whose household is): the children of every
 * 25th household and the first adult of another 25th (2 of 25 households with 2+ members), so
 * `$match` meets the parents, children and siblings of registered persons.
 */
export function unregisteredMember(p: Person): boolean {
  const k = Number(p.record.slice(p.record.indexOf('-') + 1));
  return (p.household % 25 === 7 && k > 0) || (p.household % 25 === 13 && k === 0);
}

/** Another given name of the same sex, different from `not` (a sibling who is not registered). */
export function otherGiven(r: () => number, sex: 'male' | 'female', not: string): [string, string] {
  for (;;) {
    const g = givenOf[sex](r);
    if (g[1] !== not) return g;
  }
}

/** The persons that became registered persons, with their Patient ids. */
export function registeredPeople(population: { people: Person[]; registered: Map<string, string> }): { p: Person; id: string }[] {
  return population.people.flatMap((p) => {
    const id = population.registered.get(p.record);
    return id ? [{ p, id }] : [];
  });
}

/**
 * Imports flat records with `medid import` into the database of `env` (a file `<name>.ndjson`
 * in `dir`) and returns the records held for review.
 */
export function importRecords(
  records: readonly Record<string, string>[],
  o: { dir: string; env: NodeJS.ProcessEnv; name: string },
  log: (s: string) => void,
): Set<string> {
  const file = path.join(o.dir, `${o.name}.ndjson`);
  fs.writeFileSync(file, `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
  const t0 = performance.now();
  // Large populations print a progress line a minute on stderr (BENCH_PROGRESS=1).
  const progress = process.env['BENCH_PROGRESS'] === '1' ? ['--progress', '60'] : ['--quiet'];
  const imp = spawnSync(process.execPath, ['src/cli/main.ts', 'import', file, ...progress, '--concurrency', '4'], {
    cwd: ROOT,
    env: o.env,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  log(
    `import ${o.name}: ${imp.stdout.trim().split('\n').at(-1) ?? `exit ${String(imp.status)}`} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
  );
  const errors = `${file}.errors.ndjson`;
  return new Set(
    fs.existsSync(errors)
      ? fs
          .readFileSync(errors, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { record: string }).record)
      : [],
  );
}

/**
 * Writes `persons` persons (household seed `seed`) to an NDJSON file in `dir`, imports them with
 * `medid import` into the database of `env`, and returns them with the Patient id of each one
 * that became a person (a namesake held for review did not).
 */
export async function importPopulation(
  o: {
    persons: number;
    seed: number;
    dir: string;
    env: NodeJS.ProcessEnv;
    databaseUrl: string;
    /** Persons left out of the import (never registered): a household's unregistered members. */
    holdOut?: (p: Person) => boolean;
  },
  log: (s: string) => void,
): Promise<{ people: Person[]; registered: Map<string, string> }> {
  const people: Person[] = [];
  for (let h = 0; people.length < o.persons; h++) people.push(...household(h, o.seed));
  people.length = o.persons;
  const imported = o.holdOut ? people.filter((p) => !o.holdOut?.(p)) : people;
  const held = importRecords(
    imported.map((p) => flat(p)),
    { dir: o.dir, env: o.env, name: 'population' },
    log,
  );
  const client = new pg.Client({ connectionString: o.databaseUrl });
  await client.connect();
  const { rows } = await client.query<{ id: string; code: string }>(
    `SELECT r.id, t.code FROM fhir.sp_token t JOIN fhir.resource r ON r.seq = t.res WHERE t.resource_type = 'Patient' AND t.param = 'identifier' AND t.system = $1`,
    [ID_SYSTEMS.insuredMemberId],
  );
  await client.end();
  const byNumber = new Map(rows.map((r) => [r.code, r.id]));
  const registered = new Map<string, string>();
  for (const p of people) {
    const id = byNumber.get(`${p.insurer}:${p.symbol}:${p.number}:${p.branch}`);
    if (id && !held.has(p.record)) registered.set(p.record, id);
  }
  return { people, registered };
}
