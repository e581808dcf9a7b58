/**
 * Request ids and the access log. The id comes from a sane X-Request-Id or is generated, is
 * echoed back, and ties log lines to AuditEvents. The log line holds method, path (no query:
 * search values are personal data), status and duration.
 */
import crypto from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../core/logger.ts';

const SANE_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestLog(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && SANE_ID.test(given) ? given : crypto.randomUUID();
    res.locals['requestId'] = id;
    res.setHeader('X-Request-Id', id);
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      if (!logger.isLevelEnabled('info')) return;
      const q = req.originalUrl.indexOf('?');
      logger.info(
        {
          requestId: id,
          method: req.method,
          path: q >= 0 ? req.originalUrl.slice(0, q) : req.originalUrl,
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - start) / 1e6,
        },
        'request',
      );
    });
    next();
  };
}
