/**
 * createApp(deps): wiring only. It builds the services from what is passed in, connects the
 * announcements between them (a service never imports another), and assembles the Express
 * edge: middleware in order, the OAuth endpoints, the FHIR router with authorization and audit
 * around every dispatch, health endpoints and the one error handler. Each test builds its own
 * app on its own database with its own keys.
 */
import crypto from 'node:crypto';
import type { Express } from 'express';
import { auditEventCapability } from './api/interactions/audit-events.ts';
import { auditAfter } from './api/audit-hook.ts';
import { buildCapabilityStatement } from './api/capability.ts';
import type { FhirContext } from './api/context.ts';
import { coverageEligibilityRequestSubmit } from './api/operations/coverage-eligibility-request-submit.ts';
import { measureEvaluateMeasure } from './api/operations/measure-evaluate-measure.ts';
import { patientRegisterCard } from './api/operations/patient-register-card.ts';
import type { OperationHandler } from './api/operations/operation.ts';
import { patientChangeMedicalId } from './api/operations/patient-change-medical-id.ts';
import { patientExport } from './api/operations/patient-export.ts';
import { patientExportStatusRoutes } from './api/operations/patient-export-status.ts';
import { patientFeedNetworkId } from './api/operations/patient-feed-network-id.ts';
import { pseudonymizedExportRoutes } from './api/operations/patient-export-pseudonymized.ts';
import { pseudonymizedRoutes } from './api/interactions/pseudonymized.ts';
import { taskApprove } from './api/operations/task-approve.ts';
import { taskClose } from './api/operations/task-close.ts';
import { taskResolve } from './api/operations/task-resolve.ts';
import { taskLink } from './api/operations/task-link.ts';
import { taskLinkageOrder } from './api/operations/task-linkage-order.ts';
import { LinkageOrders } from './pseudonym/linkage.ts';
import { AccessLog } from './audit/access-log.ts';
import { FileLogKey, logKeyName } from './audit/log-key.ts';
import type { LogKey } from './audit/log-key.ts';
import { TreeHeads } from './audit/tree-heads.ts';
import { accessLogRoutes } from './api/interactions/access-log.ts';
import { auditPersonOf } from './pseudonym/audit-person.ts';
import type { Principal } from './core/principal.ts';
import { patientIhePix } from './api/operations/patient-ihe-pix.ts';
import { patientMatch } from './api/operations/patient-match.ts';
import { patientMerge } from './api/operations/patient-merge.ts';
import { patientRecordDeath } from './api/operations/patient-record-death.ts';
import { patientRecordLocations } from './api/operations/patient-record-locations.ts';
import { patientRegister } from './api/operations/patient-register.ts';
import { patientUnmerge } from './api/operations/patient-unmerge.ts';
import { resourceValidate } from './api/operations/resource-validate.ts';
import type { Router, RouterHooks } from './api/router.ts';
import { createFhirRouter } from './api/routes.ts';
import { AuditLog } from './audit/audit-log.ts';
import { AuditTrail } from './audit/audit-trail.ts';
import { loginAuditRow } from './audit/login-audit.ts';
import { auditPersonWrite, auditWrite } from './audit/write-audit.ts';
import { AccessTokens } from './auth/access-token.ts';
import { RemoteJwksCache } from './auth/client-keys.ts';
import type { FetchFn } from './auth/client-keys.ts';
import { ClientDirectory } from './auth/clients.ts';
import type { PseudonymKeys } from './pseudonym/keys.ts';
import { PseudonymDomainList } from './pseudonym/domain-list.ts';
import { PseudonymService } from './pseudonym/service.ts';
import { pseudonymize } from './api/operations/pseudonymize.ts';
import { sealerFor } from './auth/client-encryption.ts';
import { verifyClientJws } from './auth/client-signature.ts';
import { FileEnvelopeKeys } from './privacy/envelope-keys.ts';
import { EnvelopeDesk, registryEnvelopeStore } from './registry/envelope.ts';
import type { EnvelopeKeys } from './registry/envelope.ts';
import type { JWK } from 'jose';
import { assertAllowed } from './auth/guard.ts';
import type { ServerKeys } from './auth/keys.ts';
import { authEndpoints, capabilitySecurity, smartConfiguration } from './auth/smart-configuration.ts';
import { TokenEndpoint } from './auth/token-endpoint.ts';
import { PersonIdp } from './auth/person-idp.ts';
import { PersonSignIn, PORTAL_CLIENT_ID, PORTAL_SCOPE } from './auth/person-sign-in.ts';
import { patientOfMyNumber } from './store/my-number.ts';
import { defaultConfig } from './config.ts';
import type { Config } from './config.ts';
import type { Clock } from './core/clock.ts';
import { systemClock } from './core/clock.ts';
import type { Logger } from './core/logger.ts';
import { errors } from './core/outcome.ts';
import { DEFAULT_PURPOSE_OF_USE, ID_SYSTEMS } from './core/systems.ts';
import type { OrgKind } from './core/principal.ts';
import { authorizeByPolicy } from './api/access.ts';
import { ACCESS_POLICY, AccessPolicy } from './privacy/access-policy.ts';
import { consentRulesHook } from './privacy/consent/hook.ts';
import { registryIntegrityGuard } from './privacy/registry-integrity.ts';
import { carriedMedicalIdHook } from './registry/carried-medical-id.ts';
import { BreakTheGlass } from './privacy/break-the-glass.ts';
import { NetworkIds } from './privacy/network-ids.ts';
import { patientBreakTheGlass } from './api/operations/patient-break-the-glass.ts';
import { CardCertificates } from './eligibility/card-certificates.ts';
import { EligibilityDesk } from './eligibility/confirm.ts';
import { MismatchDesk } from './eligibility/mismatch.ts';
import { serviceUseWrite } from './eligibility/service-use.ts';
import { PatientCompartment } from './fhir/compartment.ts';
import { publishedKeys } from './fhir/definitions/conformance-resources.ts';
import type { FhirDefinitions } from './fhir/definitions/index.ts';
import type { IdentifierNormalizer } from './fhir/search/index-rows.ts';
import { IdentifierCatalog } from './identifiers/catalog.ts';
import { identifierHook } from './identifiers/normalize-resource.ts';
import { expressEdge, mountPathOf } from './http/edge.ts';
import { Metrics } from './http/metrics.ts';
import { mpiIndexHook } from './mpi/index-hook.ts';
import { Matcher } from './mpi/match.ts';
import { WeightsStore } from './mpi/weights-store.ts';
import { assertMaySubmitRecord } from './privacy/access-rules.ts';
import { CertificateMac } from './privacy/my-number/certificate-mac.ts';
import { MyNumberMac } from './privacy/my-number/mac.ts';
import type { KeyedMac } from './privacy/my-number/mac.ts';
import { MyNumberVault } from './privacy/my-number/vault.ts';
import { ExportJobs } from './registry/export-jobs.ts';
import { Lifecycle } from './registry/lifecycle.ts';
import { linkSealer, readOversightKey } from './registry/sealed-link.ts';
import type { RecordMatching } from './registry/matching.ts';
import { Registrar } from './registry/registrar.ts';
import { publishConformance } from './repo/conformance.ts';
import { UnitOfWork } from './repo/unit-of-work.ts';
import { Validator } from './repo/validator.ts';
import { recordAssertionJti } from './store/clients.ts';
import type { Db } from './store/db.ts';
import { ping } from './store/health.ts';

