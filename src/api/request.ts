/**
 * The plain request and response the FHIR layer works on. Only `http/` knows Express; bundles
 * build these objects for each entry and dispatch them through the same router.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { PendingWrite } from '../audit/audited-writes.ts';
import type { RowAccess } from '../core/access.ts';
import type { Organization, Principal } from '../core/principal.ts';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface FhirRequest {
  method: HttpMethod;
  /** Path below the FHIR base, without the query: `/Patient/123/_history/2`. */
  path: string;
  query: [string, string][];
  body: unknown;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
  requestId: string;
  /** The authenticated caller (absent only for public endpoints). */
  principal?: Principal;
  /**
   * Why the caller asks (v3-ActReason PurposeOfUse): the `purpose_of_use` parameter or the
   * `X-Purpose-Of-Use` header, else TREAT. Set by the HTTP edge; bundle entries inherit it.
   */
  purposeOfUse: string;
  /** The caller's network address, for the audit record. */
  remoteAddress?: string;
  /**
   * The rows this request may read and write: the access policy for its principal and purpose,
   * set by the authorization step before the handler runs. Handlers hand it to every query.
   */
  access?: { read: RowAccess; write: RowAccess; identify: RowAccess };
  /**
   * The route the router matched: its pattern, with `:type` filled in from the closed list of
   * resource types (`/Patient/:id`, `/Patient/$match`). Set by the router, read by the metrics
   * edge as a label: never an id or a query value.
   */
  matched?: string;
  /** Set by the server for bundle entries, never from HTTP. */
  internal?: {
    /** The id a transaction already assigned to this POST (for urn:uuid references). */
    assignedId?: string;
    /** Inside a transaction: entries are not committed yet, nested bundles are refused. */
    inTransaction?: boolean;
  };
}

/** A resource a response discloses, with the patients whose compartment it is in. */
export interface Disclosure {
  resourceType: string;
  id: string;
  versionId?: number;
  patients: readonly string[];
  /** The organization that provided what was resolved (a provider's sealed envelope, R21): its AuditEvents name it too. */
  provider?: Organization;
}

export interface FhirResponse {
  status: number;
  headers?: Record<string, string>;
  /** A resource, or JSON text already serialized (stored resources are sent as stored). */
  body?: Resource | { json: string } | NdjsonBody;
  /** What the response discloses, for the audit log (never sent to the client). */
  disclosed?: Disclosure[];
  /** The query string of a search, for the audit log. */
  query?: string;
  /** The IHE transaction the audit record names (ITI-119 for $match), if any. */
  iheEvent?: string;
  /**
   * Writes that commit with this response's audit record, in its statement, before it leaves
   * (a valid eligibility confirmation's service use, R9): see audit/audited-writes.ts.
   */
  auditedWrites?: PendingWrite[];
}

/** A Bulk Data file: newline-delimited resources, sent as application/fhir+ndjson. */
export interface NdjsonBody {
  ndjson: string;
}

/** Nothing at all: what a request that was never authorized may see. */
export const NO_ROWS: RowAccess = {
  kind: 'limited',
  anyTypes: [],
  personTypes: [],
  person: {
    actor: '',
    relationship: 'consent',
    code: '',
    since: '9999-12-31',
    today: '0001-01-01',
    now: '0001-01-01T00:00:00Z',
    purpose: '',
    breakTheGlass: false,
  },
};

/** The rows the request may read or write (none when it was never authorized: secure by default). */
export function rowsFor(req: FhirRequest, what: 'read' | 'write' | 'identify'): RowAccess {
  return req.access?.[what] ?? NO_ROWS;
}

export function header(req: FhirRequest, name: string): string | undefined {
  return req.headers[name.toLowerCase()];
}

/** Parses the RFC 7240 Prefer header into its preferences (`return`, `handling`, …). */
export function preferences(req: FhirRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header(req, 'prefer') ?? '').split(/[,;]/)) {
    const [k, v] = part.split('=').map((s) => s.trim());
    if (k) out[k.toLowerCase()] = (v ?? '').replace(/^"|"$/g, '');
  }
  return out;
}
