/**
 * The client registry: who may ask for tokens, with which keys and scopes, acting for which
 * organization. Registrations come from MEDID_CLIENTS_FILE (upserted at start-up) and from
 * `medid client add|list|disable`. A short cache lets the resource server refuse tokens of a
 * client disabled a moment ago without a database round trip per request.
 */
import fs from 'node:fs';
import type { JWK } from 'jose';
import type { Db } from '../store/db.ts';
import { getClient, listClients, setClientStatus, upsertClient } from '../store/clients.ts';
import type { ClientRow } from '../store/clients.ts';
import { ORG_KINDS } from '../core/principal.ts';
import { PURPOSES_OF_USE } from '../core/systems.ts';
import type { OrgKind, Organization } from '../core/principal.ts';
import { encryptionKeyProblem } from './client-keys.ts';
import { parseScope } from './scopes.ts';

export interface ClientRegistration {
  client_id: string;
  name: string;
  jwks?: { keys: JWK[] };
  jwks_uri?: string;
  /** Space-separated SMART scopes the client may be granted. */
  scope: string;
  organization: Organization;
  /**
   * Purposes of use (v3-ActReason) the client may ask a token for; the first is its default.
   * Absent: every purpose its organization kind may use, except break-the-glass (BTG), which a
   * registration must list.
   */
  purposes?: string[];
  status?: 'active' | 'disabled';
}

export interface Client {
  clientId: string;
  name: string;
  jwks: { keys: JWK[] } | undefined;
  jwksUri: string | undefined;
  scope: string;
  org: Organization;
  /** As registered (empty: the kind's defaults). */
  purposes: string[];
  active: boolean;
}

export class RegistrationError extends Error {
  override name = 'RegistrationError';
}

const ORG_CODE: Record<OrgKind, RegExp> = {
  // 医療機関コード: 10 digits (prefecture 2, table 1, area 2, number 4, check 1)
  'medical-institution': /^\d{10}$/,
  // 保険者番号: 8 digits, or 6 for municipal 国保
  insurer: /^(\d{6}|\d{8})$/,
  database: /^[a-z][a-z0-9-]{1,63}$/,
  'regional-network': /^[a-z][a-z0-9-]{1,63}$/,
  authority: /^[A-Za-z0-9-]{1,64}$/,
};

/** Checks a registration and returns the row to store; the message names the bad field. `kindPurposes`: what each kind may use. */
export function checkRegistration(
  r: ClientRegistration,
  where = 'client',
  kindPurposes: (kind: OrgKind) => readonly string[] = () => [...PURPOSES_OF_USE],
): ClientRow {
  const bad = (field: string, why: string): never => {
    throw new RegistrationError(`${where}: ${field} ${why}`);
  };
  if (typeof r.client_id !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(r.client_id))
    bad('client_id', 'must be 1–128 of A-Z a-z 0-9 . _ : -');
  if (typeof r.name !== 'string' || r.name.trim() === '') bad('name', 'is required');
  if (!r.jwks === !r.jwks_uri) bad('jwks/jwks_uri', 'exactly one of the two is required');
  if (r.jwks && (!Array.isArray(r.jwks.keys) || r.jwks.keys.length === 0 || r.jwks.keys.some((k) => 'd' in k))) {
    bad('jwks', 'must be a JWKS of public keys (no private parts)');
  }
  // An encryption key (use "enc") receives answers only the client can read ($pseudonymize); it never verifies a signature.
  for (const k of r.jwks?.keys ?? []) {
    const problem = k.use === 'enc' ? encryptionKeyProblem(k) : undefined;
    if (problem) bad('jwks', problem);
  }
  if (r.jwks_uri) {
    let u: URL | undefined;
    try {
      u = new URL(r.jwks_uri);
    } catch {
      bad('jwks_uri', 'must be an absolute URL');
    }
    if (u && u.protocol !== 'https:' && !(u.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname))) {
      bad('jwks_uri', 'must use https (http only on localhost)');
    }
  }
  const scopes = (r.scope ?? '').split(/\s+/).filter(Boolean);
  if (scopes.length === 0) bad('scope', 'must list at least one scope');
  const wrong = scopes.find((s) => !parseScope(s));
  if (wrong) bad('scope', `"${wrong}" is not a SMART resource scope`);
  const constrainedWrite = scopes.find((s) => {
    const p = parseScope(s);
    return p !== undefined && p.constraints.length > 0 && ['c', 'u', 'd'].some((x) => p.permissions.has(x as never));
  });
  if (constrainedWrite) bad('scope', `"${constrainedWrite}": constraints (?param=value) are supported on read and search (r, s) only`);
  const org = r.organization as Organization | undefined;
  if (!org || !ORG_KINDS.includes(org.kind)) bad('organization.kind', `must be one of ${ORG_KINDS.join(', ')}`);
  const kind = (org as Organization).kind;
  if (!ORG_CODE[kind].test((org as Organization).code)) bad('organization.code', `is not a valid code for ${kind}`);
  const status = r.status ?? 'active';
  if (status !== 'active' && status !== 'disabled') bad('status', 'must be active or disabled');
  const purposes = r.purposes ?? [];
  if (!Array.isArray(purposes)) bad('purposes', 'must be an array of v3-ActReason codes');
  const allowed = kindPurposes(kind);
  const wrongPurpose = purposes.find((x) => typeof x !== 'string' || !allowed.includes(x));
  if (wrongPurpose !== undefined) bad('purposes', `lists a purpose that ${kind} clients may not use (allowed: ${allowed.join(', ')})`);
  return {
    clientId: r.client_id,
    name: r.name,
    jwks: r.jwks ? JSON.stringify(r.jwks) : null,
    jwksUri: r.jwks_uri ?? null,
    scope: scopes.join(' '),
    orgKind: kind,
    orgCode: (org as Organization).code,
    purposes,
    status,
  };
}

