Invariant: medid-cov-1
Description: "Coverage is valid by the day: period start and end are dates (YYYY-MM-DD), both days included."
Expression: "period.start.toString().length() = 10 and (period.end.empty() or period.end.toString().length() = 10)"
Severity: #error

Invariant: medid-cov-2
Description: "A loss reason is given only for a coverage that has ended."
Expression: "extension('http://medid.example.org/fhir/StructureDefinition/coverage-loss-reason').exists() implies period.end.exists()"
Severity: #error

Profile: MedidCoverage
Parent: Coverage
Id: medid-coverage
Title: "medid Coverage"
Description: """A person's health insurance (or public expense) coverage, valid by the day. JP Core Coverage–compatible: the card's 記号, 番号 and 枝番 in JP Core's extensions (JP Core canonical URLs), the 被保険者個人識別子 as identifier, the insurer as payor, and, when the coverage ended, the reason as the online eligibility system codes it."""
* obeys medid-cov-1 and medid-cov-2
* extension contains
    JPCoverageInsuredPersonSymbol named insuredPersonSymbol 0..1 MS and
    JPCoverageInsuredPersonNumber named insuredPersonNumber 0..1 MS and
    JPCoverageInsuredPersonSubNumber named insuredPersonSubNumber 0..1 MS and
    CoverageLossReason named lossReason 0..1 MS
* identifier ^slicing.discriminator.type = #value
* identifier ^slicing.discriminator.path = "system"
* identifier ^slicing.rules = #open
* identifier contains insuredMemberId 0..1 MS
* identifier[insuredMemberId].system = $insuredMemberId
* identifier[insuredMemberId].value 1..1
* status MS
* beneficiary MS
* payor MS
* period 1..1 MS
* period.start 1..1
* subscriberId MS
* dependent MS
* relationship MS
