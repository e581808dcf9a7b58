/**
 * Answers only the client itself can read: a compact JWE (ECDH-ES+A256KW / A256GCM) to the
 * encryption key in its registration — a key with `use: "enc"` in its `jwks` (or at its
 * `jwks_uri`), beside the signing keys it authenticates with. Used for a utilizing database's
 * pseudonyms (`$pseudonymize`): the answer passes gateways and logs on the database's side, and
 * only the holder of its private key (its analysis environment) reads it.
 */
import { CompactEncrypt, importJWK } from 'jose';
import type { JWK } from 'jose';
import { ANSWER_ALG, ANSWER_ENC, encryptionKeyProblem } from './client-keys.ts';
import type { RemoteJwksCache } from './client-keys.ts';
import type { Client } from './clients.ts';

export { ANSWER_ALG, ANSWER_ENC };

export type Sealer = { ok: true; kid: string; seal(plaintext: string): Promise<string> } | { ok: false; text: string };

/**
 * The client's answer sealer: to the first usable `use: "enc"` key of its registration (a client
 * rotating keys lists the new one first; the JWE's `kid` says which key to decrypt with).
 */
export async function sealerFor(client: Client, remoteJwks: Pick<RemoteJwksCache, 'keys'>): Promise<Sealer> {
  let keys: JWK[];
  try {
    keys = client.jwks ? client.jwks.keys : await remoteJwks.keys(client.jwksUri as string);
  } catch (e) {
    return { ok: false, text: `the client's jwks_uri could not be read: ${(e as Error).message}` };
  }
  const jwk = keys.find((k) => k.use === 'enc' && !('d' in k) && encryptionKeyProblem(k) === undefined);
  if (!jwk)
    return {
      ok: false,
      text: `client ${client.clientId} has no encryption key: register a public key with "use": "enc" (EC P-256, ${ANSWER_ALG})`,
    };
  const kid = jwk.kid as string;
  const key = await importJWK(jwk, ANSWER_ALG);
  return {
    ok: true,
    kid,
    seal: (plaintext) =>
      new CompactEncrypt(new TextEncoder().encode(plaintext))
        .setProtectedHeader({ alg: ANSWER_ALG, enc: ANSWER_ENC, kid, cty: 'json' })
        .encrypt(key),
  };
}
