// Canonical URLs used across medid's FSH. medid's own base is http://medid.example.org/fhir
// (src/core/canonical.ts): the reserved example.org domain, so medid claims no real namespace.
Alias: $medid = http://medid.example.org/fhir
Alias: $medidId = http://medid.example.org/fhir/sid/medical-id
Alias: $myNumber = http://medid.example.org/fhir/sid/my-number
Alias: $clientId = http://medid.example.org/fhir/sid/client-id
Alias: $database = http://medid.example.org/fhir/sid/utilizing-database
Alias: $insuredMemberId = http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID
Alias: $publicPayerMemberId = http://jpfhir.jp/fhir/clins/Idsystem/JP_PublicPayer_memberID
Alias: $insurerNumber = http://jpfhir.jp/fhir/core/mhlw/IdSystem/InsurerNumber
Alias: $insuredSymbol = http://jpfhir.jp/fhir/core/mhlw/IdSystem/InsuredPersonSymbol
Alias: $insuredNumber = http://jpfhir.jp/fhir/core/mhlw/IdSystem/InsuredPersonNumber
Alias: $insuredSubnumber = http://jpfhir.jp/fhir/core/mhlw/IdSystem/InsuredPersonSubnumber
Alias: $publicPayerNumber = http://jpfhir.jp/fhir/core/mhlw/IdSystem/PublicPayerNumber
Alias: $publicRecipientNumber = http://jpfhir.jp/fhir/core/mhlw/IdSystem/PublicInsuredPersonNumber
Alias: $medicalInstitutionCode = http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no
Alias: $jpExt = http://jpfhir.jp/fhir/core/Extension/StructureDefinition
Alias: $representation = http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation
Alias: $consentscope = http://terminology.hl7.org/CodeSystem/consentscope
Alias: $loinc = http://loinc.org
Alias: $v3ActReason = http://terminology.hl7.org/CodeSystem/v3-ActReason
Alias: $dcm = http://dicom.nema.org/resources/ontology/DCM
Alias: $auditType = http://terminology.hl7.org/CodeSystem/audit-event-type
Alias: $restful = http://hl7.org/fhir/restful-interaction
Alias: $connType = http://terminology.hl7.org/CodeSystem/endpoint-connection-type
Alias: $orgType = http://terminology.hl7.org/CodeSystem/organization-type
