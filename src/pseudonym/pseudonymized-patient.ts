/**
 * What a utilizing database may see of a person (issue 16 item 3; privacy-design.md §10): a
 * Patient rebuilt from an allow-list, never the registry Patient with parts removed — so an
 * element added to Patients later is withheld until someone decides it may go.
 *   - id and the one identifier: the person's pseudonym in the database's own domain (the
 *     Patient's server id would be one key shared by every database);
 *   - sex; birth date generalized (year-month by default, or year); the postal code's first
 *     3 digits; deceased as a flag only;
 *   - nothing else: no name, telecom, address lines, contacts, links, narrative, extensions,
 *     version or last-updated instant (each a join key or an identifying fact).
 * In two steps — the facts, then the Patient — so an export can keep only the facts of a
 * million persons in memory and generalize them before it writes (small-cells.ts).
 */
import type { Patient } from '@medplum/fhirtypes';
import { ID_SYSTEMS, SYSTEMS } from '../core/systems.ts';
import type { BirthDatePrecision } from './domains.ts';

/** v3-ObservationValue PSEUDED: the resource is pseudonymized. */
export const PSEUDED = { system: SYSTEMS.observationValue, code: 'PSEUDED', display: 'pseudonymized' };

export function pseudonymSystem(domain: string): string {
  return `${ID_SYSTEMS.pseudonymPrefix}${domain}`;
}

/** The facts of a Patient a database may see, before any small-cell generalization. */
export interface ResearchFacts {
  sex?: string;
  /** YYYY-MM or YYYY. */
  birth?: string;
  /** The current postal code's first 3 digits (2 once generalized). */
  postal?: string;
  deceased: boolean;
}

function generalizedBirthDate(date: string | undefined, precision: BirthDatePrecision): string | undefined {
  if (!date || !/^\d{4}/.test(date)) return undefined;
  return precision === 'year' || !/^\d{4}-\d{2}/.test(date) ? date.slice(0, 4) : date.slice(0, 7);
}

function postal3(p: Patient): string | undefined {
  const current = p.address?.find((a) => a.use !== 'old' && a.postalCode) ?? p.address?.find((a) => a.postalCode);
  const digits = current?.postalCode?.replace(/\D/g, '') ?? '';
  return digits.length >= 3 ? digits.slice(0, 3) : undefined;
}

export function researchFactsOf(p: Patient, precision: BirthDatePrecision = 'year-month'): ResearchFacts {
  const birth = generalizedBirthDate(p.birthDate, precision);
  const postal = postal3(p);
  return {
    ...(p.gender ? { sex: p.gender } : {}),
    ...(birth ? { birth } : {}),
    ...(postal ? { postal } : {}),
    deceased: p.deceasedBoolean === true || p.deceasedDateTime !== undefined,
  };
}

export function patientOfFacts(f: ResearchFacts, o: { domain: string; pseudonym: string }): Patient {
  return {
    resourceType: 'Patient',
    id: o.pseudonym,
    meta: { security: [PSEUDED] },
    identifier: [{ system: pseudonymSystem(o.domain), value: o.pseudonym }],
    ...(f.sex ? { gender: f.sex as Patient['gender'] } : {}),
    ...(f.birth ? { birthDate: f.birth } : {}),
    ...(f.deceased ? { deceasedBoolean: true } : {}),
    ...(f.postal ? { address: [{ postalCode: f.postal, country: 'JP' }] } : {}),
  };
}

export function pseudonymizedPatient(
  p: Patient,
  o: { domain: string; pseudonym: string; birthDatePrecision?: BirthDatePrecision },
): Patient {
  return patientOfFacts(researchFactsOf(p, o.birthDatePrecision), o);
}
