/** SQL for the pseudonym domains (pseudonym.domain): the closed list the authority keeps. */
import type { Db } from './db.ts';

export interface DomainRow {
  code: string;
  name: string;
  birthDate: 'year-month' | 'year';
}

/** Adds a domain or changes its name and settings; returns whether it was new. */
export async function upsertDomain(db: Db, d: DomainRow): Promise<boolean> {
  const { rows } = await db.query<{ inserted: boolean }>(
    `INSERT INTO pseudonym.domain (code, name, birth_date) VALUES ($1, $2, $3)
     ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, birth_date = EXCLUDED.birth_date
     RETURNING (xmax = 0) AS inserted`,
    [d.code, d.name, d.birthDate],
    'upsert_pseudonym_domain',
  );
  return rows[0]?.inserted ?? false;
}

export async function listDomains(db: Db): Promise<DomainRow[]> {
  const { rows } = await db.query<DomainRow>(
    `SELECT code, name, birth_date AS "birthDate" FROM pseudonym.domain ORDER BY code`,
    [],
    'list_pseudonym_domains',
  );
  return rows;
}
