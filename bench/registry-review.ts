/**
 * The registrar's review rule (issue 18 item 5) on the `$match` benchmark population
 * (bench/match-population.ts: households, twins, Zipf surnames, ~90 % with a My Number), run by
 * `npm run bench:registry` (BENCH_REVIEW_PERSONS, default BENCH_PERSONS; 0 skips it):
 *
 * 1. a fresh load of the population with `medid import` — every record a distinct person, so
 *    every review is a needless one (the staff's workload) and any update a false merge;
 * 2. `medid mpi estimate`, as a deployment runs it after its first load;
 * 3. a re-load of a sample of the registered persons (BENCH_RELOAD_SHARE, default 10 %) as
 *    another insurer would send them after a change of insurance: a new insured number, no My
 *    Number, half of them without phone and address, and one desk error each (long vowel,
 *    voicing, a given-name typo, kanji variant, no kanji, one birth-date digit, day and month
 *    swapped, a married name, a move) — every record a
 *    person already registered, so a review is a duplicate caught, a created person a second
 *    medical ID, an update a false merge.
 *
 * Both loads run with MEDID_REGISTRY_REVIEW_BITS at BENCH_REVIEW_FLOOR (default 10) so that every
 * record whose best candidate weighs that much is held and says its weight (the review reason
 * names it); the table then gives each threshold T ≥ the floor the review rate at T — to first
 * order: a record held at the floor but created at T could in turn be a candidate for a later
 * record — and the default is chosen from it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { KANJI_VARIANTS } from '../src/jp/kanji-variants.ts';
import { ROOT } from './lib.ts';
import { flat, importPopulation, INSURERS, otherFamily } from './match-population.ts';
import type { Person } from './match-population.ts';
import { rng } from './synthetic.ts';

const FLOOR = Number(process.env['BENCH_REVIEW_FLOOR'] ?? 10);
const RELOAD_SHARE = Number(process.env['BENCH_RELOAD_SHARE'] ?? 0.1);
const THRESHOLDS = [FLOOR, 12, 15, 18, 21, 25, 30, 35].filter((t, i, a) => t >= FLOOR && a.indexOf(t) === i);

export const RELOAD_KINDS = [
  'clean',
  'long-vowel',
  'voicing',
  'given-typo',
  'kanji-variant',
  'no-kanji',
  'one-digit',
  'day-month',
  'married',
  'moved',
] as const;
type ReloadKind = (typeof RELOAD_KINDS)[number];

const VOICE: Record<string, string> = {
  カ: 'ガ',
  キ: 'ギ',
  ク: 'グ',
  サ: 'ザ',
  シ: 'ジ',
  タ: 'ダ',
  ト: 'ド',
  ハ: 'バ',
  ヒ: 'ビ',
  フ: 'ブ',
};
const UNVOICE = Object.fromEntries(Object.entries(VOICE).map(([a, b]) => [b, a]));
const KANA = 'アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン';
const VARIANT_OF = new Map<string, string>();
for (const [v, c] of KANJI_VARIANTS) if (!VARIANT_OF.has(c)) VARIANT_OF.set(c, v);

/** The record of a registered person as another insurer types it, with one desk error of `kind`. */
export function reloadRecord(p: Person, kind: ReloadKind, n: number, r: () => number): Record<string, string> {
  const f = flat(p);
  const out: Record<string, string> = {
    ...f,
    record: `R${n}-${p.record}`,
    insurer_number: INSURERS[(p.household + 17) % INSURERS.length],
    symbol: String(90_000 + (n % 1000)),
    number: String(500_000 + n),
    branch: '00',
    my_number: '',
  };
  // Half the records come without the household's phone and address (a new insurer, a move):
  // the engine then has the names and the birth date only.
  if (r() < 0.5) {
    out['phone'] = '';
    out['address'] = '';
    out['postal_code'] = '';
  }
  switch (kind) {
    case 'long-vowel':
      out['given_kana'] = f['given_kana'].replace(/([オコゴソゾトドノホボポモヨロョウクグスズツヌフブプムユルュ])ウ/, '$1ー');
      out['family_kana'] = f['family_kana'].replace(/([オコゴソゾトドノホボポモヨロョ])[ウオ]/, '$1ー');
      break;
    case 'voicing': {
      const c = Array.from(f['family_kana']);
      const i = c.findIndex((x) => VOICE[x] ?? UNVOICE[x]);
      if (i >= 0) c[i] = VOICE[c[i]] ?? UNVOICE[c[i]] ?? c[i];
      out['family_kana'] = c.join('');
      break;
    }
    case 'given-typo': {
      const c = Array.from(f['given_kana']);
      c[Math.floor(r() * c.length)] = KANA[Math.floor(r() * KANA.length)];
      out['given_kana'] = c.join('');
      break;
    }
    case 'kanji-variant':
      out['family_kanji'] = Array.from(f['family_kanji'])
        .map((c) => VARIANT_OF.get(c) ?? KANJI_VARIANTS.get(c) ?? c)
        .join('');
      break;
    case 'no-kanji':
      out['family_kanji'] = '';
      out['given_kanji'] = '';
      break;
    case 'one-digit': {
      for (let t = 0; t < 20; t++) {
        const pos = [2, 3, 6, 8, 9][Math.floor(r() * 5)];
        const s = `${p.birthDate.slice(0, pos)}${Math.floor(r() * 10)}${p.birthDate.slice(pos + 1)}`;
        const d = new Date(`${s}T00:00:00Z`);
        if (s !== p.birthDate && !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s && s < '2026-01-01') {
          out['birth_date'] = s;
          break;
        }
      }
      break;
    }
    case 'day-month': {
      const [y, m, d] = p.birthDate.split('-');
      if (Number(d) <= 12 && d !== m) out['birth_date'] = `${y}-${d}-${m}`;
      break;
    }
    case 'married':
      if (p.sex === 'female') [out['family_kanji'], out['family_kana']] = otherFamily(r, p.familyKana);
      break;
    case 'moved':
      out['address'] = `${p.prefecture}${p.city}9-9-9`;
      out['postal_code'] = '';
      out['phone'] = '';
      break;
    default:
      break;
  }
  return out;
}

