/**
 * The domain list as the service reads it: cached in memory, read again when a code is not
 * known yet (another node, or `medid domain add`, may have added it since).
 */
import type { Db } from '../store/db.ts';
import { listDomains, upsertDomain } from '../store/pseudonym-domains.ts';
import type { PseudonymDomain } from './domains.ts';
import { checkDomain } from './domains.ts';

export class PseudonymDomainList {
  private readonly db: Db;
  private known = new Map<string, PseudonymDomain>();

  constructor(db: Db) {
    this.db = db;
  }

  /** Every domain, read now. */
  async list(): Promise<PseudonymDomain[]> {
    const rows = await listDomains(this.db);
    this.known = new Map(rows.map((d) => [d.code, d]));
    return rows;
  }

  /** Adds a domain (or changes its name and settings); returns whether it was new. */
  async add(d: PseudonymDomain): Promise<boolean> {
    const checked = checkDomain(d, 'domain');
    const created = await upsertDomain(this.db, { ...checked, birthDate: checked.birthDate ?? 'year-month' });
    this.known.set(checked.code, checked);
    return created;
  }

  async has(code: string): Promise<boolean> {
    return (await this.get(code)) !== undefined;
  }

  /** The domain and its settings, or undefined when the code is no domain. */
  async get(code: string): Promise<PseudonymDomain | undefined> {
    if (!this.known.has(code)) await this.list();
    return this.known.get(code);
  }
}
