/**
 * Reference strings in their forms: `Type/id`, `Type/id/_history/v`, and absolute URLs on this
 * server's base (which are stored relative so the two forms search alike).
 */

export interface ParsedReference {
  type: string;
  id: string;
  version?: string;
}

const REL = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

/** Parses a literal reference; undefined for URLs on other servers, urn:, and contained refs. */
export function parseReference(ref: string, baseUrl: string): ParsedReference | undefined {
  let rel = ref;
  if (ref.startsWith(baseUrl + '/')) {
    rel = ref.slice(baseUrl.length + 1);
  } else if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) {
    return undefined;
  }
  const m = REL.exec(rel);
  if (!m) {
    return undefined;
  }
  const out: ParsedReference = { type: m[1], id: m[2] };
  if (m[3] !== undefined) {
    out.version = m[3];
  }
  return out;
}