function toClient(row: ClientRow): Client {
  return {
    clientId: row.clientId,
    name: row.name,
    jwks: row.jwks ? (JSON.parse(row.jwks) as { keys: JWK[] }) : undefined,
    jwksUri: row.jwksUri ?? undefined,
    scope: row.scope,
    org: { kind: row.orgKind as OrgKind, code: row.orgCode },
    purposes: row.purposes,
    active: row.status === 'active',
  };
}

/** Reads and checks MEDID_CLIENTS_FILE (a JSON array of registrations). */
export function readClientsFile(file: string, kindPurposes?: (kind: OrgKind) => readonly string[]): ClientRow[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new RegistrationError(`MEDID_CLIENTS_FILE ${file}: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new RegistrationError(`MEDID_CLIENTS_FILE ${file}: must be a JSON array of client registrations`);
  return (parsed as ClientRegistration[]).map((r, i) => checkRegistration(r, `MEDID_CLIENTS_FILE[${i}]`, kindPurposes));
}

const CACHE_MS = 5_000;

export class ClientDirectory {
  private readonly db: Db;
  private readonly isDomain: (code: string) => Promise<boolean>;
  private readonly cache = new Map<string, { client: Client | undefined; at: number }>();

  /** `isDomain`: whether a code is a pseudonym domain (the pseudonymization service's list, passed in). */
  constructor(db: Db, isDomain: (code: string) => Promise<boolean>) {
    this.db = db;
    this.isDomain = isDomain;
  }

  /** Stores a checked registration; a database client must belong to a pseudonym domain (its organization code). */
  async register(row: ClientRow): Promise<void> {
    if (row.orgKind === 'database' && !(await this.isDomain(row.orgCode))) {
      throw new RegistrationError(
        `${row.clientId}: organization.code of a database client must be a pseudonym domain (list them with medid domain list; the authority adds one with medid domain add)`,
      );
    }
    await upsertClient(this.db, row);
    this.cache.delete(row.clientId);
  }

  async get(clientId: string): Promise<Client | undefined> {
    const row = await getClient(this.db, clientId);
    const client = row ? toClient(row) : undefined;
    this.cache.set(clientId, { client, at: Date.now() });
    return client;
  }

  /** Like get, but answers from a cache at most a few seconds old (per-request checks). */
  async getCached(clientId: string): Promise<Client | undefined> {
    const hit = this.cache.get(clientId);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.client;
    if (this.cache.size > 10_000) this.cache.clear();
    return this.get(clientId);
  }

  /** Active database clients whose organization code is no pseudonym domain (registered before domains existed). */
  async withoutDomain(): Promise<Client[]> {
    const out: Client[] = [];
    for (const c of await this.list()) if (c.active && c.org.kind === 'database' && !(await this.isDomain(c.org.code))) out.push(c);
    return out;
  }

  async list(): Promise<Client[]> {
    return (await listClients(this.db)).map(toClient);
  }

  /** Enables or disables; a database client is enabled only while its domain is on the list. */
  async setActive(clientId: string, active: boolean): Promise<boolean> {
    const current = active ? await this.get(clientId) : undefined;
    if (current?.org.kind === 'database' && !(await this.isDomain(current.org.code))) {
      throw new RegistrationError(`${clientId}: organization.code of a database client must be a pseudonym domain (medid domain add)`);
    }
    const ok = await setClientStatus(this.db, clientId, active ? 'active' : 'disabled');
    this.cache.delete(clientId);
    return ok;
  }
}
