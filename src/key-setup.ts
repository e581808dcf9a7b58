/**
 * Start-up of every key medid holds, from the key store (core/keys) the configuration names:
 * token signing keys, the My Number and card-certificate MACs, the pseudonym master and the
 * access log's signing key, each as operations for the service that uses it (privacy-design.md
 * §1: each service is given its own key handles only). The file back end's version 1 of each
 * purpose is the secret file medid always read (legacy), so a development data directory keeps
 * its MACs, pseudonyms and signatures; rotated versions and PKCS#11 keys come from the keyring.
 * The production guard runs first (key-config.ts). The envelope key stays a file for now.
 */
import { createHmac } from 'node:crypto';
import { KeyError, loadServerKeys, serverKeysFromStore } from './auth/keys.ts';
import type { ServerKeys } from './auth/keys.ts';
import { FileLogKey, loadLogSecret, logKeyName, StoreLogKey } from './audit/log-key.ts';
import type { LogKey } from './audit/log-key.ts';
import { checkKeyBackend, openKeyStore } from './core/keys/key-config.ts';
import { activeKey, liveKeys } from './core/keys/key-store.ts';
import type { KeyMeta, KeyPurpose, KeyStore } from './core/keys/key-store.ts';
import type { Logger } from './core/logger.ts';
import { SecretFileError } from './core/secret-file.ts';
import type { Config } from './config.ts';
import { CertificateMac } from './privacy/my-number/certificate-mac.ts';
import { ChainedMac, MyNumberMac, StoreMac } from './privacy/my-number/mac.ts';
import type { KeyedMac, MacStep } from './privacy/my-number/mac.ts';
import { loadRegistrySecret } from './privacy/my-number/secret.ts';
import { FilePseudonymKeys, loadPseudonymMaster } from './pseudonym/file-keys.ts';
import type { PseudonymKeys } from './pseudonym/keys.ts';
import { PrfPseudonymKeys, pseudonymPrk } from './pseudonym/prf-keys.ts';
import type { MasterPrf } from './pseudonym/prf-keys.ts';

export interface LoadedKeys {
  store: KeyStore;
  tokenKeys: ServerKeys;
  myNumberMac: KeyedMac;
  certificateMac: KeyedMac;
  pseudonymKeys: PseudonymKeys;
  logKey: LogKey;
  /** The legacy registry secret, when it was read (the envelope secret must differ from it). */
  secrets: Buffer[];
}

type KeyConfigPart = Pick<
  Config,
  'keys' | 'dataDir' | 'databaseUrl' | 'baseUrl' | 'signingKeyFile' | 'secretFile' | 'pseudonymKeyFile' | 'logKeyFile'
>;

/** The keys of a purpose in use, as a chain from version 1 (the My Number MAC: every link counts). */
function chainOf(store: KeyStore, purpose: KeyPurpose): KeyMeta[] {
  const chain = liveKeys(store, purpose, new Date()).filter((k) => k.status === 'active' || k.status === 'verify-only');
  chain.forEach((k, i) => {
    if (k.version !== i + 1)
      throw new KeyError(`${purpose}: the MAC chain needs every version from 1; v${i + 1} is not active or verify-only`);
  });
  if (chain.length === 0) throw new KeyError(`${purpose}: no active key in the keyring (medid keys list; medid keys generate ${purpose})`);
  return chain;
}

function needActive(store: KeyStore, purpose: KeyPurpose): KeyMeta {
  const k = activeKey(store, purpose);
  if (!k) throw new KeyError(`${purpose}: no active key in the keyring (medid keys list; medid keys generate ${purpose})`);
  return k;
}

/** A key store MAC key as a link of a chain (its version with it). */
function stepOf(store: KeyStore, purpose: KeyPurpose, version: number): MacStep {
  const h = store.mac(purpose, version);
  return { version, hmac: (d) => h.hmac(d) };
}

/** The My Number MAC: version 1 (the legacy secret's, or the store's key) and the rotations chained on it. */
export function myNumberMacOf(store: KeyStore, legacySecret: () => Buffer, chain = chainOf(store, 'my-number-mac')): KeyedMac {
  const [first, ...rest] = chain;
  const base = first?.legacy ? new MyNumberMac(legacySecret()) : new StoreMac(stepOf(store, 'my-number-mac', 1), 'medid/mn');
  return rest.length === 0
    ? base
    : new ChainedMac(
        base,
        rest.map((k) => stepOf(store, 'my-number-mac', k.version)),
      );
}

/** Opens the key store (after the production guard) and every key medid uses. */
export async function loadKeys(config: KeyConfigPart, logger: Logger): Promise<LoadedKeys> {
  checkKeyBackend(config.keys, (m) => logger.warn(m));
  const store = openKeyStore(config.keys, config.dataDir);
  try {
    return await load(store, config, logger);
  } catch (e) {
    store.close();
    throw e;
  }
}

