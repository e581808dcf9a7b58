// One NamingSystem per identifier system medid reads or emits (identifiers.md).

Instance: medical-id
InstanceOf: NamingSystem
Usage: #definition
Title: "医療等ID (medical ID)"
* name = "MedicalId"
* status = #active
* kind = #identifier
* date = "2026-11-22"
* publisher = "medid"
* responsible = "medid"
* description = "14 digits: scheme version 1, 12 random digits, a Verhoeff check digit. Issued by the authority; machines exchange it, people are not asked to read it. Printed as 1234 5678 9012 34."
* uniqueId[0].type = #uri
* uniqueId[0].value = "http://medid.example.org/fhir/sid/medical-id"
* uniqueId[0].preferred = true

Instance: my-number
InstanceOf: NamingSystem
Usage: #definition
Title: "個人番号 (My Number) — input only"
* name = "MyNumberInput"
* status = #active
* kind = #identifier
* date = "2026-11-22"
* publisher = "medid"
* responsible = "medid"
* description = "12 digits with a mod-11 check digit. Accepted as input only (registration, lookup): medid keeps a keyed MAC and never stores, logs or returns the number. Never found in a resource medid returns."
* uniqueId[0].type = #uri
* uniqueId[0].value = "http://medid.example.org/fhir/sid/my-number"
* uniqueId[0].preferred = true

Instance: insured-member-id
InstanceOf: NamingSystem
Usage: #definition
Title: "被保険者個人識別子 (insured member id)"
* name = "InsuredMemberId"
* status = #active
* kind = #identifier
* date = "2026-11-22"
* publisher = "medid"
* responsible = "JP-CLINS"
* description = "保険者番号:記号:番号:枝番 — insurer number (8 digits, zero-padded, check digit), symbol, number (each all half-width or all full-width), branch (2 digits, empty if not printed); three colons always."
* uniqueId[0].type = #uri
* uniqueId[0].value = "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID"
* uniqueId[0].preferred = true

Instance: public-payer-member-id
InstanceOf: NamingSystem
Usage: #definition
Title: "生活保護受給者識別子 (public assistance member id)"
* name = "PublicPayerMemberId"
* status = #active
* kind = #identifier
* date = "2026-11-22"
* publisher = "medid"
* responsible = "JP-CLINS"
* description = "公費負担者番号::受給者番号: — for persons without insured numbers (public assistance)."
* uniqueId[0].type = #uri
* uniqueId[0].value = "http://jpfhir.jp/fhir/clins/Idsystem/JP_PublicPayer_memberID"
* uniqueId[0].preferred = true

Instance: insurer-number
InstanceOf: NamingSystem
Usage: #definition
Title: "保険者番号 (insurer number)"
* name = "InsurerNumber"
* status = #active
* kind = #identifier
* date = "2026-11-22"
* publisher = "medid"
* responsible = "MHLW / JP Core"
* description = "8 digits (6 for municipal 国保, zero-padded to 8); the last is the 2-1 modulus-10 check digit. Legacy OID urn:oid:1.2.392.100495.20.3.61."
* uniqueId[0].type = #uri
* uniqueId[0].value = "http://jpfhir.jp/fhir/core/mhlw/IdSystem/InsurerNumber"
* uniqueId[0].preferred = true

Instance: insured-person-symbol
InstanceOf: NamingSystem
Usage: #definition
Title: "被保険者証記号 (insured person's symbol)"
* name = "InsuredPersonSymbol"
* status = #active
* kind = #identifier
* date = "2026-11-22"
* publisher = "medid"
* responsible = "MHLW / JP Core"
* description = "The card's 記号. Legacy OID urn:oid:1.2.392.100495.20.3.62."
* uniqueId[0].type = #uri
* uniqueId[0].value = "http://jpfhir.jp/fhir/core/mhlw/IdSystem/InsuredPersonSymbol"
* uniqueId[0].preferred = true

Instance: insured-person-number
InstanceOf: NamingSystem
Usage: #definition
Title: "被保険者証番号 (insured person's number)"
* name = "InsuredPersonNumber"
* status = #active
* kind = #identifier
* date = "2026-11-22"
* publisher = "medid"
* responsible = "MHLW / JP Core"
* description = "The card's 番号. Legacy OID urn:oid:1.2.392.100495.20.3.63."
* uniqueId[0].type = #uri
* uniqueId[0].value = "http://jpfhir.jp/fhir/core/mhlw/IdSystem/InsuredPersonNumber"
* uniqueId[0].preferred = true

