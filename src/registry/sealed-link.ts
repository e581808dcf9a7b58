/**
 * The old→new link of a change that breaks linkage, sealed (privacy-design.md §3 case 2,
 * MEDID_BREAK_LINKAGE_LINK=sealed): a JWE (RFC 7516, ECDH-ES+A256KW / A256GCM) to the oversight
 * body's public key. medid holds only that public key, so it can write the record and never
 * read it back; the oversight body opens it with its private key, outside medid, when an
 * authorized re-linking needs it. With `none` no sealer exists and nothing of the link is kept.
 */
import crypto from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { CompactEncrypt } from 'jose';

export class OversightKeyError extends Error {
  override name = 'OversightKeyError';
}

/** What the sealed record says. The keys are the person's old and new KID: the oversight body can then have each domain's old and new pseudonym derived. */
export interface BrokenLink {
  patientId: string;
  oldKey: Buffer;
  newKey: Buffer;
  /** Persons merged into this one, whose keys were replaced with it. */
  merged: readonly { oldKey: Buffer; newKey: Buffer }[];
  /** The day of the decision (YYYY-MM-DD). */
  date: string;
  reason: 'break-linkage';
}

/** The JSON inside the JWE (version 1). */
export interface SealedLinkV1 {
  v: 1;
  /** `Patient/<id>`: the person, whose Patient id does not change. */
  patient: string;
  /** base64url of the 16-byte old KID. */
  old: string;
  /** base64url of the 16-byte new KID. */
  new: string;
  /** The same for each person merged into this one. */
  merged: { old: string; new: string }[];
  date: string;
  reason: 'break-linkage';
}

/** Seals a link; the registry is given this function, never a key. */
export type LinkSeal = (link: BrokenLink) => Promise<string>;

export const SEALED_LINK_ALG = 'ECDH-ES+A256KW';
export const SEALED_LINK_ENC = 'A256GCM';
export const SEALED_LINK_TYP = 'medid-broken-link+json';

export interface OversightKey {
  key: KeyObject;
  /** The JWK's kid, or its RFC 7638 thumbprint: names the key the record was sealed to. */
  kid: string;
}

const CURVES: Record<string, readonly string[]> = { EC: ['P-256', 'P-384', 'P-521'], OKP: ['X25519', 'X448'] };

/** RFC 7638: SHA-256 over the required members in lexicographic order. */
function thumbprint(jwk: JsonWebKey): string {
  const members = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return crypto.createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/** The oversight body's public key from a JWK (parsed JSON). */
export function oversightKeyFromJwk(jwk: unknown, where = 'the oversight key'): OversightKey {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new OversightKeyError(`${where} is not a JWK (a JSON object)`);
  const j = jwk as JsonWebKey & { kid?: unknown };
  if ('d' in j || 'p' in j || 'k' in j)
    throw new OversightKeyError(
      `${where} holds private or symmetric key material: give the oversight body's public key only (medid must not be able to open what it seals)`,
    );
  const curves = typeof j.kty === 'string' ? CURVES[j.kty] : undefined;
  if (!curves || typeof j.crv !== 'string' || !curves.includes(j.crv))
    throw new OversightKeyError(`${where} must be an EC (P-256, P-384, P-521) or OKP (X25519, X448) public key for ECDH-ES`);
  let key: KeyObject;
  try {
    key = crypto.createPublicKey({ key: j, format: 'jwk' });
  } catch (e) {
    throw new OversightKeyError(`${where} is not a usable public key: ${(e as Error).message}`);
  }
  return { key, kid: typeof j.kid === 'string' && j.kid !== '' ? j.kid : thumbprint(j) };
}

/** Reads MEDID_OVERSIGHT_KEY_FILE (a public JWK); refuses a missing file, a private key, another key type. */
export function readOversightKey(file: string | undefined): OversightKey {
  if (!file)
    throw new OversightKeyError('MEDID_BREAK_LINKAGE_LINK=sealed needs MEDID_OVERSIGHT_KEY_FILE (the oversight body’s public JWK)');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new OversightKeyError(`MEDID_OVERSIGHT_KEY_FILE ${file}: ${(e as Error).message}`);
  }
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    throw new OversightKeyError(`MEDID_OVERSIGHT_KEY_FILE ${file} is not JSON`);
  }
  return oversightKeyFromJwk(jwk, `MEDID_OVERSIGHT_KEY_FILE ${file}`);
}

export function sealedLinkPayload(link: BrokenLink): SealedLinkV1 {
  return {
    v: 1,
    patient: `Patient/${link.patientId}`,
    old: link.oldKey.toString('base64url'),
    new: link.newKey.toString('base64url'),
    merged: link.merged.map((m) => ({ old: m.oldKey.toString('base64url'), new: m.newKey.toString('base64url') })),
    date: link.date,
    reason: link.reason,
  };
}

/** A sealer for the oversight key: each call gives a compact JWE only the private key opens. */
export function linkSealer(k: OversightKey): LinkSeal {
  return (link) =>
    new CompactEncrypt(Buffer.from(JSON.stringify(sealedLinkPayload(link)), 'utf8'))
      .setProtectedHeader({ alg: SEALED_LINK_ALG, enc: SEALED_LINK_ENC, kid: k.kid, typ: SEALED_LINK_TYP, cty: 'json' })
      .encrypt(k.key);
}
