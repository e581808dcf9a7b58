/** Small fetch helpers for FHIR JSON over HTTP. */
import type { Resource } from '@medplum/fhirtypes';

export interface FhirHttpResponse<T = Resource> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

let defaultToken: string | undefined;

/** Every later fhirFetch without an Authorization header sends this bearer token. */
export function useToken(token: string | undefined): void {
  defaultToken = token;
}

export async function fhirFetch<T = Resource>(
  url: string,
  init: RequestInit & { json?: unknown; anonymous?: boolean } = {},
): Promise<FhirHttpResponse<T>> {
  const headers = new Headers(init.headers);
  if (!init.anonymous && defaultToken && !headers.has('authorization')) headers.set('authorization', `Bearer ${defaultToken}`);
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    if (!headers.has('content-type')) headers.set('content-type', 'application/fhir+json');
  }
  const res = await fetch(url, { ...init, headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: callers look at `text`
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}
