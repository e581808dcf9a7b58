// The JP Core Coverage search parameters, with JP Core's codes so JP Core clients work
// unchanged. JP Core 1.2 publishes them under http://hl7.org/fhir/us/core/… and with an
// expression that reads a nested extension; medid defines them under its own canonical with an
// expression that reads the extension's value.

Instance: coverage-insured-personsymbol
InstanceOf: SearchParameter
Usage: #definition
* url = "http://medid.example.org/fhir/SearchParameter/coverage-insured-personsymbol"
* name = "InsuredPersonSymbol"
* status = #active
* description = "被保険者証記号 (JP Core Coverage extension), matched after width folding"
* code = #insured-personsymbol
* base = #Coverage
* type = #string
* expression = "Coverage.extension.where(url = 'http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPersonSymbol').value"

Instance: coverage-insured-personnumber
InstanceOf: SearchParameter
Usage: #definition
* url = "http://medid.example.org/fhir/SearchParameter/coverage-insured-personnumber"
* name = "InsuredPersonNumber"
* status = #active
* description = "被保険者証番号 (JP Core Coverage extension)"
* code = #insured-personnumber
* base = #Coverage
* type = #string
* expression = "Coverage.extension.where(url = 'http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPersonNumber').value"

Instance: coverage-insured-personsubnumber
InstanceOf: SearchParameter
Usage: #definition
* url = "http://medid.example.org/fhir/SearchParameter/coverage-insured-personsubnumber"
* name = "InsuredPersonSubNumber"
* status = #active
* description = "被保険者証枝番 (JP Core Coverage extension)"
* code = #insured-personsubnumber
* base = #Coverage
* type = #string
* expression = "Coverage.extension.where(url = 'http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Coverage_InsuredPersonSubNumber').value"
