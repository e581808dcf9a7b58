/**
 * The request body limit, enforced before the body is read: a request whose Content-Length
 * already exceeds it answers 413 (an OperationOutcome) at once, and its connection is closed
 * rather than drained. A body without Content-Length (chunked) is counted while it is read
 * (express.raw's limit, with the same 413).
 */
import type { NextFunction, Request, Response } from 'express';
import { errors } from '../core/outcome.ts';
import { negotiate } from './content.ts';

export function refuseLargeBody(limit: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    // This and the authentication after it answer before the FHIR handler negotiates: their
    // refusals are written in the format the request asks for all the same (a 406 is the handler's).
    try {
      const format = typeof req.query['_format'] === 'string' ? req.query['_format'] : undefined;
      res.locals['outputType'] = negotiate(format, req.headers.accept);
    } catch {
      // not acceptable: the handler answers 406
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      // Not a byte of it will be read: do not keep the connection for the rest.
      res.setHeader('Connection', 'close');
      next(errors.payloadTooLarge(`The request body is larger than this server accepts (${limit} bytes)`));
      return;
    }
    next();
  };
}
