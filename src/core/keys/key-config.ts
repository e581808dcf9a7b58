/**
 * Which key back end medid uses, read from the environment (config.ts holds the result), and the
 * production guard: with NODE_ENV=production, keys in files refuse to start unless the operator
 * acknowledges it with MEDID_ALLOW_FILE_KEYS=1 — and then every start logs a warning
 * (privacy-design.md §1: "using them in production needs an explicit config acknowledgement and
 * logs a loud warning").
 */
import path from 'node:path';
import { FileKeyStore } from './file-store.ts';
import { KeyStoreError } from './key-store.ts';
import type { KeyStore } from './key-store.ts';
import { Pkcs11KeyStore, readPin } from './pkcs11-store.ts';

export interface KeyConfig {
  /** MEDID_KEY_BACKEND: `file` (default; development) or `pkcs11`. */
  backend: 'file' | 'pkcs11';
  /** MEDID_KEY_DIR: the keyring (and the file back end's keys). Default `<MEDID_DATA_DIR>/keys`. */
  dir: string | undefined;
  /** MEDID_PKCS11_MODULE, MEDID_PKCS11_TOKEN, MEDID_PKCS11_PIN_FILE: required with `pkcs11`. */
  pkcs11: { module: string; token: string; pinFile: string } | undefined;
  /** NODE_ENV=production. */
  production: boolean;
  /** MEDID_ALLOW_FILE_KEYS=1: file keys in production, acknowledged. */
  allowFileKeys: boolean;
}

type Env = Record<string, string | undefined>;

/** Throws an Error naming the variable (config.ts turns it into a ConfigError). */
export function parseKeyConfig(env: Env): KeyConfig {
  const backend = env['MEDID_KEY_BACKEND'] || 'file';
  if (backend !== 'file' && backend !== 'pkcs11') throw new Error(`MEDID_KEY_BACKEND must be file or pkcs11, got "${backend}"`);
  const allow = env['MEDID_ALLOW_FILE_KEYS'] ?? '';
  if (!['', '0', '1'].includes(allow)) throw new Error(`MEDID_ALLOW_FILE_KEYS must be 1 (or unset), got "${allow}"`);
  let pkcs11: KeyConfig['pkcs11'];
  if (backend === 'pkcs11') {
    const module = env['MEDID_PKCS11_MODULE'];
    const token = env['MEDID_PKCS11_TOKEN'];
    const pinFile = env['MEDID_PKCS11_PIN_FILE'];
    if (!module || !token || !pinFile)
      throw new Error('MEDID_KEY_BACKEND=pkcs11 needs MEDID_PKCS11_MODULE, MEDID_PKCS11_TOKEN and MEDID_PKCS11_PIN_FILE');
    pkcs11 = { module, token, pinFile };
  }
  return {
    backend,
    dir: env['MEDID_KEY_DIR'] ? path.resolve(env['MEDID_KEY_DIR']) : undefined,
    pkcs11,
    production: env['NODE_ENV'] === 'production',
    allowFileKeys: allow === '1',
  };
}

export const FILE_KEYS_WARNING =
  'MEDID_ALLOW_FILE_KEYS=1: KEYS ARE FILES ON THIS HOST IN PRODUCTION (NODE_ENV=production). Token signing, My Number MAC, pseudonym and log keys can be copied by anyone who reads MEDID_KEY_DIR or the data directory; move them into an HSM (MEDID_KEY_BACKEND=pkcs11, README "Keys and the key ceremony").';

/**
 * The production guard, run before anything else at start: refuses file keys in production
 * unless acknowledged, and warns on every start when they are.
 */
export function checkKeyBackend(k: KeyConfig, warn: (message: string) => void): void {
  if (k.backend !== 'file' || !k.production) return;
  if (!k.allowFileKeys) {
    throw new KeyStoreError(
      'NODE_ENV=production with keys in files: refusing to start. Use an HSM (MEDID_KEY_BACKEND=pkcs11) or acknowledge file keys with MEDID_ALLOW_FILE_KEYS=1',
    );
  }
  warn(FILE_KEYS_WARNING);
}

/** The key directory: MEDID_KEY_DIR, or `<dataDir>/keys`. */
export function keyDir(k: KeyConfig, dataDir: string): string {
  return k.dir ?? path.join(dataDir, 'keys');
}

/** Opens the configured back end (close it when done). */
export function openKeyStore(k: KeyConfig, dataDir: string): KeyStore {
  const dir = keyDir(k, dataDir);
  if (k.backend === 'file' || !k.pkcs11) return new FileKeyStore(dir);
  return new Pkcs11KeyStore({ module: k.pkcs11.module, token: k.pkcs11.token, pin: readPin(k.pkcs11.pinFile), keyDir: dir });
}
