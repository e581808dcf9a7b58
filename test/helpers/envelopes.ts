/**
 * Sealed delivery for tests, done the way a provider and a database do it with jose: a provider
 * signs the envelope's claims with its registered client key and encrypts the JWS to the
 * authority's published envelope key; a database holds an encryption key pair (`use: "enc"`) and
 * decrypts its answers. Keys are generated at run time, never committed.
 */
import crypto from 'node:crypto';
import { CompactEncrypt, CompactSign, compactDecrypt, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import type { TestClient } from './clients.ts';

export const ENVELOPE_TYP = 'medid-envelope+jwt';

export interface EnvelopeClaims {
  iss: string;
  aud: string | string[];
  work?: string;
  iat?: number;
  exp?: number;
  nbf?: number;
  insured?: string;
  publicPayer?: string;
  medicalId?: string;
  [k: string]: unknown;
}

/** Claims valid for five minutes from `now` (seconds), with a fresh work number unless given. */
export function envelopeClaims(
  c: Partial<EnvelopeClaims> & Pick<EnvelopeClaims, 'iss' | 'aud'>,
  now = Math.floor(Date.now() / 1000),
): EnvelopeClaims {
  return { work: `W-${crypto.randomBytes(6).toString('hex')}`, iat: now, exp: now + 300, ...c };
}

export interface SealOptions {
  /** The inner JWS's typ (default medid-envelope+jwt). */
  typ?: string;
  /** Signs with this key instead of the client's own (a forgery), under the client's kid. */
  signWith?: CryptoKey;
  kid?: string;
  /** The outer JWE's kid (default the authority key's). */
  outerKid?: string;
  /** Encrypt something else than a JWS (the inner content as given). */
  plaintext?: string;
}

/** A provider's sealed envelope: its claims signed with its client key, then encrypted to `authorityKey`. */
export async function sealEnvelope(authorityKey: JWK, signer: TestClient, claims: EnvelopeClaims, o: SealOptions = {}): Promise<string> {
  const jws =
    o.plaintext ??
    (await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ alg: signer.alg, kid: o.kid ?? signer.kid, typ: o.typ ?? ENVELOPE_TYP })
      .sign(o.signWith ?? signer.privateKey));
  return new CompactEncrypt(new TextEncoder().encode(jws))
    .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: o.outerKid ?? authorityKey.kid, cty: 'JWT' })
    .encrypt(await importJWK(authorityKey, 'ECDH-ES+A256KW'));
}

export interface EncryptionKey {
  kid: string;
  privateKey: CryptoKey;
  /** For the client's registered JWKS, beside its signing key. */
  publicJwk: JWK;
}

/** A database's encryption key pair (EC P-256, ECDH-ES+A256KW). */
export async function newEncryptionKey(kid = `enc-${crypto.randomBytes(4).toString('hex')}`): Promise<EncryptionKey> {
  const { privateKey, publicKey } = await generateKeyPair('ECDH-ES+A256KW', { crv: 'P-256', extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, use: 'enc', alg: 'ECDH-ES+A256KW' } };
}

/** What a database reads from an answer's `pseudonym` JWE with its private key. */
export async function openAnswer(
  jwe: string,
  key: EncryptionKey,
): Promise<{ header: Record<string, unknown>; body: { pseudonym: string; target: string; work: string } }> {
  const { plaintext, protectedHeader } = await compactDecrypt(jwe, key.privateKey, {
    keyManagementAlgorithms: ['ECDH-ES+A256KW'],
    contentEncryptionAlgorithms: ['A256GCM'],
  });
  return { header: protectedHeader, body: JSON.parse(new TextDecoder().decode(plaintext)) as never };
}
