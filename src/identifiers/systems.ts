/**
 * Identifier system URIs (identifiers.md §2). medid emits the URL forms JP Core 1.2 defines and
 * reads the older OIDs, rewriting them. The medical ID's and My Number's systems are medid's
 * own, under its canonical base (configurable: a deployment publishes its own IG).
 */
import { MEDID_CANONICAL } from '../fhir/canonical.ts';

const MHLW = 'http://jpfhir.jp/fhir/core/mhlw/IdSystem/';
const OID = 'urn:oid:1.2.392.100495.20';

export const ID_SYSTEMS = {
  /** 被保険者個人識別子 (JP-CLINS): 保険者番号:記号:番号:枝番 */
  insuredMemberId: 'http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID',
  /** 生活保護受給者識別子 (JP-CLINS): 公費負担者番号::受給者番号: */
  publicPayerMemberId: 'http://jpfhir.jp/fhir/clins/Idsystem/JP_PublicPayer_memberID',
  insurerNumber: `${MHLW}InsurerNumber`,
  insuredSymbol: `${MHLW}InsuredPersonSymbol`,
  insuredNumber: `${MHLW}InsuredPersonNumber`,
  insuredSubnumber: `${MHLW}InsuredPersonSubnumber`,
  publicPayerNumber: `${MHLW}PublicPayerNumber`,
  publicRecipientNumber: `${MHLW}PublicInsuredPersonNumber`,
  medicalInstitutionCode: 'http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no',
  /** Facility-local patient ids: this prefix + '1' + the 10-digit 医療機関コード. */
  facilityPatientIdPrefix: `${OID}.3.51.`,
  /** Input only: never stored, logged or returned; kept as a keyed MAC. */
  myNumber: `${MEDID_CANONICAL}/sid/my-number`,
  medicalId: `${MEDID_CANONICAL}/sid/medical-id`,
} as const;

/** Legacy OIDs → the URL medid emits. */
export const LEGACY_SYSTEMS: Readonly<Record<string, string>> = {
  [`${OID}.3.61`]: ID_SYSTEMS.insurerNumber,
  [`${OID}.3.62`]: ID_SYSTEMS.insuredSymbol,
  [`${OID}.3.63`]: ID_SYSTEMS.insuredNumber,
  [`${OID}.3.71`]: ID_SYSTEMS.publicPayerNumber,
  [`${OID}.3.72`]: ID_SYSTEMS.publicRecipientNumber,
};
