/**
 * The shared corpus of resources written by others (../shared/corpus/ beside the project, or
 * MEDID_CORPUS_DIR): 558 R4 specification examples and 76 JP Core examples. Read from there,
 * never copied into the repository. Where it is absent the suites that need it say so loudly.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';

export interface CorpusExample {
  /** e.g. fhir-r4-examples/patient-example.json */
  name: string;
  text: string;
  resource: Resource;
}

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The corpus folder, or undefined when this machine has none. */
export function corpusDir(): string | undefined {
  const candidates = [process.env['MEDID_CORPUS_DIR'], path.resolve(ROOT, '..', 'shared', 'corpus'), '/work/shared/corpus'];
  return candidates.find((d): d is string => d !== undefined && fs.existsSync(path.join(d, 'fhir-r4-examples')));
}

/** Every example, R4 first, in file-name order. */
export function corpusExamples(): CorpusExample[] {
  const dir = corpusDir();
  if (!dir) return [];
  return ['fhir-r4-examples', 'jp-core-examples'].flatMap((sub) =>
    fs
      .readdirSync(path.join(dir, sub))
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => {
        const text = fs.readFileSync(path.join(dir, sub, f), 'utf8');
        return { name: `${sub}/${f}`, text, resource: JSON.parse(text) as Resource };
      }),
  );
}

/** Says loudly that a suite did not run for want of the corpus (never a silent skip). */
export function warnNoCorpus(suite: string): void {
  console.warn(
    `\n*** ${suite}: NOT RUN — the shared corpus was not found (looked for ../shared/corpus beside the project, /work/shared/corpus, MEDID_CORPUS_DIR) ***\n`,
  );
}

/**
 * JSON with every number replaced by its source text, for comparisons where 20.00 ≠ 20:
 * toEqual on two of these compares decimals by precision, objects regardless of key order.
 */
export function exactJson(text: string): unknown {
  return JSON.parse(text, ((_k: string, v: unknown, ctx?: { source?: string }) =>
    typeof v === 'number' ? `#number ${ctx?.source ?? String(v)}` : v) as never) as unknown;
}
