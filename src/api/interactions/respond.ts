/**
 * Responses that carry a stored resource: ETag, Last-Modified, Location, and the
 * `Prefer: return=minimal | representation | OperationOutcome` choice.
 */
import { informational } from '../../core/outcome.ts';
import { preferences } from '../request.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import type { StoredResource } from '../../fhir/stored-resource.ts';

export function versionHeaders(r: StoredResource): Record<string, string> {
  return { ETag: `W/"${r.versionId}"`, 'Last-Modified': r.lastUpdated.toUTCString() };
}

export function locationOf(baseUrl: string, r: StoredResource): string {
  return `${baseUrl}/${r.resourceType}/${r.id}/_history/${r.versionId}`;
}

/** A read: the stored JSON as is. */
export function resourceResponse(r: StoredResource): FhirResponse {
  return { status: 200, headers: versionHeaders(r), body: { json: r.content as string } };
}

/** A write: status, version headers, Location, and the body the client prefers. */
export function writeResponse(req: FhirRequest, baseUrl: string, r: StoredResource, status: number, message: string): FhirResponse {
  const headers = { ...versionHeaders(r), Location: locationOf(baseUrl, r) };
  switch (preferences(req)['return']) {
    case 'minimal':
      return { status, headers };
    case 'OperationOutcome':
      return { status, headers, body: informational(message) };
    default:
      return { status, headers, body: { json: r.content as string } };
  }
}
