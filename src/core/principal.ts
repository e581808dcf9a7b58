/**
 * Who is calling: the authenticated client, the organization it acts for, and what its token
 * grants. A kernel type: the audit log, the registry, eligibility and the handlers all read
 * it; only auth/ makes one (from a verified access token).
 */

export type OrgKind = 'medical-institution' | 'insurer' | 'database' | 'regional-network' | 'authority';
export const ORG_KINDS: readonly OrgKind[] = ['medical-institution', 'insurer', 'database', 'regional-network', 'authority'];

export interface Organization {
  kind: OrgKind;
  code: string;
}

export type ScopeContext = 'patient' | 'user' | 'system';
/** SMART v2 permission letters: create, read, update, delete, search. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

/** One granted SMART scope, parsed (auth/scopes.ts parses and formats them). */
export interface Scope {
  context: ScopeContext;
  /** A resource type, or '*'. */
  type: string;
  permissions: ReadonlySet<Permission>;
  /** Fine-grained constraints (`?category=laboratory`): search criteria the data must meet. */
  constraints: readonly [string, string][];
  /** Written in SMART v1 syntax (echoed back in v1 when granted whole). */
  v1: boolean;
  text: string;
}

export interface Principal {
  clientId: string;
  clientName: string | undefined;
  org: Organization | undefined;
  scopes: readonly Scope[];
  /** The granted scope string, as in the token. */
  scope: string;
  /**
   * Why the caller asks (v3-ActReason): the purpose its token was issued for, or one a request
   * narrowed it to. Every disclosure's AuditEvent records it; consent rules may name it.
   */
  purposeOfUse: string;
  /** The access token's jti (goes into AuditEvent.agent.policy). */
  tokenId: string;
  /** Expiry, epoch seconds. */
  expiresAt: number;
  /**
   * A person signed in (SMART standalone patient launch): the registry Patient id the token was
   * issued for. Such a principal has no organization; the access policy's `person` rule reaches
   * this one person only.
   */
  person?: string;
}

/** Who the access policy speaks of: an organization kind, or the person themselves. */
export type CallerKind = OrgKind | 'person';
