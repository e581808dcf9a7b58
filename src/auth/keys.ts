/**
 * The server's own signing keys for access tokens (jose). A JWKS with private keys comes from
 * MEDID_SIGNING_KEY_FILE, or is generated once into the data directory (embedded default).
 * The first key signs; every key verifies and is published at the JWKS endpoint, so a new key
 * can be put first while tokens signed by the old one stay valid until they expire (rotation
 * without downtime).
 */
import fs from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { CryptoKey, JWK, KeyObject } from 'jose';
import { liveKeys } from '../core/keys/key-store.ts';
import type { KeyStore } from '../core/keys/key-store.ts';

const SIGNING_ALGS = new Set(['ES256', 'ES384', 'RS256', 'RS384', 'PS256', 'EdDSA']);

export interface SigningKey {
  kid: string;
  alg: string;
  /** A key in this process (file keys); absent for a key store's key, which signs with `sign`. */
  privateKey?: CryptoKey | KeyObject | Uint8Array;
  publicKey: CryptoKey | KeyObject | Uint8Array;
  publicJwk: JWK;
  /** The JWS signature of a signing input (a key store's key: PKCS#11 or a keyring file). */
  sign?: (data: Uint8Array) => Buffer;
}

export interface ServerKeys {
  /** The key new tokens are signed with. */
  active: SigningKey;
  byKid: ReadonlyMap<string, SigningKey>;
  /** Public keys for the JWKS endpoint. */
  jwks: { keys: JWK[] };
}

export class KeyError extends Error {
  override name = 'KeyError';
}

function publicPart(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, k: _k, ...pub } = jwk as JWK & { oth?: unknown };
  return pub;
}

async function fromJwk(jwk: JWK): Promise<SigningKey> {
  const alg = jwk.alg;
  if (!alg || !SIGNING_ALGS.has(alg)) throw new KeyError(`signing key ${jwk.kid ?? '?'} needs "alg" among ${[...SIGNING_ALGS].join(', ')}`);
  if (!jwk.d) throw new KeyError(`signing key ${jwk.kid ?? '?'} has no private part`);
  const kid = jwk.kid ?? (await calculateJwkThumbprint(jwk));
  const pub = { ...publicPart(jwk), kid, alg, use: 'sig' };
  return {
    kid,
    alg,
    privateKey: await importJWK({ ...jwk, kid }, alg),
    publicKey: await importJWK(pub, alg),
    publicJwk: pub,
  };
}

export async function serverKeysFromJwks(jwks: { keys?: JWK[] }): Promise<ServerKeys> {
  const keys = await Promise.all((jwks.keys ?? []).map(fromJwk));
  const active = keys[0];
  if (!active) throw new KeyError('the signing key set is empty');
  const byKid = new Map(keys.map((k) => [k.kid, k]));
  if (byKid.size !== keys.length) throw new KeyError('signing keys must have distinct kids');
  return { active, byKid, jwks: { keys: keys.map((k) => k.publicJwk) } };
}

/** A fresh private JWKS with one ES256 key (tests, and the embedded default's first start). */
export async function generateSigningJwks(): Promise<{ keys: JWK[] }> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { keys: [{ ...jwk, kid, alg: 'ES256', use: 'sig' }] };
}

export interface KeySource {
  /** MEDID_SIGNING_KEY_FILE */
  file: string | undefined;
  /** Where the embedded default keeps a generated key. */
  dataDir: string;
}

/** Loads the configured key file, or the generated one in the data dir (creating it once). */
export async function loadServerKeys(src: KeySource): Promise<{ keys: ServerKeys; generated: boolean }> {
  if (src.file) {
    let parsed: { keys?: JWK[] };
    try {
      parsed = JSON.parse(fs.readFileSync(src.file, 'utf8')) as { keys?: JWK[] };
    } catch (e) {
      throw new KeyError(`MEDID_SIGNING_KEY_FILE ${src.file}: ${(e as Error).message}`);
    }
    return { keys: await serverKeysFromJwks(parsed), generated: false };
  }
  const file = path.join(src.dataDir, 'keys', 'signing-jwks.json');
  if (fs.existsSync(file)) {
    return { keys: await serverKeysFromJwks(JSON.parse(fs.readFileSync(file, 'utf8')) as { keys?: JWK[] }), generated: false };
  }
  const jwks = await generateSigningJwks();
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Created exclusively: two processes starting together cannot overwrite each other's key.
  try {
    fs.writeFileSync(file, JSON.stringify(jwks, null, 2), { mode: 0o600, flag: 'wx' });
  } catch {
    return { keys: await serverKeysFromJwks(JSON.parse(fs.readFileSync(file, 'utf8')) as { keys?: JWK[] }), generated: false };
  }
  return { keys: await serverKeysFromJwks(jwks), generated: true };
}

/**
 * The token signing keys of a key store (core/keys), with the legacy JWKS (the file back end's
 * version 1) where the keyring still uses it. Published: every pending, active and verify-only
 * key whose overlap window is open; signing: the newest active one (privacy-design.md §7).
 * Rotation is two steps (`medid keys rotate token-signing`, then `medid keys activate`), each
 * followed by a restart of every node: a pending key is known to every node and client cache
 * before the first token it signs, and the old key stays published, verify-only, for the
 * longest a token lives.
 */
export async function serverKeysFromStore(store: KeyStore, legacy: () => Promise<ServerKeys>, now = new Date()): Promise<ServerKeys> {
  const live = liveKeys(store, 'token-signing', now);
  const groups: { status: string; keys: SigningKey[] }[] = [];
  for (const meta of live) {
    if (meta.legacy) {
      const old = await legacy();
      groups.push({ status: meta.status, keys: [old.active, ...[...old.byKid.values()].filter((k) => k !== old.active)] });
      continue;
    }
    const h = store.signer('token-signing', meta.version);
    const jwk = await exportJWK(h.publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    const publicJwk: JWK = { ...jwk, kid, alg: meta.alg, use: 'sig' };
    groups.push({ status: meta.status, keys: [{ kid, alg: meta.alg, publicKey: h.publicKey, publicJwk, sign: (d) => h.sign(d) }] });
  }
  const signing = groups.filter((g) => g.status === 'active').at(-1);
  const active = signing?.keys[0];
  if (!active) throw new KeyError('no active token signing key in the keyring (medid keys list)');
  const keys = [...signing.keys, ...groups.filter((g) => g !== signing).flatMap((g) => g.keys)];
  const byKid = new Map(keys.map((k) => [k.kid, k]));
  if (byKid.size !== keys.length) throw new KeyError('signing keys must have distinct kids');
  return { active, byKid, jwks: { keys: keys.map((k) => k.publicJwk) } };
}
