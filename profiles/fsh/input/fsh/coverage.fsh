Invariant: medid-cov-1
Description: "Coverage is valid by the day: period start and end are dates (YYYY-MM-DD), both days included."
Expression: "period.start.toString().length() = 10 and (period.end.empty() or period.end.toString().length() = 10)"
Severity: #error

Invariant: medid-cov-2
Description: "A loss reason is given only for a coverage that has ended."
Expression: "extension('http://medid.example.org/fhir/StructureDefinition/coverage-loss-reason').exists() implies period.end.exists()"
Severity: #error

Invariant: medid-cov-3
Description: "A stated card class is a code of http://medid.example.org/fhir/CodeSystem/card-class."
Expression: "class.where(type.coding.where(system = 'http://medid.example.org/fhir/CodeSystem/coverage-class-type' and code = 'card-class').exists()).all(value.matches('^(0[1-7]|confirmation-certificate|public-recipient|medical-aid)$'))"
Severity: #error

Profile: MedidCoverage
Parent: Coverage
Id: medid-coverage
Title: "medid Coverage"
Description: """A person's health insurance (or public expense) coverage, valid by the day. JP Core Coverage–compatible: the card's 記号, 番号 and 枝番 in JP Core's extensions (JP Core canonical URLs), the 被保険者個人識別子 as identifier, the insurer as payor, and, when the coverage ended, the reason as the online eligibility system codes it. A public-expense coverage (生活保護's 医療扶助 included) carries the 生活保護受給者識別子 (公費負担者番号::受給者番号:) instead, the 受給者番号 as subscriberId and the public payer as payor, as JP Core and the ePrescription IG do. The class of card (証区分: 一般, 短期, 資格証明書…) is a class with type coverage-class-type#card-class and a card-class code as value; absent, the coverage is the ordinary card of its kind."""
* obeys medid-cov-1 and medid-cov-2 and medid-cov-3
* extension contains
    JPCoverageInsuredPersonSymbol named insuredPersonSymbol 0..1 MS and
    JPCoverageInsuredPersonNumber named insuredPersonNumber 0..1 MS and
    JPCoverageInsuredPersonSubNumber named insuredPersonSubNumber 0..1 MS and
    CoverageLossReason named lossReason 0..1 MS
* identifier ^slicing.discriminator.type = #value
* identifier ^slicing.discriminator.path = "system"
* identifier ^slicing.rules = #open
* identifier contains insuredMemberId 0..1 MS and publicPayerMemberId 0..1 MS
* identifier[insuredMemberId].system = $insuredMemberId
* identifier[insuredMemberId].value 1..1
* identifier[publicPayerMemberId].system = $publicPayerMemberId
* identifier[publicPayerMemberId].value 1..1
* class ^slicing.discriminator.type = #pattern
* class ^slicing.discriminator.path = "type"
* class ^slicing.rules = #open
* class contains cardClass 0..1 MS
* class[cardClass].type = CoverageClassTypeCS#card-class
* class[cardClass] ^short = "証区分: the class of card (value: a card-class code)"
* status MS
* beneficiary MS
* payor MS
* period 1..1 MS
* period.start 1..1
* subscriberId MS
* dependent MS
* relationship MS
