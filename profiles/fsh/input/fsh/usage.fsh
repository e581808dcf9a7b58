// Usage metering (issue 19 item 1, R26): the Measure that Measure/medid-usage/$evaluate-measure
// evaluates. Its groups are the metrics of CodeSystem usage-metric; every count is taken from
// the month's AuditEvents (README "Usage metering" states the rules).

RuleSet: UsageGroup(metric, description)
* group[+].id = "{metric}"
* group[=].code = UsageMetricCS#{metric}
* group[=].description = "{description}"
* group[=].population[0].code = http://terminology.hl7.org/CodeSystem/measure-population#initial-population
* group[=].population[0].description = "Billable: the successful AuditEvents of this kind, counted as the group says."
* group[=].population[0].criteria.language = #text/plain
* group[=].population[0].criteria.expression = "{metric}"
* group[=].population[1].code = UsageMetricCS#refused
* group[=].population[1].description = "Refused or failed requests of this kind (AuditEvent outcome 4, 8 or 12): reported, not billed."
* group[=].population[1].criteria.language = #text/plain
* group[=].population[1].criteria.expression = "refused {metric}"

Instance: medid-usage
InstanceOf: Measure
Usage: #definition
* url = "http://medid.example.org/fhir/Measure/medid-usage"
* version = "0.1.0"
* name = "MedidUsage"
* title = "medid usage per organization and month"
* status = #active
* publisher = "medid"
* description = "R26: what an organization used in one calendar month (Japan Standard Time), for sharing the authority's costs by use. Evaluated with Measure/medid-usage/$evaluate-measure (an organization its own, the authority any) and listed for every organization by `npx medid usage --month YYYY-MM`. Counted from the month's audit events only (no counter beside them), so the figures reconcile exactly with the AuditEvents."
* scoring = http://terminology.hl7.org/CodeSystem/measure-scoring#cohort
* type = http://terminology.hl7.org/CodeSystem/measure-type#structure
* improvementNotation = http://terminology.hl7.org/CodeSystem/measure-improvement-notation#decrease
* insert UsageGroup(eligibility-confirmations, [[Successful CoverageEligibilityRequest/$submit calls, whatever validity they answered: one AuditEvent each.]])
* insert UsageGroup(match-calls, [[Successful Patient/$match calls: a call that returned n persons wrote max(n, 1) AuditEvents, each counting 1/max(n, 1).]])
* insert UsageGroup(persons-read, [[Persons disclosed by reads, vreads, searches and history: one per successful AuditEvent naming a Patient.]])
* insert UsageGroup(export-records, [[Persons in bulk export files as downloaded (Patient/$export of an insurer or a database, medid export): one per successful AuditEvent naming a Patient.]])
* insert UsageGroup(pseudonym-conversions, [[Persons converted by $pseudonymize (per providing organization) and Task/$link: one per successful AuditEvent naming a Patient.]])
