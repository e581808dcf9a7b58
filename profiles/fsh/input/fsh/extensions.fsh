// JP Core's Coverage extensions, under JP Core's own canonical URLs so data stays JP Core
// conformant. JP Core's package (jpfhir.jp.core 1.2.0) is not reachable from this build, so
// medid carries these definitions itself; they mirror JP Core's (valueString, context Coverage).

Extension: JPCoverageInsuredPersonSymbol
Id: JP-Coverage-InsuredPersonSymbol
Title: "JP Core: 被保険者証記号 (insured person's symbol)"
Description: "被保険者証記号. Mirror of the JP Core 1.2 extension of the same URL."
* ^url = "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPersonSymbol"
* ^context.type = #element
* ^context.expression = "Coverage"
* value[x] only string

Extension: JPCoverageInsuredPersonNumber
Id: JP-Coverage-InsuredPersonNumber
Title: "JP Core: 被保険者証番号 (insured person's number)"
Description: "被保険者証番号. Mirror of the JP Core 1.2 extension of the same URL."
* ^url = "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPersonNumber"
* ^context.type = #element
* ^context.expression = "Coverage"
* value[x] only string

Extension: JPCoverageInsuredPersonSubNumber
Id: JP-Coverage-InsuredPersonSubNumber
Title: "JP Core: 被保険者証枝番 (insured person's branch number)"
Description: "被保険者証枝番: two half-width digits. Mirror of the JP Core 1.2 extension of the same URL."
* ^url = "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPersonSubNumber"
* ^context.type = #element
* ^context.expression = "Coverage"
* value[x] only string

Extension: OperationScope
Id: operation-scope
Title: "SMART permissions an operation needs"
Description: "The SMART v2 permissions (on a resource type, or {type} for the type the operation is invoked on) a caller needs to invoke the operation, e.g. \"{type}.r\" or \"Patient.rs\"."
* ^context.type = #element
* ^context.expression = "OperationDefinition"
* value[x] only string

Extension: CoverageLossReason
Id: coverage-loss-reason
Title: "Why a coverage ended (資格喪失事由)"
Description: "The reason a coverage ended, as the online eligibility system codes it: 01 死亡 (death), 02 生活保護受給開始 (public assistance started), 03 医療保険等の資格取得 (new insurance), 99 その他 (other)."
* ^context.type = #element
* ^context.expression = "Coverage"
* ^context[+].type = #element
* ^context[=].expression = "CoverageEligibilityResponse"
* value[x] only Coding
* valueCoding from CoverageLossReasonVS (required)

Extension: MatchExplanation
Id: match-explanation
Title: "Why $match graded a candidate as it did"
Description: "On each Bundle.entry of a $match result: the total weight (bits), the identifier systems that agreed, and for every compared field its result (exact, loose, similar, former — a family name the other side no longer uses, such as a maiden name the registry kept —, swapped, one-digit, agree, disagree, missing) and its weight in bits, followed by the rows that count each fact once (familyName and givenName: one name in two scripts; contact: one home; household: family name and home together, capped; identifier: an agreeing identifier; held: a family member or namesake held below probable). The rows' weights sum to the total; notes say what kept a candidate from being certain or probable."
* ^context.type = #element
* ^context.expression = "Bundle.entry"
* extension contains weight 1..1 and identifier 0..* and field 0..* and note 0..*
* extension[weight].value[x] only decimal
* extension[weight] ^short = "Total weight in bits (sum of the field and evidence rows)"
* extension[identifier].value[x] only uri
* extension[identifier] ^short = "An identifier system whose value agreed (deterministic evidence)"
* extension[field].extension contains name 1..1 and result 1..1 and weight 1..1
* extension[field].extension[name].value[x] only code
* extension[field].extension[result].value[x] only code
* extension[field].extension[weight].value[x] only decimal
* extension[note].value[x] only string

Extension: EligibilityValidity
Id: eligibility-validity
Title: "Eligibility validity (資格有効性)"
Description: "On a CoverageEligibilityResponse: the card's validity on the service day, as the online eligibility system codes it; on each of its insurance entries (the My Number card path, which answers several coverages): that coverage's."
* ^context.type = #element
* ^context.expression = "CoverageEligibilityResponse"
* ^context[+].type = #element
* ^context[=].expression = "CoverageEligibilityResponse.insurance"
* value[x] only Coding
* valueCoding from QualificationValidityVS (required)

ValueSet: QualificationValidityVS
Id: qualification-validity
Title: "Eligibility validity"
Description: "All codes of the qualification-validity CodeSystem."
* ^url = "http://medid.example.org/fhir/ValueSet/qualification-validity"
* include codes from system QualificationValidityCS

Extension: ServiceUseVisits
Id: service-use-visits
Title: "Confirmed visits"
Description: "On an EpisodeOfCare that $record-locations renders from the service-use history: how many eligibility confirmations the organization made for the person."
* ^context.type = #element
* ^context.expression = "EpisodeOfCare"
* value[x] only integer
