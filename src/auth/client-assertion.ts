/**
 * SMART Backend Services client authentication (private_key_jwt, RFC 7523), as a checklist of
 * small named steps in the order the spec reads (node-oidc-provider's style). Each step checks
 * one rule and throws ClientAuthError naming itself; the token endpoint answers every failure
 * with the same generic `invalid_client` and sends the precise step to the log and the audit.
 */
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify } from 'jose';
import type { JWK, JWTPayload, ProtectedHeaderParameters } from 'jose';
import type { Client, ClientDirectory } from './clients.ts';
import { signingKeyFits } from './client-keys.ts';
import type { RemoteJwksCache } from './client-keys.ts';
import { OAUTH } from '../core/systems.ts';

export const JWT_BEARER = OAUTH.jwtBearerAssertion;
export const ASSERTION_ALGS = ['RS384', 'ES384'] as const;
/** Largest lifetime of an assertion (SMART: exp no more than five minutes in the future). */
export const MAX_ASSERTION_LIFETIME_S = 300;
/** Clock skew tolerated between client and server. */
export const ASSERTION_SKEW_S = 10;
/** What a client_id looks like (auth/clients.ts checkRegistration): anything else is not looked up, logged or audited as one. */
const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export class ClientAuthError extends Error {
  override name = 'ClientAuthError';
  readonly step: string;
  /** The client id the assertion claimed, when it got that far (for the audit record). */
  readonly claimedClientId: string | undefined;
  constructor(step: string, detail: string, claimedClientId?: string) {
    super(detail);
    this.step = step;
    this.claimedClientId = claimedClientId;
  }
}

export interface AssertionDeps {
  clients: ClientDirectory;
  remoteJwks: RemoteJwksCache;
  /** The exact token endpoint URL: the only acceptable `aud`. */
  tokenEndpoint: string;
  /** Records the jti until `exp`; false when seen before (shared by all nodes via the database). */
  recordJti: (clientId: string, jti: string, expiresAt: Date) => Promise<boolean>;
  now: () => number;
}

interface Ctx {
  form: URLSearchParams;
  assertion?: string;
  header?: ProtectedHeaderParameters;
  claims?: JWTPayload;
  client?: Client;
  key?: JWK;
  verified?: JWTPayload;
}

type Step = (c: Ctx, d: AssertionDeps) => void | Promise<void>;

const fail = (step: string, detail: string, c?: Ctx): never => {
  const iss = c?.claims?.iss;
  throw new ClientAuthError(step, detail, typeof iss === 'string' && CLIENT_ID.test(iss) ? iss : undefined);
};

