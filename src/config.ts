/**
 * Typed configuration from the environment. Every option and its default is documented here,
 * in one place, and validated eagerly at start-up (node-oidc-provider's defaults/configuration
 * split, at our scale): a bad value stops the process with a message naming the variable.
 */
import path from 'node:path';
import { ID_SYSTEMS } from './core/systems.ts';
import { parseMetricsAccess } from './http/metrics-access.ts';
import type { MetricsAccess } from './http/metrics-access.ts';
import { parseKeyConfig } from './core/keys/key-config.ts';
import type { KeyConfig } from './core/keys/key-config.ts';

export interface Config {
  /** PORT: TCP port of the HTTP server. Default 8080. */
  port: number;
  /** HOST: interface to bind. Default 0.0.0.0 (all). */
  host: string;
  /**
   * MEDID_BASE_URL: the public FHIR base URL, used in Location headers, fullUrl and links.
   * Default http://localhost:<PORT>/fhir. Set it behind a proxy.
   */
  baseUrl: string;
  /** MEDID_DATA_DIR: where the embedded database and generated secrets live. Default ./data. */
  dataDir: string;
  /**
   * DATABASE_URL: a PostgreSQL connection string. When set, medid uses PostgreSQL through `pg`;
   * when absent, the embedded PGlite database under MEDID_DATA_DIR.
   */
  databaseUrl: string | undefined;
  /**
   * MEDID_DB_POOL_SIZE: PostgreSQL connections per medid node. Default 8: on a 2-core machine
   * more backends only compete for the same cores (measured: 8 beat 4 and 16). Start at 2–4 ×
   * the database server's cores divided by the number of medid nodes.
   */
  dbPoolSize: number;
  /** LOG_LEVEL: pino level (fatal, error, warn, info, debug, trace, silent). Default info. */
  logLevel: string;
  /** MEDID_MAX_BODY_BYTES: largest accepted request body. Default 16 MiB (transaction bundles). */
  maxBodyBytes: number;
  /** MEDID_DEFAULT_COUNT: page size when a search gives no _count. Default 20. */
  defaultCount: number;
  /** MEDID_MAX_COUNT: largest page size; a larger _count is lowered to it. Default 1000. */
  maxCount: number;
  /** MEDID_SHUTDOWN_GRACE_MS: how long SIGTERM waits for in-flight requests. Default 10000. */
  shutdownGraceMs: number;
  /**
   * MEDID_SIGNING_KEY_FILE: a JWKS with the private key(s) that sign access tokens; the first
   * signs, all verify (rotation: put the new key first, drop the old one after 5 minutes).
   * Default: a key generated once into MEDID_DATA_DIR/keys (embedded default only).
   */
  signingKeyFile: string | undefined;
  /** MEDID_CLIENTS_FILE: a JSON array of client registrations, upserted at start-up. */
  clientsFile: string | undefined;
  /**
   * MEDID_AUDIT: on (default) or off. Off exists only to measure what auditing costs in
   * benchmarks; the server warns loudly at start-up, and disclosures are then not recorded.
   */
  audit: boolean;
  /**
   * MEDID_ACCESS_LOG: on (default) or off. On, every audit event is a leaf of the tamper-evident
   * access log (a Merkle tree, signed heads) in the statement that records it; off only to measure
   * what the log costs (paired benchmark).
   */
  accessLog: boolean;
  /**
   * The person's identity provider (issue 17 item 5), from MEDID_PERSON_IDP_ISSUER (OIDC issuer;
   * unset: person sign-in is off), _CLIENT_ID, _CLIENT_SECRET (medid's registration there,
   * client_secret_basic), _MY_NUMBER_CLAIM (default my_number) and _SCOPE (default
   * `openid my_number`). medid's redirect URI there: <origin of MEDID_BASE_URL>/oauth/person/callback.
   */
  personIdp: { issuer: string; clientId: string; clientSecret: string; myNumberClaim: string; scope: string } | undefined;
  /**
   * MEDID_LOG_KEY_FILE: the secret (≥ 32 random bytes, raw or base64) the access log's Ed25519
   * signing key derives from — it signs the tree heads (C2SP checkpoints and JWS; public at
   * [base]/_log/key). A key of its own: it differs from the other secrets. Default: generated
   * once into MEDID_DATA_DIR/keys.
   */
  logKeyFile: string | undefined;
  /** MEDID_LOG_HEAD_SECONDS: how often a new tree head is signed when the access log grew. Default 5. */
  logHeadSeconds: number;
  /** MEDID_LOG_HEAD_ENTRIES: a node also signs a head as soon as it appended this many entries since its last. Default 10000. */
  logHeadEntries: number;
  /**
   * MEDID_SECRET_FILE: the registry secret (≥ 32 random bytes, raw or base64) under which
   * My Number is kept as a keyed MAC. Default: generated once into MEDID_DATA_DIR/keys.
   */
  secretFile: string | undefined;
  /**
   * MEDID_PSEUDONYM_KEY_FILE: the pseudonymization service's master secret (≥ 32 random bytes,
   * raw or base64), from which each domain's key derives. Not the registry secret: the two have
   * different holders. Default: generated once into MEDID_DATA_DIR/keys.
   */
  pseudonymKeyFile: string | undefined;
  /**
   * MEDID_ENVELOPE_KEY_FILE: the secret (≥ 32 random bytes, raw or base64) the authority's
   * envelope key derives from — the ECDH P-256 key providers seal insured numbers to (sealed
   * delivery, R18; public at [base]/.well-known/medid-envelope-jwks). The registry's side of the
   * split, but a key of its own: it differs from the other two. Default: generated once into
   * MEDID_DATA_DIR/keys.
   */
  envelopeKeyFile: string | undefined;
  /** MEDID_DOMAINS_FILE: a JSON array of pseudonym domains { "code", "name" }, upserted at start-up. */
  domainsFile: string | undefined;
  /** MEDID_MEDICAL_ID_SYSTEM: the medical ID's identifier system URI (published in the IG). */
  medicalIdSystem: string;
  /** MEDID_RULE_RECIPIENT_CHECK_DIGIT (off): check 公費受給者番号 with the unconfirmed 2-1 rule. */
  ruleRecipientCheckDigit: boolean;
  /** MEDID_RULE_LATE_ELDERLY_CHECK_DIGIT (off): check 後期高齢者 numbers with the unconfirmed 2-1 rule. */
  ruleLateElderlyCheckDigit: boolean;
  /**
   * MEDID_DEATH_RETENTION_DAYS: days after a recorded death during which the person's medical
   * ID still serves research (pseudonyms keep deriving); then it is retired. Default 3650.
   */
  deathRetentionDays: number;
  /** MEDID_MERGE_UNDO_DAYS: days within which Patient/$unmerge can undo a merge. Default 30. */
  mergeUndoDays: number;
  /**
   * MEDID_BREAK_LINKAGE_LINK: what a medical-ID change that breaks linkage ($change-medical-id,
   * reason break-linkage: new person key, every pseudonym changes) keeps of the old→new link.
   * none (default): nothing, so nobody — the authority included — can link them again. sealed:
   * a JWE to the oversight body's public key (MEDID_OVERSIGHT_KEY_FILE), stored append-only in
   * the registry; medid cannot open it.
   */
  breakLinkageLink: 'none' | 'sealed';
  /**
   * MEDID_OVERSIGHT_KEY_FILE: the oversight body's public key as a JWK (EC P-256/P-384/P-521 or
   * X25519/X448; a file holding a private key is refused). Required with MEDID_BREAK_LINKAGE_LINK=sealed.
   */
  oversightKeyFile: string | undefined;
  /**
   * MEDID_EXPORT_K: the small-cell guard of a database's pseudonymized export — every released
   * combination of birth year-month, sex, postal 3 digits and insurer kind is shared by at least
   * this many persons (smaller cells generalized once, then suppressed). Default 5.
   */
  exportK: number;
  /**
   * MEDID_LINKAGE_APPROVALS: how many distinct authority officers must sign a linkage order
   * before any conversion (R19; nobody approves an order they filed). Default 2.
   */
  linkageApprovals: number;
  /**
   * MEDID_CARE_RELATIONSHIP_DAYS: days a medical institution's valid eligibility confirmation
   * keeps the person within its reach. Default 90: prescriptions run up to 90 days, so a patient
   * under continuing care is confirmed again (at the first visit of a month) well within it.
   */
  careRelationshipDays: number;
  /**
   * MEDID_MEMBERSHIP_RETENTION_DAYS: days an insurer keeps reach of a member whose coverage
   * ended. Default 365: claims for care given while covered keep arriving and being reviewed
   * (返戻, 再審査) for months after a member leaves.
   */
  membershipRetentionDays: number;
  /** MEDID_BTG_HOURS: hours one break-the-glass grant lasts. Default 24. */
  btgHours: number;
  /** MEDID_REGISTRY_SWEEP_SECONDS: how often retirements and final merges are swept (0: never). Default 3600. */
  registrySweepSeconds: number;
  /**
   * MEDID_ANALYZE_SECONDS: on PostgreSQL, how often medid looks for tables whose planner
   * statistics are stale and analyzes them (store/statistics.ts; 0: never). Default 30.
   */
  analyzeSeconds: number;
  /**
   * MEDID_MATCH_CERTAIN / _PROBABLE / _POSSIBLE: $match grade thresholds in bits of total
   * weight (each fact counted once: mpi/evidence.ts). Defaults 70 / 21 / 8, chosen from the
   * evaluation in the README (bench/match-eval.ts, 1,000,000 persons, one query seed chosen,
   * another reported): zero false certain; 21 bits gave the best F1 for probable.
   */
  matchThresholds: { certain: number; probable: number; possible: number };
  /** MEDID_MATCH_BLOCK_LIMIT: a blocking key holding more persons is not used, and $match says so. Default 2000. */
  matchBlockLimit: number;
  /**
   * MEDID_METRICS: who may read Prometheus `/metrics` (http/metrics-access.ts). `off`; `loopback`
   * (default): connections from the loopback interface without a proxy's forwarding header —
   * a Prometheus agent on the same host, nothing from outside (404, like an unknown path); or
   * `bearer:<secret>` (≥ 16 printable characters): any address with `Authorization: Bearer
   * <secret>`, compared in constant time (401 otherwise). Loopback by default because the
   * metrics hold no personal data (route patterns, counts, timings) and a local scraper then
   * needs no setting, while nothing is exposed beyond the host.
   */
  metrics: MetricsAccess;
  /**
   * MEDID_REGISTRY_REVIEW_BITS: a new registration whose best match (no identifier in common)
   * weighs at least this many bits is held for review instead of creating a person. Default:
   * MEDID_MATCH_PROBABLE (21), chosen from the evaluation in the README (bench/registry.ts).
   * Must be above MEDID_MATCH_POSSIBLE (held family members and namesakes sit at its foot).
   */
  registryReviewBits: number;
  /**
   * Where keys live (core/keys/key-config.ts): MEDID_KEY_BACKEND `file` (default) or `pkcs11`
   * (MEDID_PKCS11_MODULE, MEDID_PKCS11_TOKEN, MEDID_PKCS11_PIN_FILE), the keyring in MEDID_KEY_DIR
   * (default MEDID_DATA_DIR/keys); with NODE_ENV=production file keys need MEDID_ALLOW_FILE_KEYS=1.
   */
  keys: KeyConfig;
}

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    return def;
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return n;
}

