/**
 * The implementation guide as static pages under /ig (built by `npm run ig`). Public: it holds
 * no personal data. Its pages get a CSP that allows their own stylesheet and nothing else.
 */
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';

export function igSite(dir: string | undefined): Router {
  const r = express.Router();
  r.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'");
    next();
  });
  if (dir && fs.existsSync(path.join(dir, 'index.html'))) {
    r.use(express.static(dir, { index: 'index.html', extensions: ['html'], fallthrough: true }));
  }
  r.use((_req: Request, res: Response) => {
    res
      .status(404)
      .type('text/plain')
      .send(
        dir && fs.existsSync(dir)
          ? 'Not found in the implementation guide.\n'
          : 'The implementation guide is not built: run `npm run ig`.\n',
      );
  });
  return r;
}
