/**
 * Facility-local patient ids (院内患者ID): the system is
 * `urn:oid:1.2.392.100495.20.3.51.` + `1` + the facility's 10-digit 医療機関コード (an OID arc
 * cannot start with 0, hence the leading 1); the value is whatever the facility uses, trimmed
 * and width-folded (identifiers.md §5, JP Core Patient).
 */
import { parseMedicalInstitutionCode } from './medical-institution-code.ts';
import { fail, ok } from './kind.ts';
import type { ParseResult } from './kind.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import { nfkc } from '../jp/characters.ts';

/** The 医療機関コード in a facility system URI, or undefined when it is not one. */
export function facilityCodeOf(system: string): string | undefined {
  if (!system.startsWith(ID_SYSTEMS.facilityPatientIdPrefix)) return undefined;
  const arc = system.slice(ID_SYSTEMS.facilityPatientIdPrefix.length);
  return /^1\d{10}$/.test(arc) ? arc.slice(1) : undefined;
}

export function facilitySystem(medicalInstitutionCode: string): string {
  return `${ID_SYSTEMS.facilityPatientIdPrefix}1${medicalInstitutionCode}`;
}

/** Checks the system's embedded code and normalizes the value. */
export function parseFacilityPatientId(system: string, raw: string): ParseResult {
  const arc = system.slice(ID_SYSTEMS.facilityPatientIdPrefix.length);
  if (!/^1\d{10}$/.test(arc)) {
    return fail(
      'facility-patient-id.system',
      `facility patient id system ${system}: must be ${ID_SYSTEMS.facilityPatientIdPrefix}1 followed by the 10-digit medical institution code`,
    );
  }
  const code = parseMedicalInstitutionCode(arc.slice(1));
  if (!code.ok) return fail(code.rule, `facility patient id system ${system}: ${code.message}`);
  const v = nfkc(raw).trim();
  if (v === '' || v.length > 64) return fail('facility-patient-id.value', `facility patient id: must be 1–64 characters`);
  return ok(v);
}
