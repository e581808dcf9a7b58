/**
 * Pseudonym domains: one per utilizing database (NDB, the rare-disease, cancer and care
 * databases, research registries), a closed list kept by the authority (privacy-design.md
 * §4): a typo must fail, not open a new pseudonym space. A `database` client belongs to
 * exactly one — its organization code is the domain's code.
 */
export interface PseudonymDomain {
  /** Lower-case letters, digits and hyphens, starting with a letter (a database client's organization code). */
  code: string;
  name: string;
  /** How much of a birth date the database sees: year-month (the default) or the year only. */
  birthDate?: BirthDatePrecision;
}

export type BirthDatePrecision = 'year-month' | 'year';
export const BIRTH_DATE_PRECISIONS: readonly BirthDatePrecision[] = ['year-month', 'year'];

export class DomainError extends Error {
  override name = 'DomainError';
}

export const DOMAIN_CODE = /^[a-z][a-z0-9-]{1,63}$/;

/** Checks one domain; the message names the field. */
export function checkDomain(d: unknown, where: string): PseudonymDomain {
  const o = (typeof d === 'object' && d !== null ? d : {}) as Record<string, unknown>;
  if (typeof o['code'] !== 'string' || !DOMAIN_CODE.test(o['code']))
    throw new DomainError(`${where}: code must be 2–64 of a-z 0-9 - starting with a letter`);
  if (typeof o['name'] !== 'string' || o['name'].trim() === '') throw new DomainError(`${where}: name is required`);
  const birthDate = o['birthDate'] ?? 'year-month';
  if (!BIRTH_DATE_PRECISIONS.includes(birthDate as BirthDatePrecision))
    throw new DomainError(`${where}: birthDate must be ${BIRTH_DATE_PRECISIONS.join(' or ')}`);
  return { code: o['code'], name: o['name'].trim(), birthDate: birthDate as BirthDatePrecision };
}

/** The contents of MEDID_DOMAINS_FILE: a JSON array of { code, name, birthDate? }, codes unique. */
export function parseDomainsFile(text: string, file: string): PseudonymDomain[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new DomainError(`MEDID_DOMAINS_FILE ${file}: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new DomainError(`MEDID_DOMAINS_FILE ${file}: must be a JSON array of { "code": …, "name": … }`);
  const out = parsed.map((d, i) => checkDomain(d, `MEDID_DOMAINS_FILE[${i}]`));
  const seen = new Set<string>();
  for (const [i, d] of out.entries()) {
    if (seen.has(d.code)) throw new DomainError(`MEDID_DOMAINS_FILE[${i}]: code is listed twice`);
    seen.add(d.code);
  }
  return out;
}
