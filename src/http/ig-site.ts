/**
 * The implementation guide as static pages under /ig, with its FHIR package at
 * /ig/package.tgz. Public: it holds no personal data. Its pages get a CSP that allows their own
 * stylesheet and nothing else. Given a site directory, the site is built when missing or stale
 * (ig-build.ts: in the background, on the first request or shortly after start-up); a request
 * that comes before the build is done waits for it.
 */
import path from 'node:path';
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import type { Logger } from '../core/logger.ts';
import { IgBuilder } from './ig-build.ts';

/** How long a request waits for a build in progress before it is told to come back. */
const WAIT_MS = 60_000;

export function igSite(dir: string | undefined, logger?: Logger): Router {
  const r = express.Router();
  const builder = dir ? new IgBuilder(dir, logger) : undefined;
  r.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'");
    next();
  });
  if (builder) {
    r.use((_req: Request, res: Response, next: NextFunction) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), WAIT_MS);
      });
      void Promise.race([builder.ready(), late]).then((s) => {
        clearTimeout(timer);
        if (s === 'late') {
          res.status(503).setHeader('Retry-After', '5').type('text/plain').send('The implementation guide is being built.\n');
          return;
        }
        next();
      });
    });
    r.use(
      express.static(builder.siteDir, {
        index: 'index.html',
        extensions: ['html'],
        fallthrough: true,
        dotfiles: 'ignore',
        setHeaders: (res, file) => {
          if (!file.endsWith('.tgz')) return;
          res.setHeader('Content-Type', 'application/gzip');
          res.setHeader('Content-Disposition', `attachment; filename="${path.basename(file)}"`);
        },
      }),
    );
  }
  r.use((_req: Request, res: Response) => {
    const message =
      builder?.state === 'failed'
        ? 'The implementation guide could not be built (see the server log); run `npm run ig` to see why.\n'
        : builder && builder.state !== 'missing'
          ? 'Not found in the implementation guide.\n'
          : 'The implementation guide is not built: run `npm run ig`.\n';
    res.status(404).type('text/plain').send(message);
  });
  return r;
}
