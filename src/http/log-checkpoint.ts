/**
 * `GET [base]/_log/checkpoint`: the access log's latest signed checkpoint (a C2SP signed note,
 * https://c2sp.org/tlog-checkpoint) as text/plain, public like a JWKS — what witnesses and their
 * tools poll. Errors are OperationOutcomes, from the one error handler.
 */
import type { NextFunction, Request, Response } from 'express';
import { errors } from '../core/outcome.ts';

export function logCheckpointHandler(heads: { head(): Promise<{ checkpoint: string } | undefined> }, o: { headSeconds: number }) {
  const cache = `public, max-age=${Math.max(1, Math.min(o.headSeconds, 60))}`;
  return (_req: Request, res: Response, next: NextFunction): void => {
    heads.head().then(
      (h) => {
        if (!h) {
          next(errors.notFound('The access log has no signed tree head yet'));
          return;
        }
        res.setHeader('Cache-Control', cache);
        res.setHeader('Access-Control-Allow-Origin', '*');
        res.type('text/plain; charset=utf-8').send(h.checkpoint);
      },
      (e: unknown) => next(e),
    );
  };
}
