/**
 * The numbers a stored Coverage is known by: its insured member id (被保険者個人識別子) or its
 * public-payer member id (生活保護受給者識別子, 公費負担者番号::受給者番号:), and the payer behind
 * it — what the card path says of each coverage it finds, and what decides its card class.
 */
import type { Coverage } from '@medplum/fhirtypes';
import { ID_SYSTEMS } from '../core/systems.ts';

export interface CoverageNumbers {
  /** The member id's system: insured or public-payer. */
  memberSystem: string;
  memberId: string;
  /** The payer's system (保険者番号 or 公費負担者番号) and its 8 digits. */
  payerSystem: string;
  payer: string;
}

/** The member id a Coverage carries (insured first), with its payer; undefined when it has neither. */
export function coverageNumbers(c: Coverage): CoverageNumbers | undefined {
  for (const [memberSystem, payerSystem] of [
    [ID_SYSTEMS.insuredMemberId, ID_SYSTEMS.insurerNumber],
    [ID_SYSTEMS.publicPayerMemberId, ID_SYSTEMS.publicPayerNumber],
  ] as const) {
    const memberId = c.identifier?.find((i) => i.system === memberSystem)?.value;
    // Stored values are canonical (normalized on write): the payer is the first 8 characters.
    if (memberId) return { memberSystem, memberId, payerSystem, payer: memberId.slice(0, 8) };
  }
  return undefined;
}
