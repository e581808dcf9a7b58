/**
 * Reads an insurer's file record by record, streaming: NDJSON (one flat record, one Patient, or
 * one Organization, Endpoint or Coverage per line) or CSV with a header row naming FLAT_FIELDS (RFC 4180 quoting; a UTF-8 BOM, CRLF
 * line ends and extra columns are tolerated). Each record keeps its line number for the
 * error report.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import type { Patient, Resource } from '@medplum/fhirtypes';
import { FLAT_FIELDS } from './record.ts';
import type { FlatRecord } from './record.ts';

export type SourceRecord =
  | { line: number; flat: FlatRecord }
  | { line: number; patient: Patient }
  | { line: number; resource: Resource }
  | { line: number; error: string };

/** Directory and coverage resources a file may carry besides registrations (written as they are, upserted by identifier). */
export const DIRECTORY_TYPES = new Set(['Organization', 'Endpoint', 'Coverage']);

export function formatOf(file: string, given?: string): 'csv' | 'ndjson' {
  const f = given ?? (/\.csv$/i.test(file) ? 'csv' : 'ndjson');
  if (f !== 'csv' && f !== 'ndjson') throw new Error(`--format must be csv or ndjson, got "${f}"`);
  return f;
}

/** Splits one CSV line (fields may be quoted; "" inside quotes is a quote). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

export async function* readSource(file: string, format: 'csv' | 'ndjson'): AsyncGenerator<SourceRecord> {
  const rl = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let header: string[] | undefined;
  let n = 0;
  for await (const raw of rl) {
    n++;
    const line = n === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (line.trim() === '') continue;
    if (format === 'csv') {
      if (!header) {
        header = splitCsvLine(line).map((h) => h.trim());
        const unknown = header.filter((h) => !(FLAT_FIELDS as readonly string[]).includes(h));
        if (!header.includes('family_kana'))
          throw new Error(`${file}: the CSV header must name the columns (${FLAT_FIELDS.join(',')}); got ${header.join(',')}`);
        if (unknown.length === header.length) throw new Error(`${file}: no known column in the header`);
        continue;
      }
      const cells = splitCsvLine(line);
      const flat: Record<string, string> = {};
      header.forEach((h, i) => {
        if ((FLAT_FIELDS as readonly string[]).includes(h)) flat[h] = cells[i] ?? '';
      });
      yield { line: n, flat: flat };
      continue;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      yield { line: n, error: `line ${n} is not JSON: ${(e as Error).message}` };
      continue;
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) yield { line: n, error: `line ${n} is not a JSON object` };
    else if ((obj as { resourceType?: unknown }).resourceType === 'Patient') yield { line: n, patient: obj as Patient };
    else if (DIRECTORY_TYPES.has(String((obj as { resourceType?: unknown }).resourceType))) yield { line: n, resource: obj as Resource };
    else {
      const flat: Record<string, string> = {};
      for (const [k, v] of Object.entries(obj))
        if ((FLAT_FIELDS as readonly string[]).includes(k) && v !== null && v !== undefined) flat[k] = String(v);
      yield { line: n, flat: flat };
    }
  }
}

/** Counts lines (for the progress bar's total) without parsing them. */
export async function countLines(file: string): Promise<number> {
  let n = 0;
  let last = 10;
  for await (const chunk of fs.createReadStream(file)) {
    const b = chunk as Buffer;
    for (let i = 0; i < b.length; i++) if (b[i] === 10) n++;
    last = b[b.length - 1] ?? last;
  }
  return last === 10 ? n : n + 1;
}
