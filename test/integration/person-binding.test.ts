/**
 * How an identity provider's subject becomes a registry person (auth/person-sign-in.ts), on both
 * databases: the My Number's MAC binds the subject the first time; later sign-ins need no number;
 * a subject presented with another number, a first sign-in without one, a malformed number and
 * a number nobody holds are each refused at their named step. The IdP is a stand-in here: the
 * real protocol runs against oidc-provider in test/conformance/person-sign-in.test.ts.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningJwks, serverKeysFromJwks } from '../../src/auth/keys.ts';
import { AccessTokens } from '../../src/auth/access-token.ts';
import type { PersonIdp } from '../../src/auth/person-idp.ts';
import { PersonSignIn, PORTAL_CLIENT_ID, PORTAL_SCOPE } from '../../src/auth/person-sign-in.ts';
import { Topic } from '../../src/core/events.ts';
import type { LoginAttempt } from '../../src/core/events.ts';
import { createLogger } from '../../src/core/logger.ts';
import { testDrivers, openTestDb } from '../helpers/db.ts';
import type { TestDb } from '../helpers/db.ts';
import { myNumber } from '../helpers/registry.ts';

const A = myNumber('71234567890');
const B = myNumber('71234567891');

describe.each(testDrivers())('subject binding on %s', (driver) => {
  let t: TestDb;
  let signIn: PersonSignIn;
  const attempts: LoginAttempt[] = [];
  /** What the stand-in IdP says next: subject and (maybe) My Number. */
  let next: { subject: string; myNumber: string | undefined };
  const key = crypto.randomBytes(32);
  const mac = (d: string) => crypto.createHmac('sha256', key).update(d).digest();
  const holders = new Map<string, string>([
    [mac(A).toString('hex'), 'patient-a'],
    [mac(B).toString('hex'), 'patient-b'],
  ]);
  const redirect = 'https://portal.example/portal/';

  beforeAll(async () => {
    t = await openTestDb(driver);
    const idp = {
      authorizationUrl: (state: string) => Promise.resolve(`https://idp.example/auth?state=${state}`),
      identify: () => Promise.resolve({ issuer: 'https://idp.example', subject: next.subject, myNumber: next.myNumber }),
    } as unknown as PersonIdp;
    const logins = new Topic<LoginAttempt>();
    logins.on((a) => {
      attempts.push(a);
      return Promise.resolve();
    });
    signIn = new PersonSignIn({
      db: t.db,
      idp,
      apps: [{ clientId: PORTAL_CLIENT_ID, name: 'portal', redirectUris: [redirect], scope: PORTAL_SCOPE }],
      audience: 'https://medid.example/fhir',
      issuer: 'https://medid.example/oauth',
      tokens: new AccessTokens({
        keys: await serverKeysFromJwks(await generateSigningJwks()),
        issuer: 'https://medid.example/oauth',
        audience: 'https://medid.example/fhir',
        isResourceType: () => true,
      }),
      isResourceType: () => true,
      myNumberMac: { mac, version: 1 },
      patientOfMac: (m) => Promise.resolve(holders.get(m.toString('hex'))),
      logins,
      logger: createLogger('silent'),
      now: () => new Date(),
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** One sign-in: authorize, the IdP answers `next`, the callback; the redirect back or the refused step. */
  const signInAs = async (subject: string, mn: string | undefined): Promise<{ code?: string; step?: string }> => {
    next = { subject, myNumber: mn };
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: PORTAL_CLIENT_ID,
      redirect_uri: redirect,
      scope: 'patient/*.rs',
      state: 's',
      aud: 'https://medid.example/fhir',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    });
    const meta = { requestId: 'r', remoteAddress: undefined };
    const a = await signIn.authorize(q, meta);
    if (!('redirect' in a)) throw new Error(a.text);
    const state = new URL(a.redirect).searchParams.get('state') ?? '';
    const back = await signIn.callback(new URLSearchParams({ state, code: 'idp-code' }), meta);
    if (!('redirect' in back)) throw new Error(back.text);
    const code = new URL(back.redirect).searchParams.get('code') ?? undefined;
    const last = attempts[attempts.length - 1];
    return code ? { code } : { step: /at step ([a-z-]+)/.exec(last?.description ?? '')?.[1] };
  };

  it('binds on the first sign-in, then needs no number', async () => {
    expect((await signInAs('alice', A)).code).toBeDefined();
    expect(attempts[attempts.length - 1]?.patientId).toBe('patient-a');
    expect((await signInAs('alice', undefined)).code).toBeDefined();
    expect(attempts[attempts.length - 1]?.patientId).toBe('patient-a');
  });

  it('refuses a subject presented with another number (subject-rebound), for the person it is bound to', async () => {
    expect(await signInAs('alice', B)).toEqual({ step: 'subject-rebound' });
  });

  it('refuses a first sign-in without a number, a malformed number, and a number nobody holds', async () => {
    expect(await signInAs('bob', undefined)).toEqual({ step: 'my-number' });
    expect(await signInAs('bob', '123456789012')).toEqual({ step: 'my-number' });
    expect(await signInAs('carol', myNumber('71234567899'))).toEqual({ step: 'not-registered' });
  });
});
