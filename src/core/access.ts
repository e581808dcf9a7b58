/**
 * Which rows a caller may see, as data: what privacy/access-policy.ts decides for a principal
 * and a purpose, and what store/access-sql.ts compiles into every query (a row the caller may
 * not see is never read, never counted). A kernel type: the policy makes it, the store
 * compiles it, the handlers only pass it along.
 */

/** How a person comes to be within an organization's reach (before consent has its say). */
export type Relationship =
  /** a valid eligibility confirmation by the medical institution within the care window */
  | 'care'
  /** an insured or public-payer member id under the insurer's number, current or recently ended */
  | 'membership'
  /** only a permit Consent naming the organization (regional networks) */
  | 'consent'
  /**
   * everyone, unless the person's Consents deny the organization or opt out of the system: a
   * utilizing database, which sees persons only pseudonymized (pseudonym/), never identified
   */
  | 'research'
  /** the person themselves (a person's own sign-in): their own rows only, whatever their Consents say of others */
  | 'self';

export interface PersonReach {
  /** The organization as consent rules and grants name it: `kind:code`. */
  actor: string;
  relationship: Relationship;
  /** The organization's code (医療機関コード, insurer number, network code); for `self`, the person's Patient id. */
  code: string;
  /** The first day a confirmation or a membership end still counts (YYYY-MM-DD). */
  since: string;
  /** Today (YYYY-MM-DD), for consent periods. */
  today: string;
  /** Now (ISO instant), for break-the-glass grants. */
  now: string;
  /** The purpose of use the request runs under (consent rules may name purposes). */
  purpose: string;
  /** The request runs under break-the-glass: the organization's active grants count. */
  breakTheGlass: boolean;
}

export type RowAccess =
  /** The authority: every row (always audited, with the purpose recorded). */
  | { kind: 'all' }
  | {
      kind: 'limited';
      /** Types whose every row is visible (the directory: Organization, Endpoint…). */
      anyTypes: readonly string[];
      /** Types whose rows are visible when every person they concern is within reach. */
      personTypes: readonly string[];
      person: PersonReach;
    };

export const ALL_ROWS: RowAccess = { kind: 'all' };

/**
 * Which audit events a caller reads (the AuditEvent API and the access log's inclusion proofs):
 * undefined — all (the authority); `clientId` — those its own client caused; `patientId` —
 * those about that person (a person signed in). An event outside reach answers as unknown.
 */
export interface AuditReach {
  clientId?: string;
  patientId?: string;
}
