/**
 * The canonical base of medid's own conformance artifacts (profiles, operations, code systems).
 * One constant, deliberately under the reserved example.org domain (RFC 2606) so medid never
 * claims a real organization's namespace; a deployment that publishes its own IG changes it here.
 */
export const MEDID_CANONICAL = 'http://medid.example.org/fhir';

/** medid's error-code CodeSystem: stable codes clients and tests can switch on. */
export const MEDID_ERROR_SYSTEM = `${MEDID_CANONICAL}/CodeSystem/medid-error`;
