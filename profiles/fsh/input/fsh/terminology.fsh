CodeSystem: MedidError
Id: medid-error
Title: "medid error codes"
Description: "Stable codes in OperationOutcome.issue.details.coding, for clients and tests to switch on. The issue's text explains; the code does not change."
* ^caseSensitive = true
* #invalid-json "The body is not valid FHIR JSON (syntax, a control character in a string, nesting too deep)"
* #invalid-xml "The body is not acceptable FHIR XML (not well-formed, a DOCTYPE, another encoding, nesting too deep)"
* #invalid-resource "The body is not a valid R4 resource"
* #resource-type-mismatch "resourceType differs from the URL"
* #id-mismatch "The body id differs from the URL id or the match"
* #profile-violation "A claimed medid profile is not met"
* #unknown-profile "A nominated profile is not known"
* #business-rule "A business rule is not met"
* #unknown-search-parameter "A search parameter is not known or not supported"
* #invalid-search-value "A search value is malformed"
* #unsupported-search "A search feature is not supported"
* #unknown-resource-type "Not an R4 resource type"
* #not-found "No such resource"
* #gone "The resource was deleted"
* #version-conflict "If-Match does not match"
* #multiple-matches "Conditional criteria match several resources"
* #precondition-required "A precondition is required"
* #method-not-allowed "Method not allowed"
* #not-acceptable "The requested format is not served (JSON and XML are)"
* #unsupported-media-type "The body's media type is not accepted (FHIR JSON and XML are)"
* #payload-too-large "The body is too large"
* #invalid-bundle "The Bundle cannot be processed"
* #invalid-reference "A reference cannot be resolved"
* #invalid-parameter "An operation parameter is wrong"
* #invalid-patch "The PATCH body is not a well-formed JSON Patch or FHIRPath Patch"
* #patch-failed "A patch operation cannot be applied to the current version (a failed test, a path that finds nothing)"
* #unauthorized "Authentication is required or failed"
* #forbidden "The granted scopes do not allow this"
* #audit-failed "The access could not be audited, so nothing was disclosed"
* #invalid-identifier "An identifier value cannot be made valid"
* #my-number-conflict "The My Number is registered to another person"
* #duplicate "A resource or key that must be unique exists already (a concurrent write won)"
* #unavailable "The database cannot answer now; retry after the Retry-After interval"
* #internal "Internal error"

CodeSystem: CoverageLossReasonCS
Id: coverage-loss-reason
Title: "資格喪失事由 (coverage loss reasons)"
Description: "Reasons a coverage ends, as in the online eligibility system's ReasonOfLoss."
* ^caseSensitive = true
* #01 "死亡 (death)"
* #02 "生活保護受給開始 (public assistance started)"
* #03 "医療保険等の資格取得 (new insurance)"
* #99 "その他 (other)"

ValueSet: CoverageLossReasonVS
Id: coverage-loss-reason
Title: "Coverage loss reasons"
Description: "Reasons a coverage ends."
* include codes from system CoverageLossReasonCS

CodeSystem: MedicalIdChangeReasonCS
Id: medical-id-change-reason
Title: "Reasons for a medical ID change"
Description: "Why Patient/$change-medical-id issues a new medical ID (R6, privacy-design §3): the two cases differ in whether the person's pseudonyms change."
* ^url = "http://medid.example.org/fhir/CodeSystem/medical-id-change-reason"
* ^status = #active
* ^caseSensitive = true
* ^content = #complete
* #lost-card "Lost or leaked card" "A new medical ID for the same person key: every pseudonym stays, the old ID stays on the Patient as use = old."
* #break-linkage "Break linkage" "On the authority's decision for special reasons: a new person key and a new medical ID; every pseudonym changes, earlier IDs are retired and leave the Patient, the old-to-new link is kept only sealed to the oversight body or not at all."

ValueSet: MedicalIdChangeReasonVS
Id: medical-id-change-reason
Title: "Reasons for a medical ID change"
Description: "Why Patient/$change-medical-id issues a new medical ID."
* ^url = "http://medid.example.org/fhir/ValueSet/medical-id-change-reason"
* ^status = #active
* include codes from system MedicalIdChangeReasonCS

CodeSystem: RegistryTaskCS
Id: registry-task
Title: "medid registry tasks"
Description: "Work the registry hands to the authority's staff as Task.code."
* ^url = "http://medid.example.org/fhir/CodeSystem/registry-task"
* ^status = #active
* ^caseSensitive = true
* ^content = #complete
* #registration-review "Registration held for review" "A registration that is neither clearly a new person nor clearly an existing one (for example the same kana name, birth date and sex as a registered person with no identifier in common, or numbers that point to different persons). The Task holds the proposed Patient (contained, without My Number) and the candidates."
* #registry-mismatch "Registry record disagrees with the point of care" "At an eligibility confirmation the medical ID or kana name a provider gave for the person on the card disagreed with the registry; the insurer checks and corrects the record, and a corrected registration completes the Task."

CodeSystem: QualificationValidityCS
Id: qualification-validity
Title: "Eligibility validity (資格有効性)"
Description: "The validity of a card on a day, as the online eligibility system (オンライン資格確認) codes QualificationValidity."
* ^url = "http://medid.example.org/fhir/CodeSystem/qualification-validity"
* ^status = #active
* ^caseSensitive = true
* ^content = #complete
* #1 "有効 (valid)"
* #2 "無効 (invalid)"
* #3 "無効（新しい資格あり） (invalid: a newer coverage exists)"
* #4 "該当資格なし (not found)"
* #5 "複数該当 (several found)"

