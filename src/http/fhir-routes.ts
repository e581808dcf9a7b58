/**
 * The Express edge of the FHIR API: turns an Express request into a plain FhirRequest,
 * dispatches it, and writes the FhirResponse. Nothing below this file knows Express.
 */
import type { NextFunction, Request, Response } from 'express';
import type { AccessTokens } from '../auth/access-token.ts';
import type { ClientDirectory } from '../auth/clients.ts';
import type { FhirRequest, FhirResponse, HttpMethod } from '../api/request.ts';
import type { Router } from '../api/router.ts';
import { parseFhirJson, parseJson, stringifyJson } from '../core/json.ts';
import { DEFAULT_PURPOSE_OF_USE } from '../core/systems.ts';
import { narrowPurpose } from '../auth/purpose.ts';
import { runWithRequestContext } from '../core/request-context.ts';
import { fhirXmlToJsonText } from '../fhir/xml/read.ts';
import { principalOf } from './bearer.ts';
import { bodyKind, isXmlType, negotiate, xmlBody } from './content.ts';
import type { OutputType } from './content.ts';
import type { InFlight } from './in-flight.ts';
import { checkRequestUrl } from '../api/request-url.ts';

/** Parses the raw body captured by express.raw into JSON (from JSON or XML), a form string, or nothing. */
function parseBody(req: Request): unknown {
  const raw = req.body as Buffer | undefined;
  const kind = bodyKind(req.headers['content-type'], Buffer.isBuffer(raw) ? raw.length : 0);
  if (kind === 'none') return undefined;
  const text = (raw as Buffer).toString('utf8');
  if (kind === 'form') return text;
  // XML becomes FHIR JSON text first, so it meets the same JSON parser and rules.
  return parseFhirJson(kind === 'xml' ? fhirXmlToJsonText(text) : text);
}

function lowerHeaders(req: Request): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/**
 * The purpose of use a request declares by a `purpose_of_use` parameter or the
 * `X-Purpose-Of-Use` header: it may narrow the token's purpose, never widen it
 * (auth/purpose.ts). The parameter is not a search criterion, so it is taken out of the query.
 */
function declaredPurpose(query: [string, string][], req: Request): { declared: string | undefined; rest: [string, string][] } {
  const given = query.filter(([k]) => k === 'purpose_of_use').map(([, v]) => v);
  const hdr = req.headers['x-purpose-of-use'];
  const candidates = [...given, ...(typeof hdr === 'string' ? [hdr] : [])];
  const declared = candidates[0]?.trim().toUpperCase();
  return { declared: declared || undefined, rest: query.filter(([k]) => k !== 'purpose_of_use') };
}

export function toFhirRequest(req: Request, mountPath: string, query: [string, string][], purposeOfUse: string): FhirRequest {
  const url = new URL(req.originalUrl, 'http://x');
  return {
    method: req.method as HttpMethod,
    path: url.pathname.slice(mountPath.length) || '/',
    query,
    body: parseBody(req),
    headers: lowerHeaders(req),
    requestId: requestIdOf(req),
    purposeOfUse,
    remoteAddress: req.socket.remoteAddress,
  };
}

function requestIdOf(req: Request): string {
  return (req.res?.locals['requestId'] as string | undefined) ?? '';
}

export function writeFhirResponse(res: Response, out: FhirResponse, type: OutputType, pretty: boolean): void {
  // XML first: a resource XML cannot carry is refused before any status or header is set.
  const xml =
    out.body && !('ndjson' in out.body) && isXmlType(type)
      ? xmlBody('json' in out.body ? out.body.json : stringifyJson(out.body), pretty)
      : undefined;
  res.status(out.status);
  for (const [k, v] of Object.entries(out.headers ?? {})) res.setHeader(k, v);
  if (!out.body) {
    res.end();
    return;
  }
  if ('ndjson' in out.body) {
    res.setHeader('Content-Type', 'application/fhir+ndjson');
    res.setHeader('Content-Length', Buffer.byteLength(out.body.ndjson));
    res.end(out.body.ndjson);
    return;
  }
  if (xml !== undefined) {
    res.setHeader('Content-Type', `${type}; charset=utf-8`);
    res.setHeader('Content-Length', Buffer.byteLength(xml));
    res.end(xml);
    return;
  }
  let json = 'json' in out.body ? out.body.json : JSON.stringify(out.body);
  if (pretty) json = stringifyJson(parseJson(json), 2);
  // Asked for XML, but not a FHIR resource (the Bulk Data manifest): it stays JSON.
  res.setHeader('Content-Type', `${isXmlType(type) ? 'application/json' : type}; charset=utf-8`);
  res.setHeader('Content-Length', Buffer.byteLength(json));
  res.end(json);
}

export interface FhirMiddlewareOptions {
  inFlight: InFlight;
  mountPath: string;
  router: () => Router;
  tokens: AccessTokens;
  clients: ClientDirectory;
}

/** Express handler for everything under the FHIR base. */
export function fhirHandler(o: FhirMiddlewareOptions) {
  return (req: Request, res: Response, next: NextFunction): Promise<void> =>
    o.inFlight.track(async () => {
      try {
        const format = typeof req.query['_format'] === 'string' ? req.query['_format'] : undefined;
        const type = negotiate(format, req.headers.accept);
        res.locals['outputType'] = type;
        const verified = await principalOf(req, o.tokens, o.clients);
        checkRequestUrl(req.originalUrl);
        const { declared, rest } = declaredPurpose([...new URL(req.originalUrl, 'http://x').searchParams], req);
        const purpose = verified ? narrowPurpose(verified.purposeOfUse, declared) : DEFAULT_PURPOSE_OF_USE;
        const principal = verified && purpose !== verified.purposeOfUse ? { ...verified, purposeOfUse: purpose } : verified;
        const fhirReq = toFhirRequest(req, o.mountPath, rest, purpose);
        fhirReq.principal = principal;
        // The metrics edge labels the request with the route the router matches (never its path).
        res.locals['fhirRequest'] = fhirReq;
        // The same facts for the write audit deep inside the repository (the one AsyncLocalStorage).
        const ctx = { requestId: fhirReq.requestId, principal, purposeOfUse: purpose, remoteAddress: fhirReq.remoteAddress };
        const out = await runWithRequestContext(ctx, () => o.router().dispatch(fhirReq));
        writeFhirResponse(res, out, type, req.query['_pretty'] === 'true');
      } catch (e) {
        next(e);
      }
    });
}