export const VERSION = '0.1.0';

export interface AppDeps {
  /** Settings; what is left out takes its default from config.ts (the only home of defaults). */
  config: Pick<Config, 'baseUrl'> & Partial<Config>;
  /** The registry secret (keyed MACs of My Number); tests pass random bytes. Unused when both MACs below are given. */
  registrySecret?: Buffer;
  /** The My Number MAC from the key store (core/keys: a rotated chain, or an HSM key); default: from `registrySecret`. */
  myNumberMac?: KeyedMac;
  /** The card certificate serial's MAC from the key store; default: from `registrySecret`. */
  certificateMac?: KeyedMac;
  /** The pseudonymization service's keys (operations, not bytes); tests pass keys from random bytes. */
  pseudonymKeys: PseudonymKeys;
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
  /** The implementation guide site (ig/site), served under /ig; built in the background when missing or stale. */
  igSiteDir?: string;
  /** How client jwks_uri documents are fetched (tests pass a stub). */
  fetch?: FetchFn;
  /**
   * The authority's envelope key (sealed delivery, R18), as an operation and its public JWKS;
   * main.ts passes the file-backed one. Absent: a key generated for this process only (tests,
   * scripts) — envelopes sealed to it do not survive a restart.
   */
  envelopeKeys?: EnvelopeKeys & { readonly jwks: { keys: JWK[] } };
  /**
   * The access log's signing key (an operation and its public forms); main.ts passes the
   * file-backed one. Absent: a key generated for this process only (tests, scripts).
   */
  logKey?: LogKey;
}

