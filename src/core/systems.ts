/**
 * Every URI medid names things with, in one module (architecture rule 12): code systems,
 * identifier systems, extensions, profiles, policies and protocol values — HL7's, IHE's, JP
 * Core's, OAuth's and medid's own (under MEDID_CANONICAL). A URI written anywhere else is a bug
 * (the edge's placeholder base for parsing request paths aside).
 */
import { MEDID_CANONICAL } from './canonical.ts';

/** Code systems: HL7, DICOM and IHE ones used by AuditEvents (IHE BALP) and responses, and medid's own. */
export const SYSTEMS = {
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
  observationValue: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  restfulSecurityService: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
  /** medid's error codes: stable codes clients and tests can switch on (OperationOutcome.issue.details). */
  medidError: `${MEDID_CANONICAL}/CodeSystem/medid-error`,
  /** The rule behind an identifier or record refusal (`insurer-number.check-digit`). */
  medidErrorRule: `${MEDID_CANONICAL}/CodeSystem/medid-error-rule`,
  /** OQS eligibility validity codes 1–5. */
  qualificationValidity: `${MEDID_CANONICAL}/CodeSystem/qualification-validity`,
  coverageLossReason: `${MEDID_CANONICAL}/CodeSystem/coverage-loss-reason`,
  /** 証区分: the class of card a coverage is confirmed by (一般, 短期, 資格証明書, 公費受給者証…). */
  cardClass: `${MEDID_CANONICAL}/CodeSystem/card-class`,
  /** Coverage.class.type codes medid reads (R4's CoverageClassCodes has none for the card class). */
  coverageClassType: `${MEDID_CANONICAL}/CodeSystem/coverage-class-type`,
  /** Work items of the registry: registration-review, registry-mismatch. */
  registryTask: `${MEDID_CANONICAL}/CodeSystem/registry-task`,
  usageMetric: `${MEDID_CANONICAL}/CodeSystem/usage-metric`,
  /** The kind of insurer or payer behind a number (協会けんぽ, 組合健保, 国保…), as a utilizing database sees a Coverage. */
  insurerKind: `${MEDID_CANONICAL}/CodeSystem/insurer-kind`,
  /** The kind of facility behind a 医療機関コード (医科, 歯科, 調剤), as a utilizing database sees a service use. */
  facilityKind: `${MEDID_CANONICAL}/CodeSystem/facility-kind`,
  /** Linkage orders between utilizing databases: the Task code and its input and output types. */
  linkage: `${MEDID_CANONICAL}/CodeSystem/linkage`,
  /** A registered client's client_id (the requester of a linkage order). */
  clientId: `${MEDID_CANONICAL}/sid/client-id`,
  /** Prefectures by JIS X 0401 code (01 北海道 … 47 沖縄県). */
  prefecture: 'urn:iso:std:iso:3166:-2:JP',
} as const;

/**
 * Identifier system URIs (identifiers.md §2). medid emits the URL forms JP Core 1.2 defines and
 * reads the older OIDs, rewriting them. The medical ID's and My Number's systems are medid's
 * own, under its canonical base (configurable: a deployment publishes its own IG).
 */
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
  /** 医療機関コード (JP Core). */
  medicalInstitutionCode: 'http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no',
  /** Facility-local patient ids: this prefix + '1' + the 10-digit 医療機関コード. */
  facilityPatientIdPrefix: `${OID}.3.51.`,
  /** Input only: never stored, logged or returned; kept as a keyed MAC. */
  myNumber: `${MEDID_CANONICAL}/sid/my-number`,
  /**
   * The serial number of a My Number card's 利用者証明用電子証明書 (JPKI user-authentication
   * certificate), as the card reader presents it. Input only, like My Number: kept as a keyed MAC.
   */
  jpkiUserCertificate: `${MEDID_CANONICAL}/sid/jpki-user-certificate`,
  medicalId: `${MEDID_CANONICAL}/sid/medical-id`,
  // medid's own: clients and the organizations they act for
  clientId: `${MEDID_CANONICAL}/sid/client-id`,
  utilizingDatabase: `${MEDID_CANONICAL}/sid/utilizing-database`,
  authorityUnit: `${MEDID_CANONICAL}/sid/authority-unit`,
  /** A regional health-information network (地域医療連携ネットワーク), by the code the authority gives it. */
  regionalNetwork: `${MEDID_CANONICAL}/sid/regional-network`,
  /** A regional network's own patient ids: this prefix + the network's code (its local-ID domain). */
  networkPatientIdPrefix: `${MEDID_CANONICAL}/sid/network-patient-id/`,
  /** A person's pseudonym in one utilizing database's domain: this prefix + the domain's code. */
  pseudonymPrefix: `${MEDID_CANONICAL}/sid/pseudonym/`,
  /** An organization known to medid by its own code (neither an insurer nor a medical institution). */
  organization: `${MEDID_CANONICAL}/sid/organization`,
  // medid's own: keys of its work items and requests
  requestId: `${MEDID_CANONICAL}/sid/request-id`,
  /** The key of a registration held for review (a hash of the record; re-submitting finds the same Task). */
  registrationReview: `${MEDID_CANONICAL}/sid/registration-review`,
  /** The key of a point-of-care mismatch Task (person | insurer | what disagreed). */
  registryMismatch: `${MEDID_CANONICAL}/sid/registry-mismatch`,
} as const;

