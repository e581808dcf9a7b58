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
 */
import type { Patient } from '@medplum/fhirtypes';
import { ID_SYSTEMS } from '../core/systems.ts';

export type BirthDatePrecision = 'year-month' | 'year';

/** v3-ObservationValue PSEUDED: the resource is pseudonymized. */
const PSEUDED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'PSEUDED', display: 'pseudonymized' };

export function pseudonymSystem(domain: string): string {
  return `${ID_SYSTEMS.pseudonymPrefix}${domain}`;
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

export function pseudonymizedPatient(
  p: Patient,
  o: { domain: string; pseudonym: string; birthDatePrecision?: BirthDatePrecision },
): Patient {
  const birthDate = generalizedBirthDate(p.birthDate, o.birthDatePrecision ?? 'year-month');
  const postalCode = postal3(p);
  const deceased = p.deceasedBoolean === true || p.deceasedDateTime !== undefined;
  return {
    resourceType: 'Patient',
    id: o.pseudonym,
    meta: { security: [PSEUDED] },
    identifier: [{ system: pseudonymSystem(o.domain), value: o.pseudonym }],
    ...(p.gender ? { gender: p.gender } : {}),
    ...(birthDate ? { birthDate } : {}),
    ...(deceased ? { deceasedBoolean: true } : {}),
    ...(postalCode ? { address: [{ postalCode, country: 'JP' }] } : {}),
  };
}
