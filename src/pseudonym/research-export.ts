/**
 * A utilizing database's Bulk export (issue 16 items 3–4): every person within its reach as
 * its own domain sees them — Patient and Coverage rebuilt from allow-lists under its
 * pseudonyms — after the small-cell guard over the quasi-identifiers released (birth
 * year-month, sex, postal 3 digits, insurer kind).
 *
 * The guard needs every person's cell before the first line is written, so the export reads
 * once and keeps, per person, only a cell number and two short strings (~110 bytes), and per
 * cell one integer; then it writes the files. At national scale the same job runs
 * per birth year — cells never span two birth years, so each year's release is k-anonymous on
 * its own and memory stays per year (not built: one domain's export of 1,000,000 persons fits).
 */
import type { Patient } from '@medplum/fhirtypes';
import type { PseudonymDomain } from './domains.ts';
import type { InsurerKind } from '../identifiers/insurer-kind.ts';
import { currentInsurerKind, pseudonymizedCoverage } from './pseudonymized-coverage.ts';
import type { HeldNumber } from './pseudonymized-coverage.ts';
import { patientOfFacts, researchFactsOf } from './pseudonymized-patient.ts';
import type { PseudonymService } from './service.ts';
import { CellCounter, planSmallCells } from './small-cells.ts';

/** A person as the registry hands it over (registry/research-source.ts). */
export interface ResearchPerson {
  patientId: string;
  kid: Buffer;
  /** The Patient JSON as stored. */
  content: string;
  numbers: readonly HeldNumber[];
}

export type ResearchType = 'Patient' | 'Coverage';
export const RESEARCH_TYPES: readonly ResearchType[] = ['Patient', 'Coverage'];

/** Where the files go (the registry's export job). */
export interface ResearchSink {
  file(type: ResearchType, lines: readonly string[], patientIds: readonly string[]): Promise<void>;
}

export interface ResearchExportOptions {
  domain: PseudonymDomain;
  /** The small-cell guard's k (MEDID_EXPORT_K). */
  k: number;
  types: readonly ResearchType[];
  /** YYYY-MM-DD: which number is in force. */
  today: string;
  linesPerFile: number;
}

/** What the manifest reports. */
export interface ResearchExportSummary {
  k: number;
  persons: number;
  released: number;
  generalized: number;
  suppressed: number;
  /** Released at each level of the guard's ladder (0: as they are; small-cells.ts). */
  releasedByLevel: readonly number[];
  quasiIdentifiers: readonly string[];
}

export const QUASI_IDENTIFIERS = ['birthDate (year-month, or year)', 'gender', 'postalCode (3 digits)', 'insurer kind', 'deceased'];

export async function writeResearchExport(
  pages: AsyncIterable<readonly ResearchPerson[]> | Iterable<readonly ResearchPerson[]>,
  pseudonyms: PseudonymService,
  o: ResearchExportOptions,
  sink: ResearchSink,
): Promise<ResearchExportSummary> {
  const precision = o.domain.birthDate ?? 'year-month';
  const counter = new CellCounter();
  const cellOfPerson: number[] = [];
  const ids: string[] = [];
  const names: string[] = [];
  for await (const page of pages) {
    const ps = await pseudonyms.pseudonymsOf(
      page.map((p) => p.kid),
      o.domain.code,
    );
    page.forEach((person, i) => {
      const f = researchFactsOf(JSON.parse(person.content) as Patient, precision);
      const insurerKind = currentInsurerKind(person.numbers, o.today);
      cellOfPerson.push(
        counter.add({
          ...(f.birth ? { birth: f.birth } : {}),
          ...(f.sex ? { sex: f.sex } : {}),
          ...(f.postal ? { postal: f.postal } : {}),
          ...(insurerKind ? { insurerKind } : {}),
          ...(f.deceased ? { deceased: true as const } : {}),
        }),
      );
      ids.push(person.patientId);
      names.push(ps[i]);
    });
  }
  const plan = planSmallCells(counter.codec, counter.codes, counter.counts, o.k);

  for (const type of o.types) {
    let lines: string[] = [];
    let patients: string[] = [];
    const flush = async (): Promise<void> => {
      if (lines.length === 0) return;
      await sink.file(type, lines, patients);
      lines = [];
      patients = [];
    };
    for (let n = 0; n < ids.length; n++) {
      const c = cellOfPerson[n];
      const level = plan.levels[c];
      if (level < 0) continue;
      // What is released is decoded from the cell: exactly the tuple the guard counted.
      const qi = counter.codec.decode(counter.codec.atLevel(counter.codes[c], level));
      const pseudonym = names[n];
      if (type === 'Patient') {
        const facts = {
          ...(qi.sex ? { sex: qi.sex } : {}),
          ...(qi.birth ? { birth: qi.birth } : {}),
          ...(qi.postal ? { postal: qi.postal } : {}),
        };
        lines.push(JSON.stringify(patientOfFacts({ ...facts, deceased: qi.deceased === true }, { domain: o.domain.code, pseudonym })));
      } else {
        // The Coverage is the insurer kind in force, a quasi-identifier the guard already checked.
        if (!qi.insurerKind) continue;
        lines.push(JSON.stringify(pseudonymizedCoverage(qi.insurerKind as InsurerKind, pseudonym)));
      }
      patients.push(ids[n]);
      if (lines.length >= o.linesPerFile) await flush();
    }
    await flush();
  }
  return {
    k: o.k,
    persons: ids.length,
    released: ids.length - plan.suppressed,
    generalized: plan.generalized,
    suppressed: plan.suppressed,
    releasedByLevel: plan.byLevel,
    quasiIdentifiers: QUASI_IDENTIFIERS,
  };
}
