// Online eligibility confirmation beyond the insurance card (issue 18): the class of card a
// coverage is confirmed by, and the My Number card path (its certificate and its registration).

CodeSystem: CardClassCS
Id: card-class
Title: "証区分 (card classes)"
Description: "The class of card a coverage is confirmed by, as a CoverageEligibilityResponse says it for every coverage it names (extension card-class) and an insurer states it on a Coverage (class with type coverage-class-type#card-class, the code as value). Codes 01–07 are the online eligibility system's InsuredCardClassification (unconfirmed: read from a client library that mirrors the MHLW interface specification, not from the specification itself); the others are medid's own, for cards that list does not name. A Coverage that states no class is the ordinary card of its kind: 01 for an insured number, medical-aid for 生活保護 (公費負担者番号 法別 12), public-recipient for other public payers."
* ^url = "http://medid.example.org/fhir/CodeSystem/card-class"
* ^status = #active
* ^caseSensitive = true
* ^content = #complete
* #01 "被保険者証（一般）" "An ordinary health insurance card (or its record behind a マイナ保険証)."
* #02 "被保険者証（退職）" "A card of the retirees' medical care system (退職者医療制度)."
* #03 "短期被保険者証（一般）" "A short-term card (国保, e.g. for unpaid premiums): valid for a few months only."
* #04 "短期被保険者証（退職）" "A short-term card under the retirees' system."
* #05 "被保険者資格証明書" "A certificate of insured status in place of a card: the holder pays the whole fee at the desk and claims it back (特別療養費)."
* #06 "特例退職被保険者証" "A card of a specially retired insured person (特例退職被保険者, 特定健康保険組合)."
* #07 "自衛官診療証" "A Self-Defense Forces member's medical card."
* #confirmation-certificate "資格確認書" "The certificate of eligibility issued since 2 December 2024 to persons without a マイナ保険証, in place of the paper card (medid's own code; its online eligibility code is not confirmed)."
* #public-recipient "公費負担医療受給者証" "A public-expense medical care recipient's certificate (公費負担者番号 and 受給者番号), other than public assistance."
* #medical-aid "医療券・調剤券（生活保護）" "Public assistance medical aid (医療扶助): the welfare office's 医療券 or 調剤券 (公費負担者番号 法別 12 and 受給者番号)."

ValueSet: CardClassVS
Id: card-class
Title: "Card classes"
Description: "All codes of the card-class CodeSystem."
* ^url = "http://medid.example.org/fhir/ValueSet/card-class"
* ^status = #active
* include codes from system CardClassCS

CodeSystem: CoverageClassTypeCS
Id: coverage-class-type
Title: "Coverage classifiers medid reads"
Description: "Coverage.class.type codes for classifiers R4's CoverageClassCodes (an extensible binding) has no concept for. JP Core leaves Coverage.type to the kind of insurance (保険種別: 医保, 国保, 公費…), so the class of card is a Coverage.class."
* ^url = "http://medid.example.org/fhir/CodeSystem/coverage-class-type"
* ^status = #active
* ^caseSensitive = true
* ^content = #complete
* #card-class "証区分 (card class)" "The class of card the coverage is (its value: a code of http://medid.example.org/fhir/CodeSystem/card-class)."

Extension: CardClass
Id: card-class
Title: "Card class (証区分)"
Description: "On a CoverageEligibilityResponse's insurance: the class of card the coverage is (一般, 短期, 資格証明書, 公費受給者証, 医療券…)."
* ^context.type = #element
* ^context.expression = "CoverageEligibilityResponse.insurance"
* value[x] only Coding
* valueCoding from CardClassVS (required)

Instance: jpki-user-certificate
InstanceOf: NamingSystem
Usage: #definition
Title: "利用者証明用電子証明書のシリアル番号 (My Number card certificate serial) — input only"
* name = "JpkiUserCertificateInput"
* status = #active
* kind = #identifier
* date = "2026-12-01"
* publisher = "medid"
* responsible = "medid"
* description = "The serial number of a My Number card's user-authentication certificate (利用者証明用電子証明書, issued by J-LIS), in hexadecimal (colons, spaces, case and leading zeros are ignored): what a card reader presents for the My Number card path of CoverageEligibilityRequest/$submit, as an identifier of the request's contained Patient. Input only: medid keeps a keyed MAC of it (registered by Patient/$register-card) and never stores, logs or returns the serial; a resource written with it is refused."
* uniqueId[0].type = #uri
* uniqueId[0].value = "http://medid.example.org/fhir/sid/jpki-user-certificate"
* uniqueId[0].preferred = true

