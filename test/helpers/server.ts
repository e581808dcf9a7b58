/**
 * A real medid HTTP server on an ephemeral port, over a fresh test database: tests talk to
 * it over HTTP exactly as clients do.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { Organization } from '../../src/core/principal.ts';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createApp } from '../../src/app.ts';
import type { App, AppDeps } from '../../src/app.ts';
import { generateSigningJwks, serverKeysFromJwks } from '../../src/auth/keys.ts';
import type { ServerKeys } from '../../src/auth/keys.ts';
import { loadDefinitions } from '../../src/fhir/definitions/index.ts';
import type { FhirDefinitions } from '../../src/fhir/definitions/index.ts';
import { createLogger } from '../../src/core/logger.ts';
import type { Logger } from '../../src/core/logger.ts';
import type { Db } from '../../src/store/db.ts';
import { openTestDb } from './db.ts';
import type { Driver, TestDb } from './db.ts';
import { FilePseudonymKeys } from '../../src/pseudonym/file-keys.ts';

export const PROFILES_DIR = path.resolve(import.meta.dirname, '..', '..', 'profiles');

let defs: Promise<FhirDefinitions> | undefined;
export function testDefinitions(): Promise<FhirDefinitions> {
  defs ??= loadDefinitions(PROFILES_DIR);
  return defs;
}

export interface TestServer {
  /** The FHIR base URL, e.g. http://127.0.0.1:41234/fhir */
  base: string;
  /** An access token with every system scope (system/*.cruds), valid for an hour. */
  token: string;
  /** Signs a token for the given scopes, as the token endpoint would. */
  tokenFor(scope: string, clientId?: string, org?: Organization, purpose?: string): Promise<string>;
  keys: ServerKeys;
  /** The server root, e.g. http://127.0.0.1:41234 */
  root: string;
  app: App;
  testDb: TestDb;
  close(): Promise<void>;
}

export interface TestServerOptions {
  logger?: Logger;
  keys?: ServerKeys;
  /** Definitions to use instead of the default ones (e.g. with test profiles). */
  defs?: FhirDefinitions;
  config?: Partial<AppDeps['config']>;
  deps?: Partial<Omit<AppDeps, 'config' | 'db' | 'defs'>>;
  /**
   * The database handle the app uses, made from the suite's test database (a proxy connection,
   * a wrapper that injects faults). Default: the test database's own handle.
   */
  db?: (testDb: TestDb) => Db | Promise<Db>;
  /** Settings that depend on where the server listens (an identity provider registered with its callback URL). */
  configFor?: (root: string) => Promise<Partial<AppDeps['config']>>;
}

export async function startTestServer(driver: Driver, o: TestServerOptions = {}): Promise<TestServer> {
  const testDb = await openTestDb(driver);
  const db = o.db ? await o.db(testDb) : testDb.db;
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const base = `${root}/fhir`;
  // Test keys are generated at run time, never committed.
  const keys = o.keys ?? (await serverKeysFromJwks(await generateSigningJwks()));
  const app = createApp({
    config: {
      baseUrl: base,
      defaultCount: 20,
      maxCount: 1000,
      maxBodyBytes: 16 * 1024 * 1024,
      audit: true,
      ...o.config,
      ...(o.configFor ? await o.configFor(root) : {}),
    },
    db,
    defs: o.defs ?? (await testDefinitions()),
    logger: o.logger ?? createLogger('silent'),
    keys,
    ...o.deps,
    registrySecret: o.deps?.registrySecret ?? crypto.randomBytes(32),
    pseudonymKeys: o.deps?.pseudonymKeys ?? new FilePseudonymKeys(crypto.randomBytes(32)),
  });
  server.on('request', app.express);
  await app.publishConformance();
  const tokenFor = async (
    scope: string,
    clientId = 'test-admin',
    org: Organization = { kind: 'authority', code: 'test' },
    purpose?: string,
  ): Promise<string> => (await app.tokens.issue(clientId, 'Test client', org, scope, 3600, purpose)).accessToken;
  const token = await tokenFor('system/*.cruds');
  return {
    base,
    root,
    app,
    testDb,
    token,
    tokenFor,
    keys,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (db !== testDb.db) await db.close().catch(() => undefined);
      await testDb.close();
    },
  };
}
