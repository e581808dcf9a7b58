/**
 * A request URL — the HTTP request's own, checked at the edge before anything reads it, and each
 * batch or transaction entry's request.url, checked before the entry is parsed: every %-escape decodes
 * (RFC 3986 §2.1: "%ff%fe" or a cut-off "%E0%A4%A" is the client's 400, not a URIError deep
 * inside), and no path segment or query parameter holds a control character (a NUL cannot even
 * be stored, and would break the audit record of the refusal).
 */
import { errors } from '../core/outcome.ts';

const CONTROL = /\p{Cc}/u;

function decodeStrict(s: string, what: string, expression: string | undefined): string {
  let out: string;
  try {
    out = decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw errors.badRequest(`The ${what} has an invalid %-encoding (RFC 3986 §2.1)`, 'invalid-parameter', expression);
  }
  if (CONTROL.test(out)) throw errors.badRequest(`The ${what} contains a control character`, 'invalid-parameter', expression);
  return out;
}

/** `expression` names where the URL came from (a Bundle entry's request.url) in the refusal. */
export function checkRequestUrl(originalUrl: string, expression?: string): void {
  const q = originalUrl.indexOf('?');
  const path = q < 0 ? originalUrl : originalUrl.slice(0, q);
  for (const seg of path.split('/')) decodeStrict(seg, 'path', expression);
  if (q >= 0) {
    for (const pair of originalUrl.slice(q + 1).split('&')) {
      const eq = pair.indexOf('=');
      decodeStrict(eq < 0 ? pair : pair.slice(0, eq), 'query parameter name', expression);
      if (eq >= 0) decodeStrict(pair.slice(eq + 1), 'query parameter value', expression);
    }
  }
}

/**
 * A conditional create's search (If-None-Exist, or a Bundle entry's request.ifNoneExist) is a
 * query string like the URL's own and gets the same check: it reaches the search SQL as it is.
 */
export function checkConditionalQuery(query: unknown, expression: string): void {
  if (query === undefined || query === null || query === '') return;
  if (typeof query !== 'string') throw errors.badRequest(`${expression} must be a string`, 'invalid-parameter', expression);
  checkRequestUrl(`?${query.startsWith('?') ? query.slice(1) : query}`, expression);
}