Instance: Patient-register-card
InstanceOf: OperationDefinition
Usage: #definition
* extension[0].url = "http://medid.example.org/fhir/StructureDefinition/operation-scope"
* extension[0].valueString = "Patient.u"
* url = "http://medid.example.org/fhir/OperationDefinition/Patient-register-card"
* version = "0.1.0"
* name = "PatientRegisterCard"
* title = "Register a My Number card for health insurance use (マイナ保険証の利用登録)"
* status = #active
* kind = #operation
* publisher = "medid"
* description = "The authority links a My Number card's user-authentication certificate (利用者証明用電子証明書) to the person, so that CoverageEligibilityRequest/$submit with the certificate confirms their coverages: certificate (its serial, in the jpki-user-certificate system), myNumber (the 12 digits J-LIS associates with the certificate; input only — medid computes its keyed MAC, finds the person registered with it, and keeps neither number: the certificate as a keyed MAC under its own key, the person as their My Number MAC) and notAfter (the certificate's last valid day; a certificate is renewed every five years, and the new one is registered in turn). revoke = true records that J-LIS reported the certificate revoked (失効: a lost card, a move, a death): the card confirms no one afterwards and the certificate is never registered again. A My Number no registered person holds is 422 (rule register-card.unknown-person), a certificate registered to another person or revoked is 409 (register-card.other-person, register-card.revoked), an unknown certificate to revoke 422 (register-card.unknown-certificate); no refusal repeats a number. Registering the same certificate again changes nothing (unchanged), or only its last day (updated). Each change is audited in its own transaction, naming the person. POST only: a My Number never travels in a URL. For the authority only. Needs system/Patient.u."
* affectsState = true
* code = #register-card
* resource[0] = #Patient
* system = false
* type = true
* instance = false
* parameter[0].name = #certificate
* parameter[0].use = #in
* parameter[0].min = 1
* parameter[0].max = "1"
* parameter[0].type = #Identifier
* parameter[0].documentation = "The certificate: system http://medid.example.org/fhir/sid/jpki-user-certificate, value its serial number in hexadecimal."
* parameter[1].name = #myNumber
* parameter[1].use = #in
* parameter[1].min = 0
* parameter[1].max = "1"
* parameter[1].type = #string
* parameter[1].documentation = "The My Number the certificate's issuer associates with it (input only, never stored). Required unless revoke is true; not given with revoke."
* parameter[2].name = #notAfter
* parameter[2].use = #in
* parameter[2].min = 0
* parameter[2].max = "1"
* parameter[2].type = #date
* parameter[2].documentation = "The certificate's last valid day (JST). Required unless revoke is true; not given with revoke."
* parameter[3].name = #revoke
* parameter[3].use = #in
* parameter[3].min = 0
* parameter[3].max = "1"
* parameter[3].type = #boolean
* parameter[3].documentation = "true: the certificate was revoked (失効)."
* parameter[4].name = #outcome
* parameter[4].use = #out
* parameter[4].min = 1
* parameter[4].max = "1"
* parameter[4].type = #code
* parameter[4].documentation = "linked, updated, unchanged or revoked."
* parameter[5].name = #patient
* parameter[5].use = #out
* parameter[5].min = 0
* parameter[5].max = "1"
* parameter[5].type = #Reference
* parameter[5].documentation = "The card's holder."

Instance: example-coverage-public-assistance
InstanceOf: MedidCoverage
Usage: #example
Title: "Public assistance medical aid (医療扶助), confirmed by 公費負担者番号 and 受給者番号"
* identifier[publicPayerMemberId].system = $publicPayerMemberId
* identifier[publicPayerMemberId].value = "12131017::1234567:"
* class[cardClass].type = CoverageClassTypeCS#card-class
* class[cardClass].value = "medical-aid"
* class[cardClass].name = "医療券・調剤券（生活保護）"
* status = #active
* type = urn:oid:1.2.392.100495.20.2.61#8 "公費"
* subscriberId = "1234567"
* beneficiary = Reference(example-patient-public-assistance)
* payor.identifier.system = $publicPayerNumber
* payor.identifier.value = "12131017"
* period.start = "2023-10-01"

Instance: example-coverage-short-term
InstanceOf: MedidCoverage
Usage: #example
Title: "A short-term card (短期被保険者証), valid for a few months"
* extension[insuredPersonSymbol].valueString = "７"
* extension[insuredPersonNumber].valueString = "9100"
* extension[insuredPersonSubNumber].valueString = "00"
* identifier[insuredMemberId].system = $insuredMemberId
* identifier[insuredMemberId].value = "00138156:７:9100:00"
* class[cardClass].type = CoverageClassTypeCS#card-class
* class[cardClass].value = "03"
* class[cardClass].name = "短期被保険者証（一般）"
* status = #active
* beneficiary = Reference(example-patient)
* payor.identifier.system = $insurerNumber
* payor.identifier.value = "00138156"
* period.start = "2026-04-01"
* period.end = "2026-06-30"
