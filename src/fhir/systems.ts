/**
 * Named code systems and identifier systems (one module, architecture rule 12).
 */
import { MEDID_CANONICAL } from './canonical.ts';

export const SYSTEMS = {
  // HL7 / DICOM / IHE code systems used by AuditEvents (IHE BALP)
  auditEventType: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
  restfulInteraction: 'http://hl7.org/fhir/restful-interaction',
  dicom: 'http://dicom.nema.org/resources/ontology/DCM',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  actReason: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
  auditEntityType: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
  objectRole: 'http://terminology.hl7.org/CodeSystem/object-role',
  securitySourceType: 'http://terminology.hl7.org/CodeSystem/security-source-type',
  balpEntityType: 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType',
  iheEventType: 'urn:ihe:event-type-code',
  // Organization identifiers (JP Core systems; see identifiers.md)
  medicalInstitutionCode: 'http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no',
  insurerNumber: 'http://jpfhir.jp/fhir/core/mhlw/IdSystem/InsurerNumber',
  // medid's own
  clientId: `${MEDID_CANONICAL}/sid/client-id`,
  utilizingDatabase: `${MEDID_CANONICAL}/sid/utilizing-database`,
  authorityUnit: `${MEDID_CANONICAL}/sid/authority-unit`,
} as const;

export const BALP_PROFILE = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition';

/**
 * Purposes of use a caller may declare (v3-ActReason, PurposeOfUse subset). BTG is in current
 * terminology but not in R4's 2018 copy; medid accepts it for break-the-glass access (R24).
 */
export const PURPOSES_OF_USE: ReadonlySet<string> = new Set([
  'TREAT', 'ETREAT', 'BTG', 'CAREMGT', 'HPAYMT', 'CLMATTCH', 'COVERAGE', 'ELIGDTRM', 'ELIGVER', 'HOPERAT',
  'HSYSADMIN', 'PUBHLTH', 'HRESCH', 'CLINTRCH', 'HLEGAL', 'PATRQT', 'FAMRQT', 'PWATRNY',
]);