const steps: [string, Step][] = [
  [
    'client_assertion_type',
    (c) => {
      if (c.form.get('client_assertion_type') !== JWT_BEARER) fail('client_assertion_type', `client_assertion_type must be ${JWT_BEARER}`);
    },
  ],
  [
    'single-mechanism',
    (c) => {
      if (c.form.has('client_secret')) fail('single-mechanism', 'client_secret and client_assertion together');
      const a = c.form.get('client_assertion');
      if (!a || a.split('.').length !== 3) fail('client_assertion', 'client_assertion is missing or not a compact JWS');
      c.assertion = a as string;
    },
  ],
  [
    'header',
    (c) => {
      try {
        c.header = decodeProtectedHeader(c.assertion as string);
      } catch {
        fail('header', 'the assertion header cannot be decoded');
      }
      const h = c.header as ProtectedHeaderParameters;
      if (!ASSERTION_ALGS.includes(h.alg as never)) fail('alg', `alg ${String(h.alg)} is not allowed (RS384 or ES384)`);
      if (typeof h.kid !== 'string' || h.kid === '') fail('kid', 'the assertion header has no kid');
      if (h.typ !== undefined && h.typ.toUpperCase() !== 'JWT') fail('typ', `typ ${h.typ} is not JWT`);
    },
  ],
  [
    'claims',
    (c) => {
      try {
        c.claims = decodeJwt(c.assertion as string);
      } catch {
        fail('claims', 'the assertion payload cannot be decoded');
      }
      const p = c.claims as JWTPayload;
      if (typeof p.iss !== 'string' || p.iss === '') fail('iss', 'iss is missing');
      // Not a client_id: refused before any lookup, so a stranger's string never becomes a cache key.
      if (!CLIENT_ID.test(p.iss as string)) fail('iss', 'iss is not a client_id');
      if (p.sub !== p.iss) fail('sub', 'sub must equal iss (the client_id)', c);
      const given = c.form.get('client_id');
      if (given !== null && given !== p.iss) fail('client_id', 'client_id parameter differs from iss', c);
    },
  ],
  [
    'client',
    async (c, d) => {
      // The directory's short cache (bounded in size): a stream of assertions naming unknown
      // clients costs at most one lookup each, and never grows memory without bound.
      const client = await d.clients.getCached(c.claims?.iss as string);
      if (!client) fail('client', 'iss is not a registered client', c);
      if (!(client as Client).active) fail('client-disabled', 'the client is disabled', c);
      c.client = client;
    },
  ],
  [
    'jku',
    (c) => {
      const jku = c.header?.jku;
      if (jku !== undefined && jku !== c.client?.jwksUri) fail('jku', 'jku is not the registered jwks_uri', c);
    },
  ],
  [
    'key',
    async (c, d) => {
      const kid = c.header?.kid as string;
      const alg = c.header?.alg as string;
      let candidates: JWK[];
      try {
        candidates = c.client?.jwks
          ? c.client.jwks.keys.filter((k) => k.kid === kid)
          : await d.remoteJwks.keysFor(c.client?.jwksUri as string, kid);
      } catch (e) {
        return fail('jwks_uri', (e as Error).message, c);
      }
      const fits = candidates.filter((k) => signingKeyFits(k, alg));
      if (fits.length !== 1) fail('key', `${fits.length} registered keys match kid ${kid} and alg ${alg}`, c);
      c.key = fits[0];
    },
  ],
  [
    'signature',
    async (c, d) => {
      try {
        const key = await importJWK(c.key as JWK, c.header?.alg);
        const res = await jwtVerify(c.assertion as string, key, {
          algorithms: [c.header?.alg as string],
          issuer: c.client?.clientId,
          subject: c.client?.clientId,
          audience: d.tokenEndpoint,
          requiredClaims: ['exp', 'jti'],
          clockTolerance: ASSERTION_SKEW_S,
          currentDate: new Date(d.now()),
        });
        c.verified = res.payload;
      } catch (e) {
        if (e instanceof joseErrors.JWTExpired) return fail('exp', 'the assertion has expired', c);
        if (e instanceof joseErrors.JWTClaimValidationFailed) return fail(e.claim, `claim ${e.claim} failed: ${e.message}`, c);
        if (e instanceof joseErrors.JWSSignatureVerificationFailed) return fail('signature', 'the signature does not verify', c);
        return fail('signature', (e as Error).message, c);
      }
    },
  ],
  [
    'exp-window',
    (c, d) => {
      const exp = c.verified?.exp as number;
      if (exp > d.now() / 1000 + MAX_ASSERTION_LIFETIME_S + ASSERTION_SKEW_S) fail('exp-window', 'exp is more than five minutes ahead', c);
    },
  ],
  [
    'iat',
    (c, d) => {
      // Optional in an assertion; when given, it must not be in the future.
      const iat = c.verified?.iat;
      if (iat !== undefined && iat > d.now() / 1000 + ASSERTION_SKEW_S) fail('iat', 'iat is in the future', c);
    },
  ],
  [
    'jti',
    async (c, d) => {
      const jti = c.verified?.jti;
      if (typeof jti !== 'string' || jti === '') fail('jti', 'jti is missing', c);
      const fresh = await d.recordJti(c.client?.clientId as string, jti as string, new Date((c.verified?.exp as number) * 1000));
      if (!fresh) fail('jti', 'the assertion jti was already used', c);
    },
  ],
];

/** Runs the checklist; returns the authenticated client or throws ClientAuthError. */
export async function authenticateClient(form: URLSearchParams, deps: AssertionDeps): Promise<Client> {
  const c: Ctx = { form };
  for (const [, step] of steps) await step(c, deps);
  return c.client as Client;
}
