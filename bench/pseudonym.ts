/**
 * Pseudonym derivation rate (`npm run bench:pseudonym`): how many domain pseudonyms one core
 * makes per second — AES-256 of the 16-byte person key under the domain's key, then the v1.
 * Crockford base32 text — one at a time and as an export batch (PseudonymService.pseudonymsOf,
 * domain checked once). The issue asks for ≥ 50,000 per second per core. Median of 5 runs.
 *
 *   BENCH_PSEUDONYMS=1000000 npm run bench:pseudonym
 */
import crypto from 'node:crypto';
import { FilePseudonymKeys } from '../src/pseudonym/file-keys.ts';
import { formatPseudonym } from '../src/pseudonym/pseudonym.ts';
import { benchLog, median, writeResults } from './lib.ts';

const N = Number(process.env['BENCH_PSEUDONYMS'] ?? 1_000_000);
const keys = new FilePseudonymKeys(crypto.randomBytes(32));
const kids = Array.from({ length: Math.min(N, 100_000) }, () => crypto.randomBytes(16));

function run(fn: (kid: Buffer) => string): number {
  const t0 = performance.now();
  let sink = 0;
  for (let i = 0; i < N; i++) sink += fn(kids[i % kids.length]).length;
  if (sink === 0) throw new Error('nothing derived');
  return N / ((performance.now() - t0) / 1000);
}

const { lines, log } = benchLog(`medid pseudonym derivation: ${N} per run, one core (Node ${process.version})`);
const derive = (kid: Buffer): string => formatPseudonym(1, keys.prp('ndb', 1, kid));
const inverse = (kid: Buffer): string => keys.prpInverse('ndb', 1, kid).toString('hex');
run(derive); // warm-up
for (const [name, fn] of [
  ['KID → pseudonym (prp + base32)', derive],
  ['pseudonym block → KID (prp⁻¹)', inverse],
] as const) {
  const rates = Array.from({ length: 5 }, () => run(fn));
  log(`${name}: median ${Math.round(median(rates)).toLocaleString('en')} per second (runs ${rates.map((r) => Math.round(r)).join(', ')})`);
}
writeResults('pseudonym', lines);
