/**
 * createApp(deps): the Express application with its middleware in order, the OAuth endpoints,
 * the FHIR router with authorization and audit around every dispatch, health endpoints and
 * the one error handler. Everything it uses is passed in, so each test builds its own app on
 * its own database with its own keys.
 */
import express from 'express';
import helmet from 'helmet';
import type { Express } from 'express';
import { AuditLog } from './audit/audit-log.ts';
import { auditAfter, auditWrite } from './audit/disclosure.ts';
import { AccessTokens } from './auth/access-token.ts';
import { RemoteJwksCache } from './auth/client-keys.ts';
import type { FetchFn } from './auth/client-keys.ts';
import { ClientRegistry } from './auth/clients.ts';
import { assertAllowed } from './auth/guard.ts';
import type { ServerKeys } from './auth/keys.ts';
import { authEndpoints, capabilitySecurity, smartConfiguration } from './auth/smart-configuration.ts';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import type { Config } from './config.ts';
import { buildCapabilityStatement } from './fhir/capability.ts';
import { publishConformance, publishedKeys } from './fhir/conformance.ts';
import { PatientCompartment } from './fhir/compartment.ts';
import type { FhirContext } from './fhir/context.ts';
import type { FhirDefinitions } from './fhir/definitions/index.ts';
import { auditEventCapability } from './fhir/interactions/audit-events.ts';
import { errors } from './fhir/outcome.ts';
import { validateOperation } from './fhir/operations/validate.ts';
import { exportOperation, exportRoutes } from './fhir/operations/export.ts';
import { changeMedicalIdOperation, mergeOperation, recordDeathOperation, unmergeOperation } from './fhir/operations/lifecycle.ts';
import { registerOperation } from './fhir/operations/register.ts';
import { eligibilityOperation } from './fhir/operations/eligibility.ts';
import { matchOperation } from './fhir/operations/match.ts';
import { recordLocationsOperation } from './fhir/operations/record-locations.ts';
import { MismatchDesk } from './eligibility/mismatch.ts';
import { pixOperation } from './fhir/operations/pix.ts';
import { mpiIndexHook } from './mpi/index-hook.ts';
import { DEFAULT_THRESHOLDS, Matcher } from './mpi/match.ts';
import { WeightsStore } from './mpi/weights-store.ts';
import { Lifecycle } from './registry/lifecycle.ts';
import { Registrar } from './registry/registrar.ts';
import type { OperationHandler } from './fhir/operations/registry.ts';
import type { Router, RouterHooks } from './fhir/router.ts';
import { createFhirRouter } from './fhir/routes.ts';
import type { IdentifierNormalizer } from './fhir/search/index-rows.ts';
import { identifierHook } from './identifiers/normalize-resource.ts';
import { IdentifierRegistry } from './identifiers/registry.ts';
import { ID_SYSTEMS } from './identifiers/systems.ts';
import { MyNumberMac } from './privacy/my-number-mac.ts';
import { MyNumberVault } from './privacy/my-number-vault.ts';
import { oauthRouter, smartConfigurationHandler } from './http/auth-routes.ts';
import { errorHandler } from './http/errors.ts';
import { fhirHandler } from './http/fhir-routes.ts';
import { igSite } from './http/ig-site.ts';
import { InFlight } from './http/in-flight.ts';
import { requestLog } from './http/request-log.ts';
import type { Logger } from './logger.ts';
import { Repository } from './repo/repository.ts';
import { Validator } from './repo/validator.ts';
import { recordAssertionJti } from './store/clients.ts';
import type { Db } from './store/db.ts';
import { ping } from './store/health.ts';

export const VERSION = '0.1.0';

export interface AppDeps {
  config: Pick<Config, 'baseUrl' | 'defaultCount' | 'maxCount' | 'maxBodyBytes' | 'audit'> &
    Partial<Pick<Config, 'medicalIdSystem' | 'ruleRecipientCheckDigit' | 'ruleLateElderlyCheckDigit' | 'deathRetentionDays' | 'mergeUndoDays' | 'matchThresholds' | 'matchBlockLimit'>>;
  /** The registry secret (keyed MACs of My Number); tests pass random bytes. */
  registrySecret: Buffer;
  /**
   * Connections for the audit writer's batches (outside transactions). A separate small pool
   * keeps audit batches from queueing behind requests for the main pool's connections (and
   * requests behind them). Defaults to `db`.
   */
  auditDb?: Db;
  db: Db;
  defs: FhirDefinitions;
  logger: Logger;
  keys: ServerKeys;
  clock?: Clock;
  /** The built implementation guide (`npm run ig` → ig/site), served under /ig when present. */
  igSiteDir?: string;
  /** How client jwks_uri documents are fetched (tests pass a stub). */
  fetch?: FetchFn;
}

