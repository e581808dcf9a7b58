/**
 * Thresholds and score curve from labelled `$match` results, offline (`npm run bench:match-refit`):
 * `bench:match` writes every result of every labelled query to
 * bench/results/match-outcomes-<persons>-<seed>.json; this reads one seed's file to choose the
 * `probable` threshold (a sweep in quarter bits) and fit the score's logistic curve (maximum
 * likelihood over every result: is it the person sought?), then reports both on another seed's
 * file — choose on one seed, report on another, without running the queries again. A result's
 * grade is a function of its weight, its hold and its identifier evidence, so the report equals
 * what the server would have answered with those settings.
 *
 *   node bench/match-refit.ts --choose bench/results/match-outcomes-1000000-20261201.json \
 *     --report bench/results/match-outcomes-1000000-20261202.json [--min-recall 0.99]
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { gradeAt, STRONG_GRADES } from './match-outcomes.ts';
import type { MatchOutcome, MatchResult } from './match-outcomes.ts';

type Outcome = MatchOutcome;

const HOUSEHOLD = 'not-registered-household';

/** Certain or probable at `probable` bits (certain is never reached by weight alone below it). */
const strong = (r: MatchResult, probable: number): boolean => STRONG_GRADES.has(gradeAt(r, { certain: Infinity, probable }));

export function measure(outcomes: readonly Outcome[], probable: number) {
  let tp = 0;
  let strongCount = 0;
  let pos = 0;
  let household = 0;
  let householdStrong = 0;
  let top1 = 0;
  for (const o of outcomes) {
    if (o.truth) pos++;
    if (o.truth && o.results[0]?.id === o.truth) top1++;
    if (o.kind === HOUSEHOLD) {
      household++;
      if (o.results.some((r) => strong(r, probable))) householdStrong++;
    }
    for (const r of o.results) {
      if (!strong(r, probable)) continue;
      strongCount++;
      if (r.id === o.truth) tp++;
    }
  }
  const precision = tp / Math.max(1, strongCount);
  const recall = tp / Math.max(1, pos);
  return {
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    top1: top1 / Math.max(1, pos),
    householdProbable: householdStrong / Math.max(1, household),
  };
}

/** Logistic regression of "is the person" on the weight, by Newton's method. */
export function fitCurve(outcomes: readonly Outcome[]): { perBit: number; midpoint: number } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const o of outcomes) {
    for (const r of o.results) {
      if (r.byIdentifier) continue;
      xs.push(r.weight);
      ys.push(r.id === o.truth ? 1 : 0);
    }
  }
  let a = 1;
  let b = -20; // logit = a·w + b
  for (let it = 0; it < 100; it++) {
    let ga = 0;
    let gb = 0;
    let haa = 0;
    let hab = 0;
    let hbb = 0;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      const p = 1 / (1 + Math.exp(-(a * x + b)));
      const e = ys[i] - p;
      const w = p * (1 - p);
      ga += e * x;
      gb += e;
      haa += w * x * x;
      hab += w * x;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (det === 0) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a += da;
    b += db;
    if (Math.abs(da) + Math.abs(db) < 1e-9) break;
  }
  return { perBit: a, midpoint: -b / a };
}

function calibration(outcomes: readonly Outcome[], curve: { perBit: number; midpoint: number }): string[] {
  const edges = [0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0000001];
  const bins = edges.slice(1).map(() => ({ n: 0, s: 0, hit: 0 }));
  for (const o of outcomes) {
    for (const r of o.results) {
      const s = r.byIdentifier ? r.score : 1 / (1 + Math.exp(-curve.perBit * (r.weight - curve.midpoint)));
      const i = edges.findIndex((e, j) => s >= e && s < (edges[j + 1] ?? 2));
      const bin = bins[i];
      if (!bin) continue;
      bin.n++;
      bin.s += s;
      if (r.id === o.truth) bin.hit++;
    }
  }
  return [
    '| score | results | mean score | the person sought |',
    '|---|---:|---:|---:|',
    ...bins.map(
      (b, i) =>
        `| [${edges[i]}, ${Math.min(1, edges[i + 1] ?? 1)}) | ${b.n} | ${(b.s / Math.max(1, b.n)).toFixed(3)} | ${((100 * b.hit) / Math.max(1, b.n)).toFixed(1)} % |`,
    ),
  ];
}

function main(): void {
  const { values } = parseArgs({
    options: { choose: { type: 'string' }, report: { type: 'string' }, 'min-recall': { type: 'string', default: '0.99' } },
  });
  if (!values.choose) throw new Error('usage: node bench/match-refit.ts --choose FILE [--report FILE] [--min-recall 0.99]');
  const read = (f: string): Outcome[] => JSON.parse(fs.readFileSync(f, 'utf8')) as Outcome[];
  const choose = read(values.choose);
  const minRecall = Number(values['min-recall']);
  const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;
  console.log(`choosing on ${values.choose}: probable → recall, precision, F1, household members ≥ probable`);
  let best: { t: number; f1: number } | undefined;
  for (let t = 18; t <= 26; t += 0.25) {
    const m = measure(choose, t);
    console.log(`  ${t.toFixed(2)} → ${pct(m.recall)}, ${pct(m.precision)}, ${m.f1.toFixed(4)}, ${pct(m.householdProbable)}`);
    if (m.recall >= minRecall && (!best || m.f1 > best.f1)) best = { t, f1: m.f1 };
  }
  const curve = fitCurve(choose);
  console.log(
    `chosen: probable ${best?.t ?? 'none meets the recall floor'} (best F1 with recall ≥ ${minRecall}); score curve perBit ${curve.perBit.toFixed(3)}, midpoint ${curve.midpoint.toFixed(2)}`,
  );
  if (!values.report || !best) return;
  const report = read(values.report);
  const m = measure(report, best.t);
  console.log(
    `reported on ${values.report} at probable ${best.t}: recall ${pct(m.recall)}, precision ${pct(m.precision)}, F1 ${m.f1.toFixed(3)}, top-1 ${pct(m.top1)}, household members ≥ probable ${pct(m.householdProbable)}`,
  );
  const byKind = new Map<string, Outcome[]>();
  for (const o of report) byKind.set(o.kind, [...(byKind.get(o.kind) ?? []), o]);
  for (const [kind, os] of byKind) {
    const k = measure(os, best.t);
    console.log(`  ${kind}: recall ${pct(k.recall)}, precision ${pct(k.precision)}`);
  }
  for (const line of calibration(report, curve)) console.log(line);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
