/**
 * The one error handler: OperationOutcomeErrors become their status and outcome (503 with
 * Retry-After when the database cannot answer: store/db-errors.ts); body-parser failures become
 * 400/413; anything else is a 500 with a generic outcome, logged with the request id but never
 * the request's content. The outcome is written in the format the request negotiated (JSON or XML).
 */
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../core/logger.ts';
import { errors, isOutcomeError, statusOf } from '../core/outcome.ts';
import { outcome, issue } from '../core/outcome.ts';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { isXmlType, xmlBody } from './content.ts';
import type { OutputType } from './content.ts';

function fromBodyParser(e: unknown): OperationOutcome | undefined {
  const type = (e as { type?: string }).type;
  // A malformed %-escape in a path Express itself decodes (RFC 3986 §2.1): the client's mistake.
  if (e instanceof URIError) return errors.badRequest('The URL has an invalid %-encoding', 'invalid-parameter').outcome;
  if (type === 'entity.too.large') return errors.payloadTooLarge('The request body is larger than this server accepts').outcome;
  if (type === 'entity.parse.failed' || type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return errors.badRequest('The request body could not be read', 'invalid-json', undefined, 'structure').outcome;
  }
  // The client hung up mid-body, or sent fewer bytes than its Content-Length: its fault, not a 500.
  if (type === 'request.aborted' || type === 'request.size.invalid') {
    return errors.badRequest('The request body ended before its announced length', 'invalid-json', undefined, 'structure').outcome;
  }
  return undefined;
}

/** Seconds a client is asked to wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 5;

export function errorHandler(logger: Logger) {
  return (e: unknown, req: Request, res: Response, _next: NextFunction): void => {
    let o: OperationOutcome;
    let status: number;
    if (isOutcomeError(e)) {
      o = e.outcome;
      status = statusOf(o);
    } else {
      const parsed = fromBodyParser(e);
      if (parsed) {
        o = parsed;
        status = statusOf(o);
      } else {
        logger.error(
          {
            requestId: res.locals['requestId'],
            err: { name: (e as Error).name, message: (e as Error).message, stack: (e as Error).stack },
          },
          'unhandled error',
        );
        o = outcome(undefined, [
          issue({ code: 'exception', medid: 'internal', text: `Internal server error (request ${String(res.locals['requestId'])})` }),
        ]);
        status = 500;
      }
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    // RFC 6750 §3: tell the client how to authenticate, and why a token was refused.
    if (status === 401) {
      res.setHeader(
        'WWW-Authenticate',
        o.id === 'invalid-token'
          ? `Bearer realm="medid", error="invalid_token", error_description="${(o.issue?.[0]?.details?.text ?? '').replace(/"/g, "'")}"`
          : 'Bearer realm="medid"',
      );
    } else if (status === 403 && o.id === 'forbidden') {
      res.setHeader('WWW-Authenticate', 'Bearer realm="medid", error="insufficient_scope"');
    } else if (status === 503) {
      // RFC 9110 §10.2.3: when to try again. A restarting database or a lost deadlock race
      // clears within seconds; a client that waits this long does not hammer a recovering one.
      res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    }
    let type = (res.locals['outputType'] as OutputType | undefined) ?? 'application/fhir+json';
    const pretty = req.query['_pretty'] === 'true';
    let body = pretty ? JSON.stringify(o, null, 2) : JSON.stringify(o);
    if (isXmlType(type)) {
      // The outcome in the XML the request asked for; should writing it fail, in JSON all the same.
      try {
        body = xmlBody(body, pretty) ?? body;
      } catch {
        type = 'application/fhir+json';
      }
    }
    res.status(status).setHeader('Content-Type', `${type}; charset=utf-8`);
    res.end(body);
  };
}
