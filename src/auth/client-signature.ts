/**
 * A document signed by a registered client with its own registered key — the key it signs its
 * client assertions with (SMART Backend Services: RS384 or ES384, from its `jwks` or
 * `jwks_uri`) — other than a token request: a provider's sealed envelope (registry/envelope.ts).
 * Only the signer and the signature are checked here, as named steps like the assertion
 * checklist's; what the claims must say is the caller's business.
 *
 * The header's `typ` must be the one the caller expects (RFC 8725 §3.11, explicit typing), so a
 * client assertion is never taken for an envelope nor an envelope for an assertion (the token
 * endpoint accepts `JWT` or no typ only). Keys with `use: enc` never verify anything.
 */
import { base64url, compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import type { JWK, ProtectedHeaderParameters } from 'jose';
import { ASSERTION_ALGS } from './client-assertion.ts';
import { signingKeyFits } from './client-keys.ts';
import type { RemoteJwksCache } from './client-keys.ts';
import type { Client } from './clients.ts';

/** What a client_id looks like (as auth/clients.ts registers it): anything else is never looked up. */
const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export type ClientSignatureStep =
  'format' | 'alg' | 'kid' | 'typ' | 'iss' | 'signer' | 'signer-disabled' | 'jwks_uri' | 'signing-key' | 'signature';

export type ClientSignatureResult =
  { ok: true; client: Client; payload: Record<string, unknown> } | { ok: false; step: ClientSignatureStep; text: string };

export interface ClientSignatureDeps {
  /** The registered client (the directory's short cache). */
  client(clientId: string): Promise<Client | undefined>;
  remoteJwks: Pick<RemoteJwksCache, 'keysFor'>;
}

const refuse = (step: ClientSignatureStep, text: string): ClientSignatureResult => ({ ok: false, step, text });

function decodePayload(jws: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(base64url.decode(jws.split('.')[1] ?? ''))) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Verifies `jws` (compact) as signed by the registered client its `iss` names, with header `typ`. */
export async function verifyClientJws(jws: string, typ: string, deps: ClientSignatureDeps): Promise<ClientSignatureResult> {
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(jws)) return refuse('format', 'not a compact JWS');
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(jws);
  } catch {
    return refuse('format', 'the JWS header cannot be decoded');
  }
  const alg = header.alg;
  if (!ASSERTION_ALGS.includes(alg as never)) return refuse('alg', `alg ${String(alg)} is not allowed (RS384 or ES384)`);
  if (typeof header.kid !== 'string' || header.kid === '') return refuse('kid', 'the JWS header has no kid');
  if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== typ.toLowerCase()) return refuse('typ', `typ must be ${typ}`);
  const payload = decodePayload(jws);
  if (!payload) return refuse('format', 'the JWS payload is not a JSON object');
  const iss = payload['iss'];
  if (typeof iss !== 'string' || !CLIENT_ID.test(iss)) return refuse('iss', 'iss must be the signer’s client_id');
  const client = await deps.client(iss);
  if (!client) return refuse('signer', 'iss is not a registered client');
  if (!client.active) return refuse('signer-disabled', 'the signing client is disabled');
  let candidates: JWK[];
  try {
    candidates = client.jwks
      ? client.jwks.keys.filter((k) => k.kid === header.kid)
      : await deps.remoteJwks.keysFor(client.jwksUri as string, header.kid);
  } catch (e) {
    return refuse('jwks_uri', (e as Error).message);
  }
  const fits = candidates.filter((k) => signingKeyFits(k, alg as string));
  if (fits.length !== 1) return refuse('signing-key', `${fits.length} registered signing keys match kid ${header.kid} and alg ${alg}`);
  try {
    await compactVerify(jws, await importJWK(fits[0], alg), { algorithms: [alg as string] });
  } catch {
    return refuse('signature', 'the signature does not verify with the signer’s registered key');
  }
  return { ok: true, client, payload };
}
