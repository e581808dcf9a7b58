/**
 * The Express edge, in order: request metrics, request log, security headers, the IG site and
 * the person's portal, health and `/metrics`, the OAuth endpoints, discovery and published keys, the log's checkpoint, then
 * the FHIR API (body read only after the token is accepted) and the one error handler. app.ts
 * builds the services and hands this what the edge serves.
 */
import express from 'express';
import helmet from 'helmet';
import type { Express } from 'express';
import type { JWK } from 'jose';
import type { AccessTokens } from '../auth/access-token.ts';
import type { ClientDirectory } from '../auth/clients.ts';
import type { ServerKeys } from '../auth/keys.ts';
import type { PersonSignIn } from '../auth/person-sign-in.ts';
import type { AuthEndpoints } from '../auth/smart-configuration.ts';
import type { TokenEndpoint } from '../auth/token-endpoint.ts';
import type { TreeHeads } from '../audit/tree-heads.ts';
import type { Router } from '../api/router.ts';
import type { Logger } from '../core/logger.ts';
import { oauthRouter, smartConfigurationHandler } from './auth-routes.ts';
import { authenticateBeforeBody } from './bearer.ts';
import { refuseLargeBody } from './body-limit.ts';
import { errorHandler, RETRY_AFTER_SECONDS } from './errors.ts';
import { fhirHandler } from './fhir-routes.ts';
import { igSite } from './ig-site.ts';
import { InFlight } from './in-flight.ts';
import { logCheckpointHandler } from './log-checkpoint.ts';
import { metricsEndpoint } from './metrics.ts';
import type { Metrics } from './metrics.ts';
import type { MetricsAccess } from './metrics-access.ts';
import { portalRouter } from './portal-site.ts';
import { requestLog } from './request-log.ts';

/** The path of a URL on this server (the FHIR base's, the OAuth issuer's). */
export function mountPathOf(url: string): string {
  return new URL(url).pathname.replace(/\/+$/, '');
}

export interface EdgeDeps {
  logger: Logger;
  /** Whether the database answers (`/readyz`). */
  ready: () => Promise<boolean>;
  igSiteDir: string | undefined;
  baseUrl: string;
  endpoints: AuthEndpoints;
  keys: ServerKeys;
  tokens: AccessTokens;
  clients: ClientDirectory;
  tokenEndpoint: TokenEndpoint;
  personSignIn: PersonSignIn;
  /** The SMART discovery document. */
  smartConfiguration: Record<string, unknown>;
  /** The authority's envelope key, public. */
  envelopeJwks: { keys: JWK[] };
  treeHeads: TreeHeads | undefined;
  logHeadSeconds: number;
  maxBodyBytes: number;
  router: () => Router;
  /** Prometheus metrics (absent: MEDID_METRICS=off, no `/metrics` and nothing measured). */
  metrics: Metrics | undefined;
  metricsAccess: MetricsAccess;
}

export function expressEdge(d: EdgeDeps): { app: Express; inFlight: InFlight } {
  const inFlight = new InFlight();
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const mount = mountPathOf(d.baseUrl);
  if (d.metrics) app.use(d.metrics.requests(mount));
  app.use(requestLog(d.logger));
  // A JSON API needs few of helmet's browser headers; a deny-all CSP and nosniff are the ones
  // that matter (each extra header is paid on every response). HTML pages add their own.
  app.use(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: { 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] } },
      crossOriginOpenerPolicy: false,
      crossOriginResourcePolicy: false,
      originAgentCluster: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
      xFrameOptions: false,
    }),
  );
  app.use('/ig', igSite(d.igSiteDir, d.logger));
  // The person's portal (issue 17 item 6): static pages on the public FHIR API, their own CSP.
  app.use('/portal', portalRouter({ baseUrl: d.baseUrl }));
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ok = await d.ready();
    if (!ok) res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'database unreachable' });
  });
  // Prometheus, behind MEDID_METRICS (not the FHIR token); a refused request meets the 404 of an unknown path.
  if (d.metrics) app.get('/metrics', metricsEndpoint(d.metrics, d.metricsAccess));
  app.use(
    mountPathOf(d.endpoints.issuer),
    oauthRouter({
      inFlight,
      endpoints: d.endpoints,
      keys: d.keys,
      tokens: d.tokens,
      clients: d.clients,
      audience: d.baseUrl,
      token: d.tokenEndpoint,
      personSignIn: d.personSignIn,
    }),
  );
  app.get(`${mount}/.well-known/smart-configuration`, smartConfigurationHandler(d.smartConfiguration));
  // The key providers seal envelopes to (public, like the token signing keys' JWKS).
  const envelopeJwks = JSON.stringify(d.envelopeJwks);
  app.get(`${mount}/.well-known/medid-envelope-jwks`, (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.type('application/json').send(envelopeJwks);
  });
  // The access log's latest signed checkpoint, as text (public: witnesses poll it).
  if (d.treeHeads) app.get(`${mount}/_log/checkpoint`, logCheckpointHandler(d.treeHeads, { headSeconds: d.logHeadSeconds }));
  // CORS: the CapabilityStatement is public and read by browser-based clients.
  app.use(`${mount}/metadata`, (_req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    next();
  });
  // The body is read last: never when it is declared too large (413 at once), and only once the
  // bearer token is accepted (a refused one answers 401 without the server buffering the body).
  app.use(
    mount,
    refuseLargeBody(d.maxBodyBytes),
    authenticateBeforeBody(d.tokens, d.clients, express.raw({ type: () => true, limit: d.maxBodyBytes })),
  );
  app.all(`${mount}{/*rest}`, fhirHandler({ inFlight, mountPath: mount, router: d.router, tokens: d.tokens, clients: d.clients }));
  app.use(errorHandler(d.logger));
  return { app, inFlight };
}
