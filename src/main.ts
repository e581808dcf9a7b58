/**
 * Process entry: loadConfig → logger → open database → migrate → load definitions →
 * createApp → listen. SIGTERM/SIGINT stop accepting connections, let in-flight requests
 * finish (up to MEDID_SHUTDOWN_GRACE_MS), then close the database.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, kindPurposes } from './app.ts';
import { readClientsFile, RegistrationError } from './auth/clients.ts';
import { KeyError } from './auth/keys.ts';
import { KeyStoreError } from './core/keys/key-store.ts';
import { loadKeys } from './key-setup.ts';
import { SecretFileError } from './core/secret-file.ts';
import { DomainError, parseDomainsFile } from './pseudonym/domains.ts';
import { FileEnvelopeKeys, loadEnvelopeSecret } from './privacy/envelope-keys.ts';
import { OversightKeyError } from './registry/sealed-link.ts';
import { ConfigError, loadConfig } from './config.ts';
import { loadDefinitions } from './fhir/definitions/index.ts';
import { createLogger } from './core/logger.ts';
import { oneNodeAtATime } from './store/locks.ts';
import { migrate } from './store/migrate.ts';
import { openAuditDb, openDb } from './store/open.ts';
import { analyzeStale, autovacuumOn } from './store/statistics.ts';

export const PROFILES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'profiles');
const IG_SITE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'ig', 'site');

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`medid: configuration error: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const logger = createLogger(config.logLevel);
  // Keys first (key-setup.ts): the production guard refuses file keys before anything opens.
  const loaded = await loadKeys(config, logger);
  const { tokenKeys: keys, logKey } = loaded;
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize });
  const applied = await migrate(db);
  if (applied.length > 0) logger.info({ applied }, 'database migrated');
  const defs = await loadDefinitions(PROFILES_DIR);
  if (!config.audit) {
    logger.warn('MEDID_AUDIT=off: DISCLOSURES ARE NOT RECORDED. This setting exists only to measure the cost of auditing in benchmarks.');
  }
  const { secret: envelopeSecret, generated: newEnvelopeKey } = loadEnvelopeSecret({
    file: config.envelopeKeyFile,
    dataDir: config.dataDir,
  });
  if (newEnvelopeKey) logger.info('generated the envelope key secret in the data directory');
  if (loaded.secrets.some((s) => envelopeSecret.equals(s))) {
    throw new SecretFileError(
      'MEDID_ENVELOPE_KEY_FILE holds the same secret as MEDID_SECRET_FILE or MEDID_PSEUDONYM_KEY_FILE: each must differ',
    );
  }
  if (!config.envelopeKeyFile && config.databaseUrl) {
    logger.warn(
      'MEDID_ENVELOPE_KEY_FILE is not set: the key providers seal envelopes to derives from a secret generated into MEDID_DATA_DIR; every node must share it, and losing it makes envelopes in flight unreadable',
    );
  }
  const envelopeKeys = new FileEnvelopeKeys(envelopeSecret);
  const dbOptions = { databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize };
  const auditDb = openAuditDb(db, dbOptions);
  const app = createApp({
    config,
    db,
    auditDb,
    defs,
    logger,
    keys,
    myNumberMac: loaded.myNumberMac,
    certificateMac: loaded.certificateMac,
    pseudonymKeys: loaded.pseudonymKeys,
    envelopeKeys,
    logKey,
    igSiteDir: IG_SITE_DIR,
  });
  const published = await app.publishConformance();
  if (published > 0) logger.info({ published }, 'conformance resources published');
  if (config.domainsFile) {
    let text: string;
    try {
      text = fs.readFileSync(config.domainsFile, 'utf8');
    } catch (e) {
      throw new DomainError(`MEDID_DOMAINS_FILE ${config.domainsFile}: ${(e as Error).message}`);
    }
    const domains = parseDomainsFile(text, config.domainsFile);
    for (const d of domains) await app.pseudonyms.domains.add(d);
    logger.info({ domains: domains.length }, 'pseudonym domains loaded from MEDID_DOMAINS_FILE');
  }
  if (config.clientsFile) {
    const rows = readClientsFile(config.clientsFile, kindPurposes);
    for (const row of rows) await app.clients.register(row);
    logger.info({ clients: rows.length }, 'client registrations loaded from MEDID_CLIENTS_FILE');
  }
  const orphans = await app.clients.withoutDomain();
  if (orphans.length > 0) {
    logger.warn(
      { clients: orphans.map((c) => c.clientId) },
      'database clients whose organization code is no pseudonym domain: add their domains (medid domain add) or disable them',
    );
  }

  // Audit events another run wrote inside transactions and left queued get their place in the
  // access log before anything new is served; writers outside requests (medid import) are taken
  // by the same drain every few seconds.
  await app.auditLog.settle(true);
  // Each periodic job is a sweep in the metrics (runs, outcome, duration, last success, items).
  const sweep = <T>(name: string, run: () => Promise<T>, items?: (r: T) => Record<string, number>): Promise<T> =>
    app.metrics ? app.metrics.sweep(name, run, items) : run();
  setInterval(() => {
    sweep('access_log_drain', () => app.auditLog.settle(true)).catch((e: unknown) =>
      logger.error({ err: (e as Error).message }, 'access log drain failed'),
    );
  }, 5000).unref();
  // Signed tree heads of the access log: every MEDID_LOG_HEAD_SECONDS when it grew, and every
  // MEDID_LOG_HEAD_ENTRIES entries (the timer is unref'd).
  if (app.treeHeads) {
    app.treeHeads.start();
    logger.info({ keyName: logKey.keyName, verifierKey: logKey.verifierKey }, 'access log heads signed with this key');
  }

  const server = http.createServer(app.express);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  logger.info(
    {
      port: config.port,
      baseUrl: config.baseUrl,
      database: config.databaseUrl ? 'postgresql' : `embedded (${config.dataDir})`,
    },
    'medid listening',
  );

  // A periodic job on PostgreSQL runs on one node at a time (store/locks.ts: an advisory lock
  // taken without waiting; a node finding it taken skips its turn, counted as item `skipped`).
  const oneAtATime = async <T>(job: string, run: () => Promise<T>, none: T): Promise<T> => {
    if (!config.databaseUrl) return run();
    const turn = await oneNodeAtATime(db, job, run);
    return turn.ran ? turn.result : none;
  };

  // Retirements after the post-mortem retention, final merges, expired export files. One node at
  // a time: runs at once would each retire the persons they all listed and rewrite the end times
  // of merges and linkage orders (test/e2e/multi-node.test.ts); run in turn, the later finds
  // nothing left to do.
  if (config.registrySweepSeconds > 0) {
    const registrySweep = async (): Promise<Record<string, number>> => {
      const r = await app.lifecycle.sweep();
      const expired = await app.exportJobs.deleteExpired();
      // Linkage orders past their period: their salts are destroyed (pseudonym/linkage.ts).
      const endedOrders = await app.linkage.expireDue(db);
      // Sign-ins abandoned at the IdP and codes never redeemed (each is also refused once expired).
      const signIns = await app.personSignIn.sweep();
      if (r.retired + r.finalized + expired + endedOrders + signIns > 0)
        logger.info({ ...r, expiredExports: expired, expiredLinkageOrders: endedOrders, expiredSignIns: signIns }, 'registry sweep');
      return { ...r, expired_exports: expired, expired_linkage_orders: endedOrders, expired_sign_ins: signIns };
    };
    setInterval(() => {
      sweep(
        'registry',
        () => oneAtATime('registry-sweep', registrySweep, { skipped: 1 }),
        (items) => items,
      ).catch((e: unknown) => logger.error({ err: (e as Error).message }, 'registry sweep failed'));
    }, config.registrySweepSeconds * 1000).unref();
  }

  // Planner statistics (store/statistics.ts): PGlite analyzes after its own writes; on
  // PostgreSQL one node at a time reads the server's counters and analyzes (a round started
  // after another's sees the tables it analyzed as fresh).
  if (config.databaseUrl) {
    void autovacuumOn(db)
      .then((on) => {
        if (on) return;
        logger.warn(
          config.analyzeSeconds > 0
            ? 'PostgreSQL autovacuum is off: medid analyzes its tables itself when their statistics go stale (MEDID_ANALYZE_SECONDS)'
            : 'PostgreSQL autovacuum is off and MEDID_ANALYZE_SECONDS=0: nothing keeps planner statistics fresh; searches and $match will slow down as data grows',
        );
      })
      .catch((e: unknown) => logger.warn({ err: (e as Error).message }, 'could not read the autovacuum setting'));
    if (config.analyzeSeconds > 0) {
      const analyze = (): void => {
        void sweep(
          'analyze',
          () => oneAtATime('analyze', () => analyzeStale(db), undefined),
          (tables): Record<string, number> => (tables ? { analyzed_tables: tables.length } : { skipped: 1 }),
        )
          .then((tables) => {
            if (tables && tables.length > 0) logger.info({ tables }, 'analyzed tables with stale planner statistics');
          })
          .catch((e: unknown) => logger.warn({ err: (e as Error).message }, 'analyzing stale tables failed'));
      };
      analyze();
      setInterval(analyze, config.analyzeSeconds * 1000).unref();
    }
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      logger.warn('grace period over; closing remaining connections');
      server.closeAllConnections();
    }, config.shutdownGraceMs);
    force.unref();
    server.close(() => {
      // Handlers whose client hung up may still be running: let them finish first.
      const grace = new Promise<void>((resolve) => setTimeout(resolve, config.shutdownGraceMs).unref());
      void Promise.race([app.drained(), grace])
        .then(() => Promise.all([db.close(), auditDb === db ? undefined : auditDb.close()]))
        .finally(() => {
          logger.info('stopped');
          process.exit(0);
        });
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  if (
    e instanceof RegistrationError ||
    e instanceof KeyError ||
    e instanceof KeyStoreError ||
    e instanceof SecretFileError ||
    e instanceof DomainError ||
    e instanceof OversightKeyError
  ) {
    process.stderr.write(`medid: configuration error: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`medid: failed to start: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
