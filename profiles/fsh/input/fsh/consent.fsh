Invariant: medid-con-1
Description: "A consent concerns one patient (R4's ppc-2..5 never fire, so medid states this itself)."
Expression: "patient.exists()"
Severity: #error

Profile: MedidConsent
Parent: Consent
Id: medid-consent
Title: "medid Consent (record location and disclosure)"
Description: "A person's decision about who may see where their records are, and who may receive their data (IHE PCF-style): one patient, a privacy scope, when it was given, the policy, and a permit or deny provision (optionally limited to organizations, purposes and a period)."
* obeys medid-con-1
* status MS
* scope = $consentscope#patient-privacy
* category 1..* MS
* patient 1..1 MS
* dateTime 1..1 MS
* organization MS
* policy MS
* provision 1..1 MS
* provision.type 1..1 MS
* provision.period MS
* provision.actor MS
* provision.purpose MS