Instance: insured-person-subnumber
InstanceOf: NamingSystem
Usage: #definition
Title: "被保険者証枝番 (insured person's branch number)"
* name = "InsuredPersonSubnumber"
* status = #active
* kind = #identifier
* date = "2026-11-22"
* publisher = "medid"
* responsible = "MHLW / JP Core"
* description = "The card's 枝番: 2 digits."
* uniqueId[0].type = #uri
* uniqueId[0].value = "http://jpfhir.jp/fhir/core/mhlw/IdSystem/InsuredPersonSubnumber"
* uniqueId[0].preferred = true

Instance: public-payer-number
InstanceOf: NamingSystem
Usage: #definition
Title: "公費負担者番号 (public expense payer number)"
* name = "PublicPayerNumber"
* status = #active
* kind = #identifier
* date = "2026-11-22"
* publisher = "medid"
* responsible = "MHLW / JP Core"
* description = "8 digits: 法別 2, prefecture 2, agency 3, 2-1 check digit. Legacy OID urn:oid:1.2.392.100495.20.3.71."
* uniqueId[0].type = #uri
* uniqueId[0].value = "http://jpfhir.jp/fhir/core/mhlw/IdSystem/PublicPayerNumber"
* uniqueId[0].preferred = true

Instance: public-recipient-number
InstanceOf: NamingSystem
Usage: #definition
Title: "公費受給者番号 (public expense recipient number)"
* name = "PublicRecipientNumber"
* status = #active
* kind = #identifier
* date = "2026-11-22"
* publisher = "medid"
* responsible = "MHLW / JP Core"
* description = "7 digits for national programmes (check digit checked only when configured); up to 30 characters for local ones. Legacy OID urn:oid:1.2.392.100495.20.3.72."
* uniqueId[0].type = #uri
* uniqueId[0].value = "http://jpfhir.jp/fhir/core/mhlw/IdSystem/PublicInsuredPersonNumber"
* uniqueId[0].preferred = true

Instance: medical-institution-code
InstanceOf: NamingSystem
Usage: #definition
Title: "医療機関コード (medical institution code)"
* name = "MedicalInstitutionCode"
* status = #active
* kind = #identifier
* date = "2026-11-22"
* publisher = "medid"
* responsible = "MHLW / JP Core"
* description = "10 digits: prefecture 2, fee table 1, area 2, number 4, check 1 (format checked; the check-digit algorithm is unpublished)."
* uniqueId[0].type = #uri
* uniqueId[0].value = "http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no"
* uniqueId[0].preferred = true

Instance: facility-patient-id
InstanceOf: NamingSystem
Usage: #definition
Title: "院内患者ID (institution-local patient ids)"
* name = "FacilityPatientId"
* status = #active
* kind = #identifier
* date = "2026-11-22"
* publisher = "medid"
* responsible = "JP Core"
* description = "Each facility's own patient ids use the system urn:oid:1.2.392.100495.20.3.51.1 followed by the facility's 10-digit 医療機関コード; the value is the facility's."
* uniqueId[0].type = #oid
* uniqueId[0].value = "urn:oid:1.2.392.100495.20.3.51"
* uniqueId[0].preferred = true

Instance: client-id
InstanceOf: NamingSystem
Usage: #definition
Title: "medid client_id"
* name = "ClientId"
* status = #active
* kind = #identifier
* date = "2026-11-22"
* publisher = "medid"
* responsible = "medid"
* description = "The client_id of a registered SMART Backend Services client (AuditEvent agents)."
* uniqueId[0].type = #uri
* uniqueId[0].value = "http://medid.example.org/fhir/sid/client-id"
* uniqueId[0].preferred = true

Instance: utilizing-database
InstanceOf: NamingSystem
Usage: #definition
Title: "医療情報利用機関 (utilizing database names)"
* name = "UtilizingDatabase"
* status = #active
* kind = #identifier
* date = "2026-11-22"
* publisher = "medid"
* responsible = "medid"
* description = "Names of the utilizing databases (NDB, the rare-disease DB, the cancer registry, the care DB, …)."
* uniqueId[0].type = #uri
* uniqueId[0].value = "http://medid.example.org/fhir/sid/utilizing-database"
* uniqueId[0].preferred = true