export interface App {
  express: Express;
  identifiers: IdentifierCatalog;
  router: Router;
  context: FhirContext;
  tokens: AccessTokens;
  clients: ClientDirectory;
  pseudonyms: PseudonymService;
  /** The person's sign-in (the registry sweep removes expired requests and codes). */
  personSignIn: PersonSignIn;
  /** Linkage orders between utilizing databases (the registry sweep ends expired ones). */
  linkage: LinkageOrders;
  auditLog: AuditLog;
  /** The access log's signed tree heads and proofs (absent when the access log is off); main.ts starts its timer. */
  treeHeads: TreeHeads | undefined;
  /** Resolves when no request handler is running (graceful shutdown). */
  drained: () => Promise<void>;
  /** Writes medid's conformance resources into the store (start-up); returns how many changed. */
  publishConformance: () => Promise<number>;
  registrar: Registrar;
  lifecycle: Lifecycle;
  exportJobs: ExportJobs;
  /** Prometheus metrics (absent with MEDID_METRICS=off); main.ts records its sweeps in them. */
  metrics: Metrics | undefined;
}

/** Finished bulk-export files stay downloadable this long. */
export const EXPORT_RETENTION_MS = 24 * 3600 * 1000;

/** The purposes of use each kind of organization may use, its default first (the access policy). */
export const kindPurposes = (kind: OrgKind): readonly string[] => ACCESS_POLICY[kind].purposes;

/** The match engine of Patient/$match as the registrar asks it "like a registered person?" (issue 18 item 5). */
export function registrarMatching(matcher: Matcher, reviewAt: number): RecordMatching {
  return {
    match: async (tx, patient) => (await matcher.match(tx, patient, { count: 100, onlyCertain: false })).results,
    screen: async (tx, patients) => (await matcher.screen(tx, patients)).map((s) => ({ candidates: s.results, earlier: s.earlier })),
    reviewAt,
  };
}

