/**
 * All identifier kinds by system: canonical systems (legacy OIDs rewritten), value
 * normalization for writes and for searches, and explanations for values that cannot be made
 * valid. The one place that knows which systems medid checks.
 */
import { facilityCodeOf, parseFacilityPatientId } from './facility-patient-id.ts';
import { insuredMemberId } from './insured-member-id.ts';
import { insuredNumber, insuredSubnumber, insuredSymbol } from './insured-parts.ts';
import { insurerNumber } from './insurer-number.ts';
import type { IdentifierKind, IdentifierRules, ParseResult } from './kind.ts';
import { medicalIdKind } from './medical-id.ts';
import { medicalInstitutionCode } from './medical-institution-code.ts';
import { myNumber } from './my-number.ts';
import { publicPayerMemberId } from './public-payer-member-id.ts';
import { publicPayerNumber } from './public-payer-number.ts';
import { publicRecipientNumber } from './public-recipient-number.ts';
import { ID_SYSTEMS, LEGACY_SYSTEMS } from '../core/systems.ts';

export interface IdentifierCatalogOptions {
  rules: IdentifierRules;
  /** The medical ID's system URI (MEDID_MEDICAL_ID_SYSTEM, config.ts). */
  medicalIdSystem: string;
}

export class IdentifierCatalog {
  readonly rules: IdentifierRules;
  readonly medicalIdSystem: string;
  private readonly kinds = new Map<string, IdentifierKind>();

  constructor(o: IdentifierCatalogOptions) {
    this.rules = o.rules;
    this.medicalIdSystem = o.medicalIdSystem;
    for (const k of [
      insurerNumber,
      insuredMemberId,
      insuredSymbol,
      insuredNumber,
      insuredSubnumber,
      publicPayerNumber,
      publicRecipientNumber,
      publicPayerMemberId,
      medicalInstitutionCode,
      myNumber,
      medicalIdKind(this.medicalIdSystem),
    ]) {
      this.kinds.set(k.system, k);
    }
  }

  /** Every kind medid checks (for the IG and NamingSystems). */
  all(): IdentifierKind[] {
    return [...this.kinds.values()];
  }

  /** The system medid emits for `system` (legacy OIDs → URLs); unknown systems unchanged. */
  canonicalSystem(system: string): string {
    return LEGACY_SYSTEMS[system] ?? system;
  }

  kindOf(system: string): IdentifierKind | undefined {
    return this.kinds.get(this.canonicalSystem(system));
  }

  /** Whether `system` is one medid checks (a known kind, or a facility patient id system). */
  checks(system: string): boolean {
    return (
      this.kindOf(system) !== undefined || facilityCodeOf(system) !== undefined || system.startsWith(ID_SYSTEMS.facilityPatientIdPrefix)
    );
  }

  /** Normalizes a value of `system`; unknown systems pass unchanged (trimmed). */
  parse(system: string, value: string): ParseResult {
    const canonical = this.canonicalSystem(system);
    if (canonical.startsWith(ID_SYSTEMS.facilityPatientIdPrefix)) return parseFacilityPatientId(canonical, value);
    const kind = this.kinds.get(canonical);
    return kind ? kind.parse(value, this.rules) : { ok: true, value };
  }

  /**
   * For searches: the canonical form of a searched value, so a full-width or unpadded value
   * finds the stored one. A value that cannot be valid is searched as given (it matches
   * nothing, which is the right answer).
   */
  normalizeForSearch(system: string | undefined, value: string): string {
    if (!system) return value;
    const r = this.parse(system, value);
    return r.ok ? r.value : value;
  }
}