export interface App {
  express: Express;
  identifiers: IdentifierRegistry;
  router: Router;
  context: FhirContext;
  tokens: AccessTokens;
  clients: ClientRegistry;
  auditLog: AuditLog;
  /** Resolves when no request handler is running (graceful shutdown). */
  drained: () => Promise<void>;
  /** Writes medid's conformance resources into the store (start-up); returns how many changed. */
  publishConformance: () => Promise<number>;
  registrar: Registrar;
  lifecycle: Lifecycle;
  /** Bulk exports still being written (shutdown and tests wait for them). */
  exportsRunning: Set<Promise<void>>;
}

/** Finished bulk-export files stay downloadable this long. */
export const EXPORT_RETENTION_MS = 24 * 3600 * 1000;

/** The path of the FHIR base on this server, from the configured base URL. */
export function mountPathOf(baseUrl: string): string {
  return new URL(baseUrl).pathname.replace(/\/+$/, '');
}

export function createApp(deps: AppDeps): App {
  const clock = deps.clock ?? systemClock;
  const { baseUrl } = deps.config;
  const identifiers = new IdentifierRegistry({
    rules: { recipientNumberCheckDigit: deps.config.ruleRecipientCheckDigit ?? false, lateElderlyNumberCheckDigit: deps.config.ruleLateElderlyCheckDigit ?? false },
    medicalIdSystem: deps.config.medicalIdSystem,
  });
  const vault = new MyNumberVault(new MyNumberMac(deps.registrySecret));
  const normalizeIdentifier: IdentifierNormalizer = (system, value) =>
    system === ID_SYSTEMS.myNumber ? vault.searchKey(value) : identifiers.normalizeForSearch(system, value);
  const validator = new Validator(deps.defs);
  const compartment = new PatientCompartment();
  const auditLog = new AuditLog(deps.auditDb ?? deps.db, { enabled: deps.config.audit });
  const auditDeps = { auditLog, compartment, baseUrl, clock, logger: deps.logger };
  const repo = new Repository({
    db: deps.db, defs: deps.defs, validator, compartment, baseUrl, clock, normalizeIdentifier,
    beforeWrite: [identifierHook(identifiers), vault.beforeWrite],
    afterWrite: [vault.afterWrite, mpiIndexHook, ...(deps.config.audit ? [auditWrite(auditDeps)] : [])],
  });
  const context: FhirContext = {
    repo, defs: deps.defs, validator, clock, normalizeIdentifier, baseUrl,
    defaultCount: deps.config.defaultCount, maxCount: deps.config.maxCount,
    published: publishedKeys(deps.defs.conformance),
  };

  const endpoints = authEndpoints(baseUrl);
  const clients = new ClientRegistry(deps.db);
  const tokens = new AccessTokens({ keys: deps.keys, issuer: endpoints.issuer, audience: baseUrl, isResourceType: deps.defs.isResourceType, now: () => clock.now().getTime() });
  const hooks = (tx: Db | undefined): RouterHooks => ({
    authorize: (req, route, params) => {
      if (route.public) return;
      if (!req.principal) throw errors.unauthorized();
      assertAllowed(req.principal, route.access?.(req, params) ?? []);
    },
    after: auditAfter(auditDeps, tx),
  });

  const medicalIdSystem = identifiers.medicalIdSystem;
  const mac = new MyNumberMac(deps.registrySecret);
  const registrar = new Registrar({
    repo, mac, clock, medicalIdSystem,
    // The message only: a database error's detail could quote a value.
    onBulkFallback: (err) => deps.logger.warn({ err: err instanceof Error ? err.message : 'unknown' }, 'a registration batch fell back to record-by-record'),
  });
  const lifecycle = new Lifecycle({
    repo, clock, medicalIdSystem, deathRetentionDays: deps.config.deathRetentionDays ?? 3650, mergeUndoDays: deps.config.mergeUndoDays ?? 30,
  });
  const weights = new WeightsStore(deps.db);
  const matcher = new Matcher({
    db: deps.db, mac, weights: () => weights.get(), thresholds: deps.config.matchThresholds ?? DEFAULT_THRESHOLDS,
    blockLimit: deps.config.matchBlockLimit ?? 2000, normalizeIdentifier: (s, v) => identifiers.normalizeForSearch(s, v),
  });
  const exportsRunning = new Set<Promise<void>>();
  const exportDeps = { db: deps.db, baseUrl, medicalIdSystem, retentionMs: EXPORT_RETENTION_MS, now: () => clock.now(), running: exportsRunning };
  const operations: OperationHandler[] = [
    validateOperation,
    registerOperation(registrar, { rules: identifiers.rules, medicalIdSystem, concurrency: deps.db.driver === 'pg' ? 4 : 1 }),
    changeMedicalIdOperation(lifecycle, medicalIdSystem), recordDeathOperation(lifecycle), mergeOperation(lifecycle), unmergeOperation(lifecycle),
    exportOperation(exportDeps), matchOperation(matcher), pixOperation({ medicalIdSystem }),
    eligibilityOperation({ mismatches: new MismatchDesk(medicalIdSystem) }), recordLocationsOperation,
  ];
  let capability: string | undefined;
  const router: Router = createFhirRouter(context, {
    operations,
    hooks,
    extra: [...exportRoutes(exportDeps), {
      method: 'GET', pattern: '/metadata', name: 'capabilities', public: true,
      handler: () => {
        capability ??= JSON.stringify(buildCapabilityStatement(deps.defs, router, {
          baseUrl, version: VERSION, security: capabilitySecurity(endpoints), overrides: [auditEventCapability()],
        }));
        return Promise.resolve({ status: 200, body: { json: capability } });
      },
    }],
  });
  const scopesSupported = ['system/*.rs', 'system/*.cruds', ...deps.defs.resourceTypes.flatMap((t) => [`system/${t}.rs`, `system/${t}.cruds`])];

  const inFlight = new InFlight();
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLog(deps.logger));
  // A JSON API needs few of helmet's browser headers; a deny-all CSP and nosniff are the ones
  // that matter (each extra header is paid on every response). HTML pages add their own.
  app.use(helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] } },
    crossOriginOpenerPolicy: false,
    crossOriginResourcePolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
    xFrameOptions: false,
  }));
  app.use('/ig', igSite(deps.igSiteDir));
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ok = await ping(deps.db);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'database unreachable' });
  });
  app.use(mountPathOf(endpoints.issuer), oauthRouter({
    inFlight, endpoints, keys: deps.keys, tokens, clients, audience: baseUrl, smartConfiguration: {},
    token: {
      clients, remoteJwks: new RemoteJwksCache(deps.fetch), tokenEndpoint: endpoints.tokenEndpoint,
      recordJti: (c, j, e) => recordAssertionJti(deps.db, c, j, e), now: () => clock.now().getTime(),
      tokens, auditLog, logger: deps.logger, baseUrl, isResourceType: deps.defs.isResourceType,
    },
  }));
  const mount = mountPathOf(baseUrl);
  app.get(`${mount}/.well-known/smart-configuration`, smartConfigurationHandler(smartConfiguration(endpoints, scopesSupported)));
  // CORS: the CapabilityStatement is public and read by browser-based clients.
  app.use(`${mount}/metadata`, (_req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    next();
  });
  app.use(mount, express.raw({ type: () => true, limit: deps.config.maxBodyBytes }));
  app.all(`${mount}{/*rest}`, fhirHandler({ inFlight, mountPath: mount, router: () => router, tokens, clients }));
  app.use(errorHandler(deps.logger));
  return {
    express: app, identifiers, router, context, tokens, clients, auditLog,
    drained: () => inFlight.drained(),
    publishConformance: () => publishConformance(repo, deps.defs.conformance),
    registrar, lifecycle, exportsRunning,
  };
}