export function createApp(deps: AppDeps): App {
  const config: Config = { ...defaultConfig(), ...deps.config };
  const clock = deps.clock ?? systemClock;
  const { baseUrl } = config;
  const identifiers = new IdentifierCatalog({
    rules: { recipientNumberCheckDigit: config.ruleRecipientCheckDigit, lateElderlyNumberCheckDigit: config.ruleLateElderlyCheckDigit },
    medicalIdSystem: config.medicalIdSystem,
  });
  const medicalIdSystem = identifiers.medicalIdSystem;

  // Privacy: My Number only ever as a keyed MAC, under a key that never enters the database.
  const registrySecret = (): Buffer => {
    if (!deps.registrySecret) throw new Error('createApp needs registrySecret, or both myNumberMac and certificateMac');
    return deps.registrySecret;
  };
  const myNumberMac = deps.myNumberMac ?? new MyNumberMac(registrySecret());
  const vault = new MyNumberVault(myNumberMac);
  const normalizeIdentifier: IdentifierNormalizer = (system, value) =>
    system === ID_SYSTEMS.myNumber ? vault.searchKey(value) : identifiers.normalizeForSearch(system, value);

  // The repository, with the hooks that run inside every write's transaction.
  // The rules every write applies before validation; $validate runs the same ones.
  const validator = new Validator(deps.defs, [identifierHook(identifiers), vault.beforeWrite]);
  const compartment = new PatientCompartment();
  // The access log (issue 17): each event a leaf of one Merkle tree, its person by a keyed pseudonym.
  const accessLog =
    config.audit && config.accessLog
      ? new AccessLog({
          db: deps.auditDb ?? deps.db,
          personOf: (patientId) => auditPersonOf(deps.pseudonymKeys, patientId),
          logger: deps.logger,
        })
      : undefined;
  // Prometheus metrics (http/metrics.ts), unless MEDID_METRICS=off: then nothing is measured at all.
  const metrics = config.metrics.mode === 'off' ? undefined : new Metrics({ version: VERSION, driver: deps.db.driver });
  metrics?.watchPool('main', deps.db);
  if (deps.auditDb && deps.auditDb !== deps.db) metrics?.watchPool('audit', deps.auditDb);
  const auditLog = new AuditLog(deps.auditDb ?? deps.db, { enabled: config.audit, accessLog, observe: metrics?.auditBatch });
  metrics?.watchAuditQueue(() => auditLog.queuedEvents);
  // Its signed tree heads and proofs, read from the stored tree (main pool: never in the way of audit batches).
  const treeHeads = accessLog
    ? new TreeHeads({
        db: deps.db,
        key: deps.logKey ?? new FileLogKey(crypto.randomBytes(32), logKeyName(baseUrl)),
        now: () => clock.now(),
        logger: deps.logger,
        headSeconds: config.logHeadSeconds,
        headEntries: config.logHeadEntries,
        appended: () => accessLog.appended,
        caughtUp: () => accessLog.caughtUp(),
      })
    : undefined;
  const uow = new UnitOfWork({
    db: deps.db,
    defs: deps.defs,
    validator,
    compartment,
    baseUrl,
    clock,
    normalizeIdentifier,
    afterWrite: [
      vault.afterWrite,
      mpiIndexHook,
      carriedMedicalIdHook(medicalIdSystem),
      consentRulesHook,
      ...(config.audit ? [auditWrite({ auditLog, compartment, clock })] : []),
    ],
    guards: [registryIntegrityGuard(medicalIdSystem)],
  });
  // Who may see and change whom: the one access policy, compiled into every query.
  const policy = new AccessPolicy(compartment.types(), {
    careRelationshipDays: config.careRelationshipDays,
    membershipRetentionDays: config.membershipRetentionDays,
  });
  const context: FhirContext = {
    uow,
    defs: deps.defs,
    validator,
    clock,
    normalizeIdentifier,
    baseUrl,
    defaultCount: config.defaultCount,
    maxCount: config.maxCount,
    published: publishedKeys(deps.defs.conformance),
  };

  // Services.
  const weights = new WeightsStore();
  const matcher = new Matcher({
    myNumberMac: (digits) => myNumberMac.mac(digits),
    weights: (db) => weights.get(db),
    thresholds: config.matchThresholds,
    blockLimit: config.matchBlockLimit,
    normalizeIdentifier: (s, v) => identifiers.normalizeForSearch(s, v),
  });
  const registrar = new Registrar({
    uow,
    assertMaySubmit: assertMaySubmitRecord,
    // The operation, not the key: the registry never holds key material.
    myNumberMacs: { mac: (digits) => myNumberMac.mac(digits), version: myNumberMac.version },
    clock,
    medicalIdSystem,
    // The message only: a database error's detail could quote a value.
    onBulkFallback: (err) =>
      deps.logger.warn({ err: err instanceof Error ? err.message : 'unknown' }, 'a registration batch fell back to record-by-record'),
    matching: registrarMatching(matcher, config.registryReviewBits),
  });
  const lifecycle = new Lifecycle({
    uow,
    clock,
    medicalIdSystem,
    deathRetentionDays: config.deathRetentionDays,
    mergeUndoDays: config.mergeUndoDays,
    // A change that breaks linkage keeps the old→new link only sealed to the oversight body's
    // public key, or not at all; sealed without a usable key refuses to start.
    sealLink: config.breakLinkageLink === 'sealed' ? linkSealer(readOversightKey(config.oversightKeyFile)) : undefined,
  });
  const mismatches = new MismatchDesk(medicalIdSystem);
  // A My Number card's certificate, like My Number, only ever as a keyed MAC: the desk gets the operation.
  const certificateMac = deps.certificateMac ?? new CertificateMac(registrySecret());
  const eligibility = new EligibilityDesk({ mismatches, certificateMac: (serial) => certificateMac.mac(serial) });
  const cardCertificates = new CardCertificates({
    certificateMac: { mac: (serial) => certificateMac.mac(serial), version: certificateMac.version },
    myNumberMac: (digits) => myNumberMac.mac(digits),
    audit: auditPersonWrite({ auditLog, clock }, '$register-card'),
  });
  const exportJobs = new ExportJobs({ db: deps.db, medicalIdSystem, retentionMs: EXPORT_RETENTION_MS, now: () => clock.now() });
  const auditTrail = new AuditTrail(baseUrl);

  // Announcements between services.
  registrar.personCorrected.on(async (e) => {
    await mismatches.closeFor(e.tx, e.patientId, e.at);
  });
  auditLog.auditedWrites.register(serviceUseWrite);

  // The FHIR API: operations (each named after its OperationDefinition), authorization and audit.
  const endpoints = authEndpoints(baseUrl);
  const pseudonyms = new PseudonymService({ keys: deps.pseudonymKeys, domains: new PseudonymDomainList(deps.db) });
  const clients = new ClientDirectory(deps.db, (code) => pseudonyms.domains.has(code));
  const remoteJwks = new RemoteJwksCache(deps.fetch);
  // Sealed delivery (R18): the registry opens a provider's envelope with the authority's key and
  // auth's check of the provider's signature; $pseudonymize composes it with the pseudonymization service.
  const envelopeKeys = deps.envelopeKeys ?? new FileEnvelopeKeys(crypto.randomBytes(32));
  const envelopes = new EnvelopeDesk({
    keys: envelopeKeys,
    verifySealer: async (jws, typ) => {
      const r = await verifyClientJws(jws, typ, { client: (id) => clients.getCached(id), remoteJwks });
      return r.ok ? { ok: true, sealer: { clientId: r.client.clientId, org: r.client.org }, payload: r.payload } : r;
    },
    parseIdentifier: (system, value) => identifiers.parse(system, value),
    medicalIdSystem,
    store: registryEnvelopeStore(deps.db),
    now: () => clock.now(),
  });
  const tokens = new AccessTokens({
    keys: deps.keys,
    issuer: endpoints.issuer,
    audience: baseUrl,
    isResourceType: deps.defs.isResourceType,
    now: () => clock.now().getTime(),
    defaultPurpose: (org) => kindPurposes(org?.kind ?? 'database')[0] ?? DEFAULT_PURPOSE_OF_USE,
  });
  const tokenEndpoint = new TokenEndpoint({
    clients,
    remoteJwks,
    tokenEndpoint: endpoints.tokenEndpoint,
    recordJti: (c, j, e) => recordAssertionJti(deps.db, c, j, e),
    now: () => clock.now().getTime(),
    tokens,
    logger: deps.logger,
    isResourceType: deps.defs.isResourceType,
    kindPurposes,
  });
  tokenEndpoint.logins.on((attempt) => auditLog.record([loginAuditRow(attempt)]));
  // The person's sign-in: the portal as a public app, people authenticated by their IdP.
  const origin = new URL(baseUrl).origin;
  const personSignIn = new PersonSignIn({
    db: deps.db,
    idp: config.personIdp ? new PersonIdp(config.personIdp, `${origin}${mountPathOf(endpoints.issuer)}/person/callback`) : undefined,
    apps: [{ clientId: PORTAL_CLIENT_ID, name: 'medid portal', redirectUris: [`${origin}/portal/`], scope: PORTAL_SCOPE }],
    audience: baseUrl,
    issuer: endpoints.issuer,
    tokens,
    isResourceType: deps.defs.isResourceType,
    myNumberMac: { mac: (digits) => myNumberMac.mac(digits), version: myNumberMac.version },
    patientOfMac: (mac) => patientOfMyNumber(deps.db, mac),
    logins: tokenEndpoint.logins,
    logger: deps.logger,
    now: () => clock.now(),
  });
  const auditDeps = { auditLog, compartment, baseUrl, clock, logger: deps.logger };
  const hooks = (tx: UnitOfWork | undefined): RouterHooks => ({
    authorize: (req, route, params) => {
      if (route.public) return;
      if (!req.principal) throw errors.unauthorized();
      const needs = route.access?.(req, params) ?? [];
      assertAllowed(req.principal, needs);
      authorizeByPolicy(policy, req, route, needs, clock.now());
    },
    after: auditAfter(auditDeps, tx),
  });
  const linkage = new LinkageOrders({
    keys: deps.pseudonymKeys,
    domains: pseudonyms.domains,
    approvalsNeeded: config.linkageApprovals,
    now: () => clock.now(),
  });
  const isViewer = (p: Principal | undefined): boolean => p !== undefined && policy.pseudonymizedTypes(p).length > 0;
  const operations: OperationHandler[] = [
    resourceValidate,
    patientRegister(registrar, {
      rules: identifiers.rules,
      medicalIdSystem,
      concurrency: deps.db.driver === 'pg' ? 4 : 1,
      registered: metrics?.registered,
    }),
    taskResolve(registrar, medicalIdSystem),
    patientChangeMedicalId(lifecycle, medicalIdSystem),
    patientRecordDeath(lifecycle),
    patientMerge(lifecycle),
    patientUnmerge(lifecycle),
    patientExport(exportJobs, baseUrl),
    patientMatch(matcher, policy, medicalIdSystem),
    patientIhePix({ medicalIdSystem }),
    // Regional networks' local ids, each change audited in its own transaction.
    patientFeedNetworkId(
      new NetworkIds({ medicalIdSystem, clock, policy, audit: auditPersonWrite({ auditLog, clock }, '$feed-network-id') }),
    ),
    coverageEligibilityRequestSubmit(eligibility, identifiers.rules),
    // Usage per organization and month (R26), counted from the audit log.
    measureEvaluateMeasure(),
    patientRegisterCard(cardCertificates),
    patientRecordLocations,
    patientBreakTheGlass(new BreakTheGlass(config.btgHours)),
    // Authorized linkage (R19): orders, k officers' signed approvals, conversions, closure.
    taskLinkageOrder(linkage),
    taskApprove(linkage, async (jws, typ) => {
      const r = await verifyClientJws(jws, typ, { client: (id) => clients.getCached(id), remoteJwks });
      return r.ok ? { ok: true, clientId: r.client.clientId, org: r.client.org, payload: r.payload } : r;
    }),
    taskLink(linkage, (p) => policy.pseudonymizedAccess(p, 'Patient', clock.now())),
    taskClose(linkage),
    pseudonymize({
      desk: envelopes,
      pseudonyms,
      answerSealer: async (clientId) => {
        const client = await clients.getCached(clientId);
        return client ? sealerFor(client, remoteJwks) : { ok: false, text: `client ${clientId} is not registered` };
      },
      logger: deps.logger,
    }),
  ];
  let capability: string | undefined;
  const router: Router = createFhirRouter(context, {
    operations,
    auditTrail,
    hooks,
    extra: [
      // A utilizing database's own routes first: it sees persons only pseudonymized.
      ...pseudonymizedRoutes(context, { pseudonyms, isViewer }),
      ...pseudonymizedExportRoutes(context, { jobs: exportJobs, pseudonyms, isViewer, k: config.exportK }),
      ...patientExportStatusRoutes(exportJobs, baseUrl, { when: (req) => isViewer(req.principal) }),
      ...patientExportStatusRoutes(exportJobs, baseUrl),
      ...(treeHeads ? accessLogRoutes(treeHeads, { headSeconds: config.logHeadSeconds }) : []),
      {
        method: 'GET',
        pattern: '/metadata',
        name: 'capabilities',
        public: true,
        handler: () => {
          capability ??= JSON.stringify(
            buildCapabilityStatement(deps.defs, router, {
              baseUrl,
              version: VERSION,
              security: capabilitySecurity(endpoints, personSignIn.enabled),
              overrides: [auditEventCapability()],
            }),
          );
          return Promise.resolve({ status: 200, body: { json: capability } });
        },
      },
    ],
  });
  const scopesSupported = [
    'system/*.rs',
    'system/*.cruds',
    ...deps.defs.resourceTypes.flatMap((t) => [`system/${t}.rs`, `system/${t}.cruds`]),
  ];

  // The Express edge (http/edge.ts).
  const { app, inFlight } = expressEdge({
    logger: deps.logger,
    ready: () => ping(deps.db),
    igSiteDir: deps.igSiteDir,
    baseUrl,
    endpoints,
    keys: deps.keys,
    tokens,
    clients,
    tokenEndpoint,
    personSignIn,
    smartConfiguration: smartConfiguration(endpoints, scopesSupported, personSignIn.enabled),
    envelopeJwks: { keys: envelopeKeys.jwks.keys },
    treeHeads,
    logHeadSeconds: config.logHeadSeconds,
    maxBodyBytes: config.maxBodyBytes,
    metrics,
    metricsAccess: config.metrics,
    router: () => router,
  });
  return {
    express: app,
    identifiers,
    router,
    context,
    tokens,
    clients,
    pseudonyms,
    personSignIn,
    linkage,
    auditLog,
    treeHeads,
    // Requests done, then the leaves of everything they placed in the access log (else the next start hashes them).
    drained: async () => {
      await inFlight.drained();
      await accessLog
        ?.caughtUp()
        .catch((e: unknown) => deps.logger.error({ err: (e as Error).message }, 'access log: not caught up at stop'));
    },
    publishConformance: () => publishConformance(uow.resources, deps.defs.conformance),
    registrar,
    lifecycle,
    exportJobs,
    metrics,
  };
}