function onOff(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (raw === 'on' || raw === 'true') return true;
  if (raw === 'off' || raw === 'false') return false;
  throw new ConfigError(`${name} must be on or off, got "${raw}"`);
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

function personIdpOf(env: Env): Config['personIdp'] {
  const issuer = env['MEDID_PERSON_IDP_ISSUER'];
  if (!issuer) return undefined;
  try {
    const u = new URL(issuer);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('protocol');
  } catch {
    throw new ConfigError(`MEDID_PERSON_IDP_ISSUER must be an absolute http(s) URL, got "${issuer}"`);
  }
  const clientId = env['MEDID_PERSON_IDP_CLIENT_ID'];
  const clientSecret = env['MEDID_PERSON_IDP_CLIENT_SECRET'];
  if (!clientId || !clientSecret)
    throw new ConfigError(
      "MEDID_PERSON_IDP_ISSUER needs MEDID_PERSON_IDP_CLIENT_ID and MEDID_PERSON_IDP_CLIENT_SECRET (medid's registration at the IdP)",
    );
  return {
    issuer,
    clientId,
    clientSecret,
    myNumberClaim: env['MEDID_PERSON_IDP_MY_NUMBER_CLAIM'] || 'my_number',
    scope: env['MEDID_PERSON_IDP_SCOPE'] || 'openid my_number',
  };
}

/** Every setting at its default (what an empty environment gives). */
export function defaultConfig(): Config {
  return loadConfig({});
}

export function loadConfig(env: Env = process.env): Config {
  const port = int(env, 'PORT', 8080, 0, 65535);
  const baseUrl = (env['MEDID_BASE_URL'] ?? `http://localhost:${port}/fhir`).replace(/\/+$/, '');
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new Error('protocol');
    }
  } catch {
    throw new ConfigError(`MEDID_BASE_URL must be an absolute http(s) URL, got "${baseUrl}"`);
  }
  const logLevel = env['LOG_LEVEL'] ?? 'info';
  if (!LOG_LEVELS.has(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${[...LOG_LEVELS].join(', ')}, got "${logLevel}"`);
  }
  const defaultCount = int(env, 'MEDID_DEFAULT_COUNT', 20, 1, 10000);
  const maxCount = int(env, 'MEDID_MAX_COUNT', 1000, 1, 10000);
  if (defaultCount > maxCount) {
    throw new ConfigError('MEDID_DEFAULT_COUNT must not exceed MEDID_MAX_COUNT');
  }
  const matchThresholds = {
    certain: int(env, 'MEDID_MATCH_CERTAIN', 70, -100, 500),
    probable: int(env, 'MEDID_MATCH_PROBABLE', 21, -100, 500),
    possible: int(env, 'MEDID_MATCH_POSSIBLE', 8, -100, 500),
  };
  if (!(matchThresholds.possible < matchThresholds.probable && matchThresholds.probable <= matchThresholds.certain)) {
    // A held family member is cut to the foot of possible: the bands must be in order.
    throw new ConfigError('$match thresholds must satisfy MEDID_MATCH_POSSIBLE < MEDID_MATCH_PROBABLE <= MEDID_MATCH_CERTAIN');
  }
  const registryReviewBits = int(env, 'MEDID_REGISTRY_REVIEW_BITS', matchThresholds.probable, -100, 500);
  if (registryReviewBits <= matchThresholds.possible + 0.01) {
    throw new ConfigError('MEDID_REGISTRY_REVIEW_BITS must be above MEDID_MATCH_POSSIBLE');
  }
  const breakLinkageLink = env['MEDID_BREAK_LINKAGE_LINK'] || 'none';
  if (breakLinkageLink !== 'none' && breakLinkageLink !== 'sealed') {
    throw new ConfigError(`MEDID_BREAK_LINKAGE_LINK must be none or sealed, got "${breakLinkageLink}"`);
  }
  const oversightKeyFile = env['MEDID_OVERSIGHT_KEY_FILE'] || undefined;
  if (breakLinkageLink === 'sealed' && !oversightKeyFile) {
    throw new ConfigError('MEDID_BREAK_LINKAGE_LINK=sealed needs MEDID_OVERSIGHT_KEY_FILE (the oversight body’s public JWK)');
  }
  let metrics: MetricsAccess;
  try {
    metrics = parseMetricsAccess(env['MEDID_METRICS']);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  let keys: KeyConfig;
  try {
    keys = parseKeyConfig(env);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const databaseUrl = env['DATABASE_URL'] || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must start with postgres:// or postgresql://');
  }
  return {
    port,
    host: env['HOST'] ?? '0.0.0.0',
    baseUrl,
    dataDir: path.resolve(env['MEDID_DATA_DIR'] ?? './data'),
    databaseUrl,
    dbPoolSize: int(env, 'MEDID_DB_POOL_SIZE', 8, 1, 1000),
    logLevel,
    maxBodyBytes: int(env, 'MEDID_MAX_BODY_BYTES', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    defaultCount,
    maxCount,
    shutdownGraceMs: int(env, 'MEDID_SHUTDOWN_GRACE_MS', 10000, 0, 600000),
    signingKeyFile: env['MEDID_SIGNING_KEY_FILE'] || undefined,
    clientsFile: env['MEDID_CLIENTS_FILE'] || undefined,
    audit: onOff(env, 'MEDID_AUDIT', true),
    accessLog: onOff(env, 'MEDID_ACCESS_LOG', true),
    logKeyFile: env['MEDID_LOG_KEY_FILE'] || undefined,
    logHeadSeconds: int(env, 'MEDID_LOG_HEAD_SECONDS', 5, 1, 3600),
    logHeadEntries: int(env, 'MEDID_LOG_HEAD_ENTRIES', 10_000, 1, 100_000_000),
    secretFile: env['MEDID_SECRET_FILE'] || undefined,
    pseudonymKeyFile: env['MEDID_PSEUDONYM_KEY_FILE'] || undefined,
    envelopeKeyFile: env['MEDID_ENVELOPE_KEY_FILE'] || undefined,
    domainsFile: env['MEDID_DOMAINS_FILE'] || undefined,
    medicalIdSystem: env['MEDID_MEDICAL_ID_SYSTEM'] || ID_SYSTEMS.medicalId,
    ruleRecipientCheckDigit: onOff(env, 'MEDID_RULE_RECIPIENT_CHECK_DIGIT', false),
    ruleLateElderlyCheckDigit: onOff(env, 'MEDID_RULE_LATE_ELDERLY_CHECK_DIGIT', false),
    deathRetentionDays: int(env, 'MEDID_DEATH_RETENTION_DAYS', 3650, 0, 36500),
    mergeUndoDays: int(env, 'MEDID_MERGE_UNDO_DAYS', 30, 0, 3650),
    breakLinkageLink,
    oversightKeyFile,
    exportK: int(env, 'MEDID_EXPORT_K', 5, 1, 1000),
    linkageApprovals: int(env, 'MEDID_LINKAGE_APPROVALS', 2, 1, 20),
    careRelationshipDays: int(env, 'MEDID_CARE_RELATIONSHIP_DAYS', 90, 0, 3650),
    membershipRetentionDays: int(env, 'MEDID_MEMBERSHIP_RETENTION_DAYS', 365, 0, 3650),
    btgHours: int(env, 'MEDID_BTG_HOURS', 24, 1, 168),
    registrySweepSeconds: int(env, 'MEDID_REGISTRY_SWEEP_SECONDS', 3600, 0, 86400 * 7),
    analyzeSeconds: int(env, 'MEDID_ANALYZE_SECONDS', 30, 0, 86400),
    matchThresholds,
    matchBlockLimit: int(env, 'MEDID_MATCH_BLOCK_LIMIT', 2000, 10, 1_000_000),
    metrics,
    registryReviewBits,
    personIdp: personIdpOf(env),
    keys,
  };
}
