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
