Invariant: medid-org-1
Description: "A directory organization is identified by its 医療機関コード, 保険者番号 or utilizing-database name."
Expression: "identifier.where(system = 'http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no' or system = 'http://jpfhir.jp/fhir/core/mhlw/IdSystem/InsurerNumber' or system = 'http://medid.example.org/fhir/sid/utilizing-database').exists()"
Severity: #error

Profile: MedidOrganization
Parent: Organization
Id: medid-organization
Title: "medid Organization (directory)"
Description: "An organization in medid's directory (IHE mCSD): a medical institution, pharmacy or care provider by 医療機関コード, an insurer by 保険者番号, or a utilizing database by its name, with the endpoints partners use to reach it."
* obeys medid-org-1
* identifier 1..* MS
* identifier ^slicing.discriminator.type = #value
* identifier ^slicing.discriminator.path = "system"
* identifier ^slicing.rules = #open
* identifier contains medicalInstitutionCode 0..1 MS and insurerNumber 0..1 MS and utilizingDatabase 0..1 MS
* identifier[medicalInstitutionCode].system = $medicalInstitutionCode
* identifier[medicalInstitutionCode].value 1..1
* identifier[insurerNumber].system = $insurerNumber
* identifier[insurerNumber].value 1..1
* identifier[utilizingDatabase].system = $database
* identifier[utilizingDatabase].value 1..1
* active MS
* type 1..* MS
* name 1..1 MS
* address MS
* endpoint MS

Profile: MedidEndpoint
Parent: Endpoint
Id: medid-endpoint
Title: "medid Endpoint (directory)"
Description: "How partners reach a directory organization peer to peer (IHE mCSD): connection type (e.g. hl7-fhir-rest), payload types and address."
* status MS
* connectionType MS
* name MS
* managingOrganization 1..1 MS
* payloadType MS
* address MS