async function load(store: KeyStore, config: KeyConfigPart, logger: Logger): Promise<LoadedKeys> {
  const shared = (variable: string, what: string): void => {
    if (config.databaseUrl && store.backend === 'file')
      logger.warn(`${variable} is not set: ${what} generated into MEDID_DATA_DIR; every node must share it`);
  };
  const tokenKeys = await serverKeysFromStore(store, async () => {
    const { keys, generated } = await loadServerKeys({ file: config.signingKeyFile, dataDir: config.dataDir });
    if (generated) logger.info({ kid: keys.active.kid }, 'generated a token signing key in the data directory');
    if (!config.signingKeyFile) shared('MEDID_SIGNING_KEY_FILE', 'tokens are signed with a key');
    return keys;
  });

  // The registry secret is read only when a legacy key needs it.
  const secrets: Buffer[] = [];
  let registrySecret: Buffer | undefined;
  const legacyRegistry = (): Buffer => {
    if (!registrySecret) {
      const { secret, generated } = loadRegistrySecret({ file: config.secretFile, dataDir: config.dataDir });
      if (generated) logger.info('generated the registry secret in the data directory');
      if (!config.secretFile) shared('MEDID_SECRET_FILE', 'My Number MACs use a secret (losing it makes registered My Numbers unfindable)');
      registrySecret = secret;
      secrets.push(secret);
    }
    return registrySecret;
  };
  const myNumberMac = myNumberMacOf(store, legacyRegistry);
  const cert = needActive(store, 'certificate-mac');
  const certificateMac = cert.legacy
    ? new CertificateMac(legacyRegistry())
    : new StoreMac(stepOf(store, 'certificate-mac', cert.version), 'medid/jpki-cert');

  const masters = liveKeys(store, 'pseudonym-master', new Date()).filter((k) => k.status === 'active' || k.status === 'verify-only');
  if (masters.length === 0) throw new KeyError('pseudonym-master: no active key in the keyring (medid keys list)');
  const prfs: MasterPrf[] = [];
  let legacyMaster: Buffer | undefined;
  for (const k of masters) {
    if (k.legacy) {
      const { master, generated } = loadPseudonymMaster({ file: config.pseudonymKeyFile, dataDir: config.dataDir });
      if (generated) logger.info('generated the pseudonym master secret in the data directory');
      // Two holders, two secrets (privacy-design.md §1): one file given for both defeats the split.
      if (secrets.some((s) => s.equals(master)))
        throw new SecretFileError('MEDID_PSEUDONYM_KEY_FILE holds the same secret as MEDID_SECRET_FILE: the two must differ');
      if (!config.pseudonymKeyFile)
        shared('MEDID_PSEUDONYM_KEY_FILE', 'domain pseudonyms derive from a secret (losing it changes every pseudonym)');
      secrets.push(master);
      legacyMaster = master;
      const prk = pseudonymPrk(master);
      prfs.push({ version: 1, hmac: (d) => createHmac('sha256', prk).update(d).digest() });
    } else {
      const h = store.mac('pseudonym-master', k.version);
      prfs.push({ version: k.version, hmac: (d) => h.hmac(d) });
    }
  }
  // The legacy master alone keeps its own class (and its linkage-order derivation, prf-keys.ts).
  const pseudonymKeys: PseudonymKeys =
    legacyMaster && masters.length === 1 ? new FilePseudonymKeys(legacyMaster) : new PrfPseudonymKeys(prfs);

  const log = needActive(store, 'log-signing');
  let logKey: LogKey;
  if (log.legacy) {
    const { secret, generated } = loadLogSecret({ file: config.logKeyFile, dataDir: config.dataDir });
    if (generated) logger.info('generated the access log signing key secret in the data directory');
    if (secrets.some((s) => s.equals(secret)))
      throw new SecretFileError('MEDID_LOG_KEY_FILE holds the same secret as another medid secret file: each must differ');
    if (!config.logKeyFile)
      shared('MEDID_LOG_KEY_FILE', 'the access log signs its tree heads with a key derived from a secret (witnesses trust its public key)');
    secrets.push(secret);
    logKey = new FileLogKey(secret, logKeyName(config.baseUrl));
  } else {
    logKey = new StoreLogKey(store.signer('log-signing', log.version), logKeyName(config.baseUrl));
  }
  if (store.backend === 'pkcs11')
    logger.info({ keys: store.list().map((k) => `${k.purpose}/v${k.version}:${k.status}`) }, 'keys in the PKCS#11 token');
  return { store, tokenKeys, myNumberMac, certificateMac, pseudonymKeys, logKey, secrets };
}
