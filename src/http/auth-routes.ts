/**
 * OAuth endpoints (token, introspection, JWKS) and SMART discovery, at the Express edge.
 * OAuth answers are RFC 6749 JSON with Cache-Control: no-store; discovery and JWKS are public,
 * JSON whatever the Accept header, and open to any origin (CORS).
 */
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import type { AccessTokens } from '../auth/access-token.ts';
import type { ClientDirectory } from '../auth/clients.ts';
import { introspect } from '../auth/introspection.ts';
import type { ServerKeys } from '../auth/keys.ts';
import type { AuthEndpoints } from '../auth/smart-configuration.ts';
import type { TokenEndpoint } from '../auth/token-endpoint.ts';
import type { BrowserAnswer, PersonSignIn } from '../auth/person-sign-in.ts';
import type { InFlight } from './in-flight.ts';
import { RETRY_AFTER_SECONDS } from './errors.ts';
import { isOutcomeError, statusOf } from '../core/outcome.ts';

export interface AuthRouteDeps {
  inFlight: InFlight;
  endpoints: AuthEndpoints;
  keys: ServerKeys;
  tokens: AccessTokens;
  clients: ClientDirectory;
  token: TokenEndpoint;
  audience: string;
  /** The person's sign-in (SMART standalone patient launch), when configured. */
  personSignIn: PersonSignIn;
}

/** A browser step's answer: a redirect, or a short plain-text page (an error that cannot go back to the app). */
function answerBrowser(res: Response, a: BrowserAnswer): void {
  noStore(res);
  if ('redirect' in a) {
    res.redirect(302, a.redirect);
    return;
  }
  res.status(a.status).type('text/plain; charset=utf-8').send(a.text);
}

function noStore(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
}

function cors(res: Response): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
}

/** Form bodies only; anything else is an OAuth invalid_request. */
function formOf(req: Request): URLSearchParams | undefined {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded' || !Buffer.isBuffer(req.body)) return undefined;
  return new URLSearchParams(req.body.toString('utf8'));
}

export function oauthRouter(d: AuthRouteDeps): Router {
  const wrap =
    (fn: (req: Request, res: Response) => Promise<void>) =>
    (req: Request, res: Response, next: NextFunction): void => {
      d.inFlight
        .track(() => fn(req, res))
        .catch((e: unknown) => {
          // OAuth clients read RFC 6749 JSON, not an OperationOutcome: a database that cannot
          // answer is `temporarily_unavailable`, with when to try again.
          if (isOutcomeError(e) && statusOf(e.outcome) === 503 && !res.headersSent) {
            noStore(res);
            res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
            res
              .status(503)
              .json({ error: 'temporarily_unavailable', error_description: 'the server cannot answer just now; try again shortly' });
            return;
          }
          next(e);
        });
    };
  const r = express.Router();
  r.use(express.raw({ type: () => true, limit: '64kb' }));
  r.post(
    '/token',
    wrap(async (req, res) => {
      noStore(res);
      const form = formOf(req);
      if (!form) {
        res.status(400).json({ error: 'invalid_request', error_description: 'send an application/x-www-form-urlencoded body' });
        return;
      }
      const meta = { requestId: String(res.locals['requestId']), remoteAddress: req.socket.remoteAddress };
      // A person's app redeems its code here (public client + PKCE); machines use client_credentials.
      const out =
        form.get('grant_type') === 'authorization_code' && d.personSignIn.enabled
          ? await d.personSignIn.redeem(form, meta)
          : await d.token.handle(form, meta);
      res.status(out.status).json(out.body);
    }),
  );
  // The person's sign-in: browser steps (query in, redirect or short page out).
  const steps: readonly [string, 'authorize' | 'callback'][] = [
    ['/authorize', 'authorize'],
    ['/person/callback', 'callback'],
  ];
  for (const [path, step] of steps)
    r.get(
      path,
      wrap(async (req, res) => {
        const q = new URLSearchParams(req.url.split('?')[1] ?? '');
        const meta = { requestId: String(res.locals['requestId']), remoteAddress: req.socket.remoteAddress };
        answerBrowser(res, await d.personSignIn[step](q, meta));
      }),
    );
  r.post(
    '/introspect',
    wrap(async (req, res) => {
      noStore(res);
      const form = formOf(req);
      res.json(await introspect(form?.get('token') ?? null, d.tokens, d.clients, d.audience, d.endpoints.issuer));
    }),
  );
  r.get('/jwks', (_req, res) => {
    cors(res);
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(d.keys.jwks);
  });
  r.options('/{*any}', (_req, res) => {
    cors(res);
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization');
    res.status(204).end();
  });
  return r;
}

/** `[base]/.well-known/smart-configuration`. */
export function smartConfigurationHandler(doc: Record<string, unknown>) {
  const json = JSON.stringify(doc);
  return (_req: Request, res: Response): void => {
    cors(res);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(json);
  };
}
