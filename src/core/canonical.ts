/**
 * The canonical base of medid's own conformance artifacts (profiles, operations, code systems).
 * One constant, deliberately under the reserved example.org domain (RFC 2606) so medid never
 * claims a real organization's namespace; a deployment that publishes its own IG changes it here.
 * The URIs built on it are in systems.ts.
 */
export const MEDID_CANONICAL = 'http://medid.example.org/fhir';
