/**
 * The terminology the validator checks locally: the expansions of the value sets that R4 binds
 * with strength `required`, and the value types each core extension allows. Built once by a
 * worker thread into a small cache file (terminology-worker.ts), read on every later start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir, definitionsVersion, loadSlimStructures, runWorker, slimStructuresFile } from './slim-structures.ts';

export interface TerminologyTable {
  /** Value set URL → codes by system, or null where it cannot be expanded locally. */
  valueSets: Record<string, Record<string, string[]> | null>;
  /** Core extension URL → its allowed value[x] types ([] for a complex extension). */
  extensions: Record<string, string[]>;
}

/** Bump when the table's shape or the expansion rules change. */
const TERMINOLOGY_FORMAT = 1;

export class Terminology {
  private readonly sets = new Map<string, ReadonlyMap<string, ReadonlySet<string>> | null>();
  private readonly table: TerminologyTable;

  constructor(table: TerminologyTable) {
    this.table = table;
  }

  /** Codes by system for a required value set; undefined when it is not checked locally. */
  codes(valueSet: string): ReadonlyMap<string, ReadonlySet<string>> | undefined {
    const url = valueSet.split('|')[0];
    let set = this.sets.get(url);
    if (set === undefined) {
      const raw = this.table.valueSets[url];
      set = raw ? new Map(Object.entries(raw).map(([s, codes]) => [s, new Set(codes)])) : null;
      this.sets.set(url, set);
    }
    return set ?? undefined;
  }

  /** The value types a core extension allows ([] complex), or undefined for an extension R4 does not define. */
  extensionValueTypes(url: string): readonly string[] | undefined {
    return this.table.extensions[url];
  }
}

export async function loadTerminology(): Promise<Terminology> {
  const file = path.join(cacheDir(), `r4-terminology-${definitionsVersion()}-t${TERMINOLOGY_FORMAT}.json`);
  if (!fs.existsSync(file)) {
    await loadSlimStructures();
    await runWorker('./terminology-worker.ts', { file, structures: slimStructuresFile() });
  }
  return new Terminology(JSON.parse(fs.readFileSync(file, 'utf8')) as TerminologyTable);
}
