/**
 * Purpose of use comes from the token (the client asked for it at the token endpoint, within
 * what its registration allows). A request may narrow it — declare a more specific purpose of
 * the same family (v3-ActReason: HPAYMT → ELIGVER) — never widen or change it: a token for
 * payment does not read for treatment because a header says so.
 */
import { errors } from '../core/outcome.ts';
import { PURPOSES_OF_USE } from '../core/systems.ts';

/** v3-ActReason specializations medid recognizes: a purpose and the purposes it includes. */
const NARROWER: Readonly<Record<string, readonly string[]>> = {
  TREAT: ['ETREAT', 'CAREMGT'],
  HPAYMT: ['CLMATTCH', 'COVERAGE', 'ELIGDTRM', 'ELIGVER'],
  HRESCH: ['CLINTRCH'],
  HOPERAT: ['HSYSADMIN'],
};

/** The purpose a request runs under: the token's, or a narrower one the request declares. */
export function narrowPurpose(tokenPurpose: string, declared: string | undefined): string {
  if (declared === undefined || declared === tokenPurpose) return tokenPurpose;
  if (!PURPOSES_OF_USE.has(declared)) {
    throw errors.badRequest('purpose_of_use is not a recognized v3-ActReason purpose of use', 'invalid-parameter', 'purpose_of_use');
  }
  if (!(NARROWER[tokenPurpose] ?? []).includes(declared)) {
    throw errors.forbidden(
      `purpose_of_use may only narrow the token's purpose ${tokenPurpose}; ask the token endpoint for a token with another purpose`,
    );
  }
  return declared;
}
