// Examples for the IG. Every one is validated when the IG is built: one that fails, fails the
// build. Ids start with "example-" (the profile build files them under ig/examples/).

Instance: example-patient
InstanceOf: MedidPatient
Usage: #example
Title: "A registered person"
Description: "Kanji and kana names, the current medical ID and a replaced one, a current and a past insured member id, and a hospital's own patient id."
* identifier[medicalId][0].system = $medidId
* identifier[medicalId][0].value = "12345678901230"
* identifier[medicalId][0].use = #usual
* identifier[medicalId][0].period.start = "2026-04-01"
* identifier[medicalId][1].system = $medidId
* identifier[medicalId][1].value = "19876543210986"
* identifier[medicalId][1].use = #old
* identifier[medicalId][1].period.start = "2025-10-01"
* identifier[medicalId][1].period.end = "2026-03-31"
* identifier[insuredMemberId][0].system = $insuredMemberId
* identifier[insuredMemberId][0].value = "06138093:１２－３４:5678:01"
* identifier[insuredMemberId][0].period.start = "2024-04-01"
* identifier[insuredMemberId][1].system = $insuredMemberId
* identifier[insuredMemberId][1].value = "00138156::187:"
* identifier[insuredMemberId][1].use = #old
* identifier[insuredMemberId][1].period.start = "2001-04-01"
* identifier[insuredMemberId][1].period.end = "2024-03-31"
* identifier[+].system = "urn:oid:1.2.392.100495.20.3.51.11312345678"
* identifier[=].value = "00012345"
* name[0].extension[representation].valueCode = #IDE
* name[0].use = #usual
* name[0].text = "山田 太郎"
* name[0].family = "山田"
* name[0].given = "太郎"
* name[1].extension[representation].valueCode = #SYL
* name[1].use = #usual
* name[1].text = "ヤマダ タロウ"
* name[1].family = "ヤマダ"
* name[1].given = "タロウ"
* gender = #male
* birthDate = "1980-04-01"
* address.postalCode = "100-0001"
* address.state = "東京都"
* address.city = "千代田区"
* address.line = "千代田1-1"
* address.country = "JP"

Instance: example-patient-public-assistance
InstanceOf: MedidPatient
Usage: #example
Title: "A public-assistance recipient"
Description: "No insured number: identified by the 生活保護受給者識別子."
* identifier[medicalId].system = $medidId
* identifier[medicalId].value = "15556667778885"
* identifier[publicPayerMemberId].system = $publicPayerMemberId
* identifier[publicPayerMemberId].value = "12131017::1234567:"
* name[0].extension[representation].valueCode = #IDE
* name[0].text = "佐藤 花子"
* name[0].family = "佐藤"
* name[0].given = "花子"
* gender = #female
* birthDate = "1951-12-03"

Instance: example-organization-insurer
InstanceOf: MedidOrganization
Usage: #example
Title: "An insurer"
* identifier[insurerNumber].system = $insurerNumber
* identifier[insurerNumber].value = "06138093"
* active = true
* type = $orgType#pay "Payer"
* name = "例示健康保険組合"

Instance: example-coverage
InstanceOf: MedidCoverage
Usage: #example
Title: "A health insurance card, valid by the day"
* extension[insuredPersonSymbol].valueString = "１２－３４"
* extension[insuredPersonNumber].valueString = "5678"
* extension[insuredPersonSubNumber].valueString = "01"
* identifier[insuredMemberId].system = $insuredMemberId
* identifier[insuredMemberId].value = "06138093:１２－３４:5678:01"
* status = #active
* beneficiary = Reference(example-patient)
* payor = Reference(example-organization-insurer)
* period.start = "2024-04-01"
* subscriberId = "１２－３４:5678"
* dependent = "01"

Instance: example-coverage-ended
InstanceOf: MedidCoverage
Usage: #example
Title: "A coverage that ended when the person started public assistance"
* extension[lossReason].valueCoding = CoverageLossReasonCS#02
* status = #cancelled
* beneficiary = Reference(example-patient-public-assistance)
* payor = Reference(example-organization-insurer)
* period.start = "2015-04-01"
* period.end = "2023-09-30"

Instance: example-organization-hospital
InstanceOf: MedidOrganization
Usage: #example
Title: "A hospital in the directory"
* identifier[medicalInstitutionCode].system = $medicalInstitutionCode
* identifier[medicalInstitutionCode].value = "1312345678"
* active = true
* type = $orgType#prov "Healthcare Provider"
* name = "例示総合病院"
* address.state = "東京都"
* address.city = "千代田区"
* endpoint = Reference(example-endpoint)

Instance: example-endpoint
InstanceOf: MedidEndpoint
Usage: #example
Title: "The hospital's FHIR endpoint"
* status = #active
* connectionType = $connType#hl7-fhir-rest
* name = "例示総合病院 FHIR API"
* managingOrganization = Reference(example-organization-hospital)
* payloadType = http://terminology.hl7.org/CodeSystem/endpoint-payload-type#any
* payloadMimeType = #application/fhir+json
* address = "https://fhir.hospital.example/r4"

Instance: example-consent
InstanceOf: MedidConsent
Usage: #example
Title: "The person hides their record locations from one hospital"
* status = #active
* scope = $consentscope#patient-privacy
* category = $loinc#59284-0 "Patient Consent"
* patient = Reference(example-patient)
* dateTime = "2026-05-01T10:00:00+09:00"
* policy.uri = "http://medid.example.org/fhir/policy/record-location"
* provision.type = #deny
* provision.actor.role = http://terminology.hl7.org/CodeSystem/v3-ParticipationType#IRCP
* provision.actor.reference = Reference(example-organization-hospital)
* provision.purpose = $v3ActReason#TREAT

Instance: example-auditevent
InstanceOf: MedidAuditEvent
Usage: #example
Title: "A hospital's EHR read a patient"
* meta.profile[+] = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead"
* type = $auditType#rest "Restful Operation"
* subtype = $restful#read
* action = #R
* recorded = "2026-11-22T09:00:00.000Z"
* outcome = #0
* purposeOfEvent = $v3ActReason#TREAT
* agent[0].type = $dcm#110152 "Destination Role ID"
* agent[0].who.identifier.system = $clientId
* agent[0].who.identifier.value = "hospital-a-ehr"
* agent[0].altId = "hospital-a-ehr"
* agent[0].requestor = false
* agent[0].network.address = "192.0.2.10"
* agent[0].network.type = #2
* agent[1].type = http://terminology.hl7.org/CodeSystem/v3-ParticipationType#IRCP "information recipient"
* agent[1].who.identifier.system = $medicalInstitutionCode
* agent[1].who.identifier.value = "1312345678"
* agent[1].requestor = true
* agent[1].purposeOfUse = $v3ActReason#TREAT
* agent[2].type = $dcm#110153 "Source Role ID"
* agent[2].who.display = "medid"
* agent[2].requestor = false
* source.observer.display = "medid"
* source.type = http://terminology.hl7.org/CodeSystem/security-source-type#4 "Application Server"
* entity[0].what = Reference(example-patient)
* entity[0].type = http://terminology.hl7.org/CodeSystem/audit-entity-type#1 "Person"
* entity[0].role = http://terminology.hl7.org/CodeSystem/object-role#1 "Patient"
