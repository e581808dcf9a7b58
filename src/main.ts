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
import { KeyError, loadServerKeys } from './auth/keys.ts';
import { loadRegistrySecret } from './privacy/my-number/secret.ts';
import { SecretFileError } from './core/secret-file.ts';
import { DomainError, parseDomainsFile } from './pseudonym/domains.ts';
import { FilePseudonymKeys, loadPseudonymMaster } from './pseudonym/file-keys.ts';
import { FileEnvelopeKeys, loadEnvelopeSecret } from './privacy/envelope-keys.ts';
import { FileLogKey, loadLogSecret, logKeyName } from './audit/log-key.ts';
import { OversightKeyError } from './registry/sealed-link.ts';
import { ConfigError, loadConfig } from './config.ts';
import { loadDefinitions } from './fhir/definitions/index.ts';
import { createLogger } from './core/logger.ts';
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
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize });
  const applied = await migrate(db);
  if (applied.length > 0) logger.info({ applied }, 'database migrated');
  const defs = await loadDefinitions(PROFILES_DIR);
  const { keys, generated } = await loadServerKeys({ file: config.signingKeyFile, dataDir: config.dataDir });
  if (generated) logger.info({ kid: keys.active.kid }, 'generated a token signing key in the data directory');
  if (!config.signingKeyFile && config.databaseUrl) {
    logger.warn('MEDID_SIGNING_KEY_FILE is not set: tokens are signed with a key generated into MEDID_DATA_DIR; every node must share it');
  }
  if (!config.audit) {
    logger.warn('MEDID_AUDIT=off: DISCLOSURES ARE NOT RECORDED. This setting exists only to measure the cost of auditing in benchmarks.');
  }
  const { secret, generated: newSecret } = loadRegistrySecret({ file: config.secretFile, dataDir: config.dataDir });
  if (newSecret) logger.info('generated the registry secret in the data directory');
  if (!config.secretFile && config.databaseUrl) {
    logger.warn(
      'MEDID_SECRET_FILE is not set: My Number MACs use a secret generated into MEDID_DATA_DIR; every node must share it, and losing it makes registered My Numbers unfindable',
    );
  }
  const { master, generated: newMaster } = loadPseudonymMaster({ file: config.pseudonymKeyFile, dataDir: config.dataDir });
  if (newMaster) logger.info('generated the pseudonym master secret in the data directory');
  // Two holders, two secrets (privacy-design.md §1): one file given for both defeats the split.
  if (master.equals(secret)) {
    throw new SecretFileError('MEDID_PSEUDONYM_KEY_FILE holds the same secret as MEDID_SECRET_FILE: the two must differ');
  }
  if (!config.pseudonymKeyFile && config.databaseUrl) {
    logger.warn(
      'MEDID_PSEUDONYM_KEY_FILE is not set: domain pseudonyms derive from a secret generated into MEDID_DATA_DIR; every node must share it, and losing it changes every pseudonym',
    );
  }
  const { secret: envelopeSecret, generated: newEnvelopeKey } = loadEnvelopeSecret({
    file: config.envelopeKeyFile,
    dataDir: config.dataDir,
  });
  if (newEnvelopeKey) logger.info('generated the envelope key secret in the data directory');
  if (envelopeSecret.equals(secret) || envelopeSecret.equals(master)) {
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
  const { secret: logSecret, generated: newLogKey } = loadLogSecret({ file: config.logKeyFile, dataDir: config.dataDir });
  if (newLogKey) logger.info('generated the access log signing key secret in the data directory');
  if ([secret, master, envelopeSecret].some((s) => logSecret.equals(s))) {
    throw new SecretFileError('MEDID_LOG_KEY_FILE holds the same secret as another medid secret file: each must differ');
  }
  if (!config.logKeyFile && config.databaseUrl) {
    logger.warn(
      'MEDID_LOG_KEY_FILE is not set: the access log signs its tree heads with a key derived from a secret generated into MEDID_DATA_DIR; every node must share it, and witnesses trust its public key',
    );
  }
  const logKey = new FileLogKey(logSecret, logKeyName(config.baseUrl));
  const dbOptions = { databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize };
  const auditDb = openAuditDb(db, dbOptions);
  const app = createApp({
    config,
    db,
    auditDb,
    defs,
    logger,
    keys,
    registrySecret: secret,
    pseudonymKeys: new FilePseudonymKeys(master),
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
  setInterval(() => {
    app.auditLog.settle(true).catch((e: unknown) => logger.error({ err: (e as Error).message }, 'access log drain failed'));
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

  // Retirements after the post-mortem retention, final merges, expired export files. Several
  // nodes may sweep at once: each step is its own transaction and idempotent.
  if (config.registrySweepSeconds > 0) {
    const sweep = (): void => {
      void app.lifecycle
        .sweep()
        .then(async (r) => {
          const expired = await app.exportJobs.deleteExpired();
          // Linkage orders past their period: their salts are destroyed (pseudonym/linkage.ts).
          const endedOrders = await app.linkage.expireDue(db);
          // Sign-ins abandoned at the IdP and codes never redeemed (each is also refused once expired).
          const signIns = await app.personSignIn.sweep();
          if (r.retired + r.finalized + expired + endedOrders + signIns > 0)
            logger.info({ ...r, expiredExports: expired, expiredLinkageOrders: endedOrders, expiredSignIns: signIns }, 'registry sweep');
        })
        .catch((e: unknown) => logger.error({ err: (e as Error).message }, 'registry sweep failed'));
    };
    setInterval(sweep, config.registrySweepSeconds * 1000).unref();
  }

  // Planner statistics (store/statistics.ts): PGlite analyzes after its own writes; on
  // PostgreSQL every node looks at the server's counters, and one at a time analyzes.
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
        void analyzeStale(db)
          .then((tables) => {
            if (tables.length > 0) logger.info({ tables }, 'analyzed tables with stale planner statistics');
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
