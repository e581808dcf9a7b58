Invariant: medid-pat-1
Description: "My Number is never a Patient identifier: medid accepts it as input only and keeps a keyed MAC."
Expression: "identifier.where(system = 'http://medid.example.org/fhir/sid/my-number').empty()"
Severity: #error

Invariant: medid-pat-2
Description: "A name in kana (representation SYL) is written in full-width katakana, a space allowed between parts."
Expression: "name.where(extension('http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation').value = 'SYL').all(family.exists() implies family.matches('^[ァ-ヺー・　 ]+$'))"
Severity: #error

Invariant: medid-pat-3
Description: "At most one medical ID is current; replaced ones keep use = old."
Expression: "identifier.where(system = 'http://medid.example.org/fhir/sid/medical-id' and (use.empty() or use != 'old')).count() <= 1"
Severity: #error

Invariant: medid-pat-4
Description: "name.text separates family and given name with one half-width space, never a full-width one (JP-CLINS)."
Expression: "name.text.all($this.contains('　').not())"
Severity: #error

Profile: MedidPatient
Parent: Patient
Id: medid-patient
Title: "medid Patient"
Description: """A person known to the medical-ID authority. JP Core–compatible: names in kanji (iso21090-EN-representation IDE) and kana (SYL); identifiers for the medical ID (current and replaced), the 被保険者個人識別子 (current and past, each with its period), the 生活保護受給者識別子, and institution-local patient IDs (urn:oid:1.2.392.100495.20.3.51.1 + 医療機関コード). My Number is never an identifier. JP Core's JP_Patient cannot be the parent because its package is not available to this build; its constraints relevant to medid are restated here."""
* obeys medid-pat-1 and medid-pat-2 and medid-pat-3 and medid-pat-4
* identifier 1..* MS
* identifier ^slicing.discriminator.type = #value
* identifier ^slicing.discriminator.path = "system"
* identifier ^slicing.rules = #open
* identifier ^slicing.description = "By system: the medical ID, insured member ids, the public-assistance member id; institution-local ids are open slices."
* identifier contains medicalId 0..* MS and insuredMemberId 0..* MS and publicPayerMemberId 0..1 MS
* identifier[medicalId] ^short = "医療等ID: 14 digits (scheme 1, 12 random digits, Verhoeff check digit); use = old for replaced ones"
* identifier[medicalId].system = $medidId
* identifier[medicalId].value 1..1
* identifier[medicalId].period MS
* identifier[insuredMemberId] ^short = "被保険者個人識別子 保険者番号:記号:番号:枝番, current and past, each with its period"
* identifier[insuredMemberId].system = $insuredMemberId
* identifier[insuredMemberId].value 1..1
* identifier[insuredMemberId].period MS
* identifier[publicPayerMemberId] ^short = "生活保護受給者識別子 公費負担者番号::受給者番号:"
* identifier[publicPayerMemberId].system = $publicPayerMemberId
* identifier[publicPayerMemberId].value 1..1
* name 1..* MS
* name.extension contains $representation named representation 0..1 MS
* name.extension[representation] ^short = "IDE for kanji, SYL for kana, ABC for romaji"
* name.text MS
* name.family MS
* name.given MS
* gender 1..1 MS
* birthDate 1..1 MS
* address MS
* telecom MS
* deceased[x] MS
* link MS
