/**
 * The access log's signed tree heads and proofs under the FHIR base (issue 17 item 2), for
 * witnesses, the person's portal and anyone checking the log (audit/tree-heads.ts):
 *
 * - `GET [base]/_log/head[?size=n]` — the latest signed head (or the one of size n):
 *   {size, root, time, checkpoint, jws}; public.
 * - `GET [base]/_log/key` — {keyName, verifierKey, jwk}; public.
 * - `GET [base]/_log/proof/consistency?first=m&second=n` — {first, second, proof}; public
 *   (hashes only: nothing about any entry).
 * - `GET [base]/_log/proof/inclusion?event=<AuditEvent id>[&size=n]` — {index, size, leafHash,
 *   entry, proof}; needs a token that may read the AuditEvent: the authority any, every other
 *   client its own client's, a person signed in the events about them (the AuditEvent API's
 *   rule, `auditReach`), and an event the caller may not read is answered as unknown.
 *
 * `GET [base]/_log/checkpoint` (the latest checkpoint as text/plain) is served at the HTTP edge
 * (http/log-checkpoint.ts): a FHIR response is JSON. Hashes are standard base64, as in
 * checkpoints.
 */
import type { TreeHeads } from '../../audit/tree-heads.ts';
import { errors } from '../../core/outcome.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import type { Route } from '../router.ts';
import { auditReach } from './audit-events.ts';

/** The query parameters a route takes, each at most once, as non-negative integers (others refused). */
function intParams(req: FhirRequest, names: readonly string[]): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  for (const [name, value] of req.query) {
    if (name === '_format' || name === '_pretty') continue;
    if (!names.includes(name))
      throw errors.badRequest(
        `Unknown parameter ${name}: this endpoint takes ${names.join(', ') || 'none'}`,
        'invalid-parameter',
        name,
        'not-supported',
      );
    if (out[name] !== undefined) throw errors.badRequest(`Parameter ${name} is given more than once`, 'invalid-parameter', name);
    if (!/^(0|[1-9][0-9]{0,14})$/.test(value))
      throw errors.badRequest(`Parameter ${name} must be a non-negative integer`, 'invalid-parameter', name);
    out[name] = Number(value);
  }
  return out;
}

function required(p: Record<string, number | undefined>, name: string): number {
  const v = p[name];
  if (v === undefined) throw errors.badRequest(`Parameter ${name} is required`, 'invalid-parameter', name);
  return v;
}

/** Public answers anyone (a witness, a browser page) may read and cache for a while. */
function json(body: unknown, cache: string, isPublic = true): FhirResponse {
  return {
    status: 200,
    headers: { 'Cache-Control': cache, ...(isPublic ? { 'Access-Control-Allow-Origin': '*' } : {}) },
    body: { json: JSON.stringify(body) },
  };
}

export function accessLogRoutes(heads: TreeHeads, o: { headSeconds: number }): Route[] {
  const fresh = `public, max-age=${Math.max(1, Math.min(o.headSeconds, 60))}`;
  // A proof between sizes under a signed head never changes: the log only grows.
  const forever = 'public, max-age=31536000, immutable';
  return [
    {
      method: 'GET',
      pattern: '/_log/head',
      name: 'log-head',
      public: true,
      handler: async (req) => {
        const { size } = intParams(req, ['size']);
        const h = await heads.head(size);
        if (!h)
          throw errors.notFound(size === undefined ? 'The access log has no signed tree head yet' : 'No tree head of that size was signed');
        return json(h, size === undefined ? fresh : forever);
      },
    },
    {
      method: 'GET',
      pattern: '/_log/key',
      name: 'log-key',
      public: true,
      handler: (req) => {
        intParams(req, []);
        return Promise.resolve(json(heads.publicKey(), 'public, max-age=3600'));
      },
    },
    {
      method: 'GET',
      pattern: '/_log/proof/consistency',
      name: 'log-consistency-proof',
      public: true,
      handler: async (req) => {
        const p = intParams(req, ['first', 'second']);
        return json(await heads.consistency(required(p, 'first'), required(p, 'second')), forever);
      },
    },
    {
      method: 'GET',
      pattern: '/_log/proof/inclusion',
      name: 'log-inclusion-proof',
      // Whoever may read the AuditEvent: its scope, the access policy (a database reads none),
      // and then its own client's events only unless the authority.
      access: () => [{ type: 'AuditEvent', permission: 'r' }],
      handler: async (req) => {
        const p = intParams(req, ['event', 'size']);
        const proof = await heads.inclusion(required(p, 'event'), auditReach(req), p['size']);
        return json(proof, 'private, no-store', false);
      },
    },
  ];
}
