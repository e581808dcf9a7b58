Profile: MedidAuditEvent
Parent: AuditEvent
Id: medid-auditevent
Title: "medid AuditEvent (BALP-based)"
Description: """The AuditEvents medid records for every disclosure and change (IHE Basic Audit Log Patterns: PatientRead, PatientQuery, PatientCreate/Update/Delete; DCM 110114 for token requests). The BALP package is not available to this build, so the BALP constraints medid relies on are stated here: a subtype, the client application as an agent with altId = client_id, the purpose of use, the server as observer, and the patient and data as entities."""
* subtype 1..* MS
* action 1..1 MS
* outcome 1..1 MS
* outcomeDesc MS
* purposeOfEvent 1..* MS
* agent MS
* agent.altId MS
* agent.who MS
* agent.network MS
* agent.purposeOfUse MS
* agent.policy MS
* source.observer MS
* entity 1..* MS
* entity.what MS
* entity.query MS
