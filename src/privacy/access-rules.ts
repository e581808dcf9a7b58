/**
 * The per-call rules of operations that the access policy table (access-policy.ts) does not
 * express — one function per rule, each refusing with 403 and saying why: an insurer registers
 * and exports its own members only, record location is for treatment. Which kinds may call an
 * operation at all is the table's (api/access.ts refuses before these run).
 */
import { errors } from '../core/outcome.ts';
import type { Organization } from '../core/principal.ts';

/** Purposes of use record location answers (v3-ActReason). */
const TREATMENT = new Set(['TREAT', 'ETREAT', 'CAREMGT']);

const PAYER_RE = /^(\d{6}|\d{8})$/;

/** The medical ID's lifecycle ($change-medical-id, $record-death, $merge, $unmerge) is the authority's staff's. */
export function assertAuthorityStaff(org: Organization | undefined, what: string): void {
  if (org && org.kind !== 'authority') throw errors.forbidden(`${what} is reserved to the authority's staff`);
}

/** Insured persons are registered by insurers (their own members: registry/registrar.ts) and the authority. */
export function assertMayRegister(org: Organization | undefined): void {
  if (org && org.kind !== 'insurer' && org.kind !== 'authority')
    throw errors.forbidden('Only insurers and the authority register insured persons');
}

/** An insurer registers its own members only (every payer number on the record is its own); the authority anyone. */
export function assertMaySubmitRecord(org: Organization | undefined, payers: readonly string[]): void {
  if (org === undefined || org.kind === 'authority') return;
  assertMayRegister(org);
  if (payers.length === 0 || payers.some((p) => p !== org.code)) {
    throw errors.forbidden(`Insurer ${org.code} may register only its own members (the record names ${payers.join(', ') || 'no insurer'})`);
  }
}

/**
 * The payer whose persons an export lists: an insurer's own number (it may repeat it, never name
 * another), or the one the authority names; undefined when the authority named none.
 */
export function exportPayerOf(org: Organization | undefined, requested: string | undefined): string | undefined {
  if (org?.kind === 'insurer') {
    if (requested !== undefined && requested !== org.code) throw errors.forbidden(`Insurer ${org.code} may export only its own persons`);
    return org.code;
  }
  if (org && org.kind !== 'authority') throw errors.forbidden('Only insurers (and the authority) export persons with their medical IDs');
  return requested;
}

/** Whether `payer` is an insurer or public payer number (6 or 8 digits). */
export const isPayerNumber = (payer: string): boolean => PAYER_RE.test(payer);

/** Record location is answered for treatment, to medical institutions and the authority. */
export function assertMayLocateRecords(org: Organization | undefined, purposeOfUse: string): void {
  if (!TREATMENT.has(purposeOfUse))
    throw errors.forbidden(`Record location is answered for treatment only (purpose of use ${purposeOfUse})`);
  if (org && org.kind !== 'medical-institution' && org.kind !== 'authority')
    throw errors.forbidden('Record location is answered to medical institutions (treatment) only');
}