/** Legacy OIDs → the URL medid emits. */
export const LEGACY_SYSTEMS: Readonly<Record<string, string>> = {
  [`${OID}.3.61`]: ID_SYSTEMS.insurerNumber,
  [`${OID}.3.62`]: ID_SYSTEMS.insuredSymbol,
  [`${OID}.3.63`]: ID_SYSTEMS.insuredNumber,
  [`${OID}.3.71`]: ID_SYSTEMS.publicPayerNumber,
  [`${OID}.3.72`]: ID_SYSTEMS.publicRecipientNumber,
};

/** Extensions medid reads or writes. */
export const EXTENSIONS = {
  /** ISO 21090 name representation: IDE (kanji), SYL (kana), ABC (alphabetic). */
  nameRepresentation: 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation',
  matchGrade: 'http://hl7.org/fhir/StructureDefinition/match-grade',
  /** JP Core Coverage: the card's 記号 / 番号 / 枝番 are this prefix + Symbol, Number, SubNumber. */
  jpCoverageInsuredPerson: 'http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPerson',
  smartOAuthUris: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
  matchExplanation: `${MEDID_CANONICAL}/StructureDefinition/match-explanation`,
  eligibilityValidity: `${MEDID_CANONICAL}/StructureDefinition/eligibility-validity`,
  /** On an eligibility answer's insurance: the class of card the coverage is (証区分). */
  cardClass: `${MEDID_CANONICAL}/StructureDefinition/card-class`,
  coverageLossReason: `${MEDID_CANONICAL}/StructureDefinition/coverage-loss-reason`,
  serviceUseVisits: `${MEDID_CANONICAL}/StructureDefinition/service-use-visits`,
  /** In a pseudonymized export's manifest: the small-cell guard's k and counts. */
  smallCellGuard: `${MEDID_CANONICAL}/StructureDefinition/small-cell-guard`,
  /** On a pseudonymized EpisodeOfCare: the prefecture of the facility, instead of the facility. */
  facilityPrefecture: `${MEDID_CANONICAL}/StructureDefinition/facility-prefecture`,
  /** On an OperationDefinition: the SMART permissions the operation needs ("{type}.r", "Patient.rs"). */
  operationScope: `${MEDID_CANONICAL}/StructureDefinition/operation-scope`,
} as const;

/** The name representation extension (kept under its own name: jp/names.ts and the registry's Patients use it). */
export const NAME_REPRESENTATION = EXTENSIONS.nameRepresentation;

/** The base R4 definitions, by type or code (`${FHIR_CORE.structureDefinition}Patient`). */
export const FHIR_CORE = {
  structureDefinition: 'http://hl7.org/fhir/StructureDefinition/',
  searchParameter: 'http://hl7.org/fhir/SearchParameter/',
} as const;

/** OAuth 2.0 values (RFC 7523). */
export const OAUTH = {
  jwtBearerAssertion: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
} as const;

export const PROFILES = {
  /** The Patient the registry writes. */
  medidPatient: `${MEDID_CANONICAL}/StructureDefinition/medid-patient`,
  /** IHE BALP profiles live under this base (…/IHE.BasicAudit.PatientRead). */
  balpBase: 'https://profiles.ihe.net/ITI/BALP/StructureDefinition',
} as const;

/** Consent policies medid decides by (Consent.policy.uri). */
export const POLICIES = {
  recordLocation: `${MEDID_CANONICAL}/policy/record-location`,
} as const;

/** The canonical URL of one of medid's OperationDefinitions, by its id (`Patient-match`). */
export const operationUrl = (id: string): string => `${MEDID_CANONICAL}/OperationDefinition/${id}`;

/**
 * Purposes of use a caller may declare (v3-ActReason, PurposeOfUse subset). BTG is in current
 * terminology but not in R4's 2018 copy; medid accepts it for break-the-glass access (R24).
 */
export const PURPOSES_OF_USE: ReadonlySet<string> = new Set([
  'TREAT',
  'ETREAT',
  'BTG',
  'CAREMGT',
  'HPAYMT',
  'CLMATTCH',
  'COVERAGE',
  'ELIGDTRM',
  'ELIGVER',
  'HOPERAT',
  'HSYSADMIN',
  'PUBHLTH',
  'HRESCH',
  'CLINTRCH',
  'HLEGAL',
  'PATRQT',
  'FAMRQT',
  'PWATRNY',
]);

/** The purpose of use when a request declares none. */
export const DEFAULT_PURPOSE_OF_USE = 'TREAT';
