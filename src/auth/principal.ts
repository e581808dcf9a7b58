/** Who is calling: the authenticated client, its organization, and what its token grants. */
import type { Scope } from './scopes.ts';

export type OrgKind = 'medical-institution' | 'insurer' | 'database' | 'authority';
export const ORG_KINDS: readonly OrgKind[] = ['medical-institution', 'insurer', 'database', 'authority'];

export interface Organization {
  kind: OrgKind;
  code: string;
}

export interface Principal {
  clientId: string;
  clientName: string | undefined;
  org: Organization | undefined;
  scopes: readonly Scope[];
  /** The granted scope string, as in the token. */
  scope: string;
  /** The access token's jti (goes into AuditEvent.agent.policy). */
  tokenId: string;
  /** Expiry, epoch seconds. */
  expiresAt: number;
}