interface Line {
  record: string;
  status: string;
  task?: string;
  issues?: { rule: string; text: string }[];
}

/** Reviews by record: the engine's best weight (bits), or 'exact' (the kana + birth date + sex rule) / 'number' (a number's facts). */
function reviewsOf(errorsFile: string): Map<string, { bits: number | 'exact' | 'number'; task: string | undefined }> {
  const out = new Map<string, { bits: number | 'exact' | 'number'; task: string | undefined }>();
  if (!fs.existsSync(errorsFile)) return out;
  for (const l of fs.readFileSync(errorsFile, 'utf8').split('\n')) {
    if (!l.trim()) continue;
    const x = JSON.parse(l) as Line;
    if (x.status !== 'review') continue;
    const text = x.issues?.[0]?.text ?? '';
    const m = /best: \w+, ([\d.]+) bits/.exec(text);
    out.set(x.record, { bits: m ? Number(m[1]) : /^Same /.test(text) ? 'exact' : 'number', task: x.task });
  }
  return out;
}

function runImport(file: string, env: NodeJS.ProcessEnv): Record<string, number> {
  const imp = spawnSync(process.execPath, ['src/cli/main.ts', 'import', file, '--quiet', '--concurrency', '4'], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(imp.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
const heldAt = (bits: number | 'exact' | 'number', t: number): boolean => typeof bits !== 'number' || bits >= t;

export async function evaluateReviews(
  o: { persons: number; dir: string; env: NodeJS.ProcessEnv; databaseUrl: string },
  log: (s: string) => void,
): Promise<void> {
  const env = { ...o.env, MEDID_REGISTRY_REVIEW_BITS: String(FLOOR) };
  log(
    `review rule on the $match population: ${o.persons} persons, engine floor ${FLOOR} bits (MEDID_REGISTRY_REVIEW_BITS while measuring)`,
  );
  // 1. The fresh load (importPopulation writes population.ndjson and logs the import's summary).
  const t0 = performance.now();
  const pop = await importPopulation({ persons: o.persons, seed: 11, dir: o.dir, env, databaseUrl: o.databaseUrl }, log);
  const freshSeconds = (performance.now() - t0) / 1000;
  const fresh = reviewsOf(path.join(o.dir, 'population.ndjson.errors.ndjson'));
  const client = new pg.Client({ connectionString: o.databaseUrl });
  await client.connect();
  try {
    const { rows: upd } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM fhir.resource WHERE resource_type = 'Patient' AND version_id > 1`,
    );
    log(
      `fresh load: ${o.persons} records in ${freshSeconds.toFixed(0)} s, ${pop.registered.size} persons created, ${fresh.size} held for review; false merges (a Patient updated by another person's record): ${upd[0]?.n ?? '?'}`,
    );
    // 2. Weights from the registry, as after a deployment's first load.
    const est = spawnSync(process.execPath, ['src/cli/main.ts', 'mpi', 'estimate'], { cwd: ROOT, env, encoding: 'utf8' });
    log(`estimate: ${(est.stdout.trim() || est.stderr.trim()).split('\n').at(-1) ?? ''}`);
    // 3. The re-load with typos.
    const r = rng(20_261_201);
    const registered = pop.people.filter((p) => pop.registered.has(p.record));
    const step = Math.max(1, Math.round(1 / RELOAD_SHARE));
    const sample = registered.filter((_p, i) => i % step === 0);
    const kinds = new Map<string, ReloadKind>();
    const truth = new Map<string, string>();
    const records = sample.map((p, n) => {
      const kind = RELOAD_KINDS[n % RELOAD_KINDS.length];
      const rec = reloadRecord(p, kind, n, r);
      kinds.set(rec['record'], kind);
      truth.set(rec['record'], pop.registered.get(p.record) as string);
      return rec;
    });
    const file = path.join(o.dir, 'reload.ndjson');
    fs.writeFileSync(file, `${records.map((x) => JSON.stringify(x)).join('\n')}\n`);
    const summary = runImport(file, env);
    log(`re-load with typos: ${JSON.stringify(summary)}`);
    const reload = reviewsOf(`${file}.errors.ndjson`);
    // Whether each review offers the person the record is (the Task's candidates).
    const tasks = [...reload.values()].flatMap((x) => (x.task ? [x.task] : []));
    const { rows } = await client.query<{ id: string; content: string }>(
      `SELECT id, content FROM fhir.resource WHERE resource_type = 'Task' AND id = ANY($1::text[])`,
      [tasks],
    );
    const candidatesOf = new Map(
      rows.map((t) => [
        t.id,
        ((JSON.parse(t.content) as { input?: { type: { text?: string }; valueReference?: { reference?: string } }[] }).input ?? [])
          .filter((i) => i.type.text === 'candidate')
          .map((i) => i.valueReference?.reference?.slice(8)),
      ]),
    );
    let offered = 0;
    for (const [rec, x] of reload) if (x.task && candidatesOf.get(x.task)?.includes(truth.get(rec))) offered++;
    log(
      `re-load: ${records.length} records of registered persons (new insured number, no My Number); false merges (updated): ${summary['updated'] ?? 0}; reviews offering the right person: ${offered} of ${reload.size}`,
    );
    log('| threshold (bits) | fresh load: held for review | re-load: held (duplicate caught) | re-load: created (second medical ID) |');
    log('|---:|---:|---:|---:|');
    for (const t of THRESHOLDS) {
      const f = [...fresh.values()].filter((x) => heldAt(x.bits, t)).length;
      const h = [...reload.values()].filter((x) => heldAt(x.bits, t)).length;
      log(
        `| ${t} | ${f} (${pct(f / o.persons)}) | ${h} (${pct(h / records.length)}) | ${records.length - h} (${pct(1 - h / records.length)}) |`,
      );
    }
    const exact = [...fresh.values()].filter((x) => x.bits === 'exact').length;
    log(`fresh-load reviews by the exact kana + birth date + sex rule alone (any threshold): ${exact}`);
    log('re-load by desk error, held for review at 15 / 21 / 25 bits:');
    for (const kind of RELOAD_KINDS) {
      const mine = records.filter((x) => kinds.get(x['record']) === kind);
      const at = (t: number): string => {
        const n = mine.filter((x) => {
          const v = reload.get(x['record']);
          return v !== undefined && heldAt(v.bits, t);
        }).length;
        return pct(n / Math.max(1, mine.length));
      };
      log(`  ${kind}: ${mine.length} records, ${at(15)} / ${at(21)} / ${at(25)}`);
    }
  } finally {
    await client.end();
  }
}