CodeSystem: PseudonymDomainCS
Id: pseudonym-domain
Title: "Pseudonym domains (仮名化ドメイン)"
Description: "The closed list of pseudonym domains: one per utilizing database, each with its own pseudonyms for a person (v1. + 26 Crockford base32 characters, an AES-256 permutation of the person key under the domain's key), which no other database can join with its own. A database client's organization code is its domain's code. The codes below are those a new deployment starts with; the authority adds others (medid domain add, MEDID_DOMAINS_FILE), so this CodeSystem is a fragment of the deployment's list."
* ^url = "http://medid.example.org/fhir/CodeSystem/pseudonym-domain"
* ^status = #active
* ^caseSensitive = true
* ^content = #fragment
* #ndb "NDB（レセプト情報・特定健診等情報データベース）" "National Database of Health Insurance Claims and Specific Health Checkups"
* #kaigo "介護DB（介護保険総合データベース）" "Long-term care insurance database"
* #dpc "DPCデータベース" "Diagnosis Procedure Combination database"
* #nanbyo "難病データベース" "Designated intractable (rare) disease database"
* #shoman "小児慢性特定疾病児童等データベース" "Pediatric chronic specific disease database"
* #gan-toroku "全国がん登録データベース" "National cancer registry"

CodeSystem: LinkageCS
Id: linkage
Title: "Linkage orders (連結指示)"
Description: "The Task code of a linkage order between utilizing databases (R19), and the types of its inputs and outputs."
* ^url = "http://medid.example.org/fhir/CodeSystem/linkage"
* ^status = #active
* ^caseSensitive = true
* #linkage-order "Linkage order between utilizing databases" "An order to give two or more databases' records of the same persons one project pseudonym, under k officers' signed approvals."
* #domain "Domain" "A pseudonym domain whose database takes part."
* #project "Project" "The study the linkage serves."
* #purpose "Purpose" "The purpose of use (v3-ActReason)."
* #legal-basis "Legal basis" "The law or decision that permits the linkage."
* #period "Period" "The days conversions are answered."
* #canonical-order "Canonical order" "The order as RFC 8785 JSON: the text officers sign."
* #approval "Approval" "One officer's approval: client id and time (the signed JWS is kept with the order)."

CodeSystem: InsurerKindCS
Id: insurer-kind
Title: "保険者種別 (insurer kinds)"
Description: "The kind of insurer or public payer behind a number, from its 法別番号: what a utilizing database sees of a Coverage instead of the insurer."
* ^url = "http://medid.example.org/fhir/CodeSystem/insurer-kind"
* ^status = #active
* ^caseSensitive = true
* #kokuho "国民健康保険" "National Health Insurance (municipal and NHI associations; 6-digit insurer numbers)"
* #kyokai "全国健康保険協会（協会けんぽ）" "Japan Health Insurance Association (法別 01)"
* #kumiai "組合管掌健康保険" "Society-managed health insurance (法別 06)"
* #kyosai "共済組合" "Mutual aid associations (法別 31–34)"
* #koki "後期高齢者医療" "Late-stage elderly medical care (法別 39)"
* #other-insurance "その他の被用者保険" "Seamen's, day-labourers', Self-Defense Forces and other employee insurance"
* #public-assistance "生活保護（医療扶助）" "Public assistance, medical aid (公費 法別 12)"
* #public "公費負担医療" "Other public expense medical care"

CodeSystem: FacilityKindCS
Id: facility-kind
Title: "医療機関の種別 (facility kinds)"
Description: "The kind of facility behind a 医療機関コード (its 点数表番号): what a utilizing database sees of a service use instead of the facility."
* ^url = "http://medid.example.org/fhir/CodeSystem/facility-kind"
* ^status = #active
* ^caseSensitive = true
* #medical "医科" "Medical (点数表番号 1)"
* #dental "歯科" "Dental (点数表番号 3)"
* #pharmacy "調剤" "Pharmacy (点数表番号 4)"
* #other "その他" "Other"

CodeSystem: UsageMetricCS
Id: usage-metric
Title: "medid usage metrics"
Description: "What medid meters per organization and month (R26), as the groups of Measure medid-usage; and the refused requests reported beside each (never billed). Every figure is counted from the month's audit events (AuditEvents), never beside them."
* ^url = "http://medid.example.org/fhir/CodeSystem/usage-metric"
* ^status = #active
* ^caseSensitive = true
* ^content = #complete
* #eligibility-confirmations "Eligibility confirmations" "Successful CoverageEligibilityRequest/$submit calls, whatever validity they answered (one AuditEvent each)."
* #match-calls "$match calls" "Successful Patient/$match calls: a call that returned n persons wrote max(n, 1) AuditEvents, each counting 1/max(n, 1)."
* #persons-read "Persons read" "Persons disclosed by reads, vreads, searches and history: each successful AuditEvent naming a Patient (one per person per request)."
* #export-records "Export records" "Persons in bulk export files as they were downloaded (an insurer's Patient/$export, a database's pseudonymized export, medid export): each successful AuditEvent naming a Patient."
* #pseudonym-conversions "Pseudonym conversions" "Persons converted by $pseudonymize (per providing organization) and Task/$link: each successful AuditEvent naming a Patient."
* #refused "Refused requests" "Requests of the group's kind that were refused or failed (AuditEvent outcome 4, 8 or 12): reported, not billed."
