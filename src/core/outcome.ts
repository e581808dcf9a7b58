/**
 * One error language: OperationOutcomes, thrown as `OperationOutcomeError` and mapped to an HTTP
 * status in one place (`statusOf`). Each issue names the element (`expression`) and the rule
 * broken, and carries a stable medid error code in `details.coding`.
 */
import { getStatus, OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { SYSTEMS } from './systems.ts';

export { OperationOutcomeError };

/** Closed list of medid error codes (see the medid-error CodeSystem in the IG). */
export type MedidErrorCode =
  | 'invalid-json'
  | 'invalid-xml'
  | 'invalid-resource'
  | 'resource-type-mismatch'
  | 'id-mismatch'
  | 'profile-violation'
  | 'unknown-profile'
  | 'business-rule'
  | 'unknown-search-parameter'
  | 'invalid-search-value'
  | 'unsupported-search'
  | 'unknown-resource-type'
  | 'not-found'
  | 'gone'
  | 'version-conflict'
  | 'multiple-matches'
  | 'precondition-required'
  | 'method-not-allowed'
  | 'not-acceptable'
  | 'unsupported-media-type'
  | 'payload-too-large'
  | 'invalid-bundle'
  | 'invalid-reference'
  | 'invalid-parameter'
  | 'invalid-patch'
  | 'patch-failed'
  | 'unauthorized'
  | 'forbidden'
  | 'audit-failed'
  | 'invalid-identifier'
  | 'my-number-conflict'
  | 'duplicate'
  | 'unavailable'
  | 'internal';

type IssueCode = OperationOutcomeIssue['code'];

/** Outcome ids whose HTTP status medplum's getStatus does not know. */
const EXTRA_STATUS: Record<string, number> = {
  'not-acceptable': 406,
  'method-not-allowed': 405,
  unprocessable: 422,
  'payload-too-large': 413,
  'conflict-version': 409,
  'precondition-required': 428,
  'invalid-token': 401,
  unavailable: 503,
};

export interface IssueInput {
  severity?: OperationOutcomeIssue['severity'];
  code: IssueCode;
  medid: MedidErrorCode;
  text: string;
  expression?: string | string[];
}

export function issue(i: IssueInput): OperationOutcomeIssue {
  const out: OperationOutcomeIssue = {
    severity: i.severity ?? 'error',
    code: i.code,
    details: { coding: [{ system: SYSTEMS.medidError, code: i.medid }], text: i.text },
  };
  if (i.expression !== undefined) {
    out.expression = Array.isArray(i.expression) ? i.expression : [i.expression];
  }
  return out;
}

export function outcome(id: string | undefined, issues: OperationOutcomeIssue[]): OperationOutcome {
  return id ? { resourceType: 'OperationOutcome', id, issue: issues } : { resourceType: 'OperationOutcome', issue: issues };
}

function err(id: string | undefined, i: IssueInput): OperationOutcomeError {
  return new OperationOutcomeError(outcome(id, [issue(i)]));
}

/** HTTP status of an outcome: medid's extra ids first, then medplum's mapping. */
export function statusOf(o: OperationOutcome): number {
  return (o.id && EXTRA_STATUS[o.id]) || getStatus(o);
}

export const errors = {
  /** 400: syntax, structure, malformed parameters. */
  badRequest: (text: string, medid: MedidErrorCode = 'invalid-resource', expression?: string | string[], code: IssueCode = 'invalid') =>
    err(undefined, { code, medid, text, expression }),
  /** 422: a business rule or profile constraint. */
  unprocessable: (
    text: string,
    medid: MedidErrorCode = 'business-rule',
    expression?: string | string[],
    code: IssueCode = 'business-rule',
  ) => err('unprocessable', { code, medid, text, expression }),
  notFound: (text = 'Resource not found') => err('not-found', { code: 'not-found', medid: 'not-found', text }),
  gone: (text = 'Resource was deleted') => err('gone', { code: 'deleted', medid: 'gone', text }),
  preconditionFailed: (text: string, medid: MedidErrorCode = 'version-conflict') =>
    err('precondition-failed', { code: 'conflict', medid, text }),
  multipleMatches: (text: string) => err('multiple-matches', { code: 'multiple-matches', medid: 'multiple-matches', text }),
  conflict: (text: string, medid: MedidErrorCode = 'version-conflict') => err('conflict', { code: 'conflict', medid, text }),
  methodNotAllowed: (text: string) => err('method-not-allowed', { code: 'not-supported', medid: 'method-not-allowed', text }),
  notAcceptable: (text: string) => err('not-acceptable', { code: 'not-supported', medid: 'not-acceptable', text }),
  unsupportedMediaType: (text: string) => err('unsupported-media-type', { code: 'not-supported', medid: 'unsupported-media-type', text }),
  payloadTooLarge: (text: string) => err('payload-too-large', { code: 'too-costly', medid: 'payload-too-large', text }),
  unauthorized: (text = 'Authentication required: send an access token (Authorization: Bearer …)') =>
    err('unauthorized', { code: 'login', medid: 'unauthorized', text }),
  /** 401 with error="invalid_token" (RFC 6750): the token is present but unusable. */
  invalidToken: (text: string) => err('invalid-token', { code: 'login', medid: 'unauthorized', text: `Invalid access token: ${text}` }),
  forbidden: (text = 'Insufficient scope') => err('forbidden', { code: 'forbidden', medid: 'forbidden', text }),
  /**
   * 503: the database cannot answer now (down, unreachable, or a conflict that kept failing on
   * retry). The HTTP edge adds Retry-After.
   */
  unavailable: (
    text = 'The database is unavailable. Retry after the Retry-After interval; if this was a write, read before writing again: a commit cut off on its way back may have gone through',
  ) => err('unavailable', { code: 'transient', medid: 'unavailable', text }),
  /**
   * The audit record could not be written, so nothing is disclosed: 500, or 503 (with
   * Retry-After at the edge) when the database could not answer and a retry may succeed.
   */
  auditFailed: (unavailable = false) =>
    err(unavailable ? 'unavailable' : undefined, {
      code: unavailable ? 'transient' : 'exception',
      medid: 'audit-failed',
      text: 'The access could not be recorded in the audit log; nothing was disclosed',
    }),
  /** Several validation issues at once, all reported. */
  invalid: (issues: OperationOutcomeIssue[], status: 400 | 422) =>
    new OperationOutcomeError(outcome(status === 422 ? 'unprocessable' : undefined, issues)),
};

export function isOutcomeError(e: unknown): e is OperationOutcomeError {
  return e instanceof OperationOutcomeError;
}

/** Whether an error is a 503: the database cannot answer now, and a retry may succeed. */
export function isUnavailable(e: unknown): boolean {
  return isOutcomeError(e) && statusOf(e.outcome) === 503;
}

/** An informational outcome, for `Prefer: return=OperationOutcome` and friends. */
export function informational(text: string): OperationOutcome {
  return outcome(undefined, [{ severity: 'information', code: 'informational', details: { text } }]);
}
