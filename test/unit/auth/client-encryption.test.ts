/**
 * A client's encryption key (`use: "enc"`): accepted at registration beside its signing keys when
 * it can receive ECDH-ES+A256KW answers, never used to verify a signature, and the one answers
 * are sealed to.
 */
import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { sealerFor } from '../../../src/auth/client-encryption.ts';
import { signingKeyFits } from '../../../src/auth/client-keys.ts';
import { checkRegistration, RegistrationError } from '../../../src/auth/clients.ts';
import type { Client } from '../../../src/auth/clients.ts';
import { newEncryptionKey, openAnswer } from '../../helpers/envelopes.ts';

const registration = {
  client_id: 'ndb-analysis',
  name: 'NDB',
  scope: 'system/Patient.r',
  organization: { kind: 'database' as const, code: 'ndb' },
};

const client = (keys: Client['jwks'], jwksUri?: string): Client => ({
  clientId: 'ndb-analysis',
  name: 'NDB',
  jwks: keys,
  jwksUri,
  scope: 'system/Patient.r',
  org: { kind: 'database', code: 'ndb' },
  purposes: [],
  active: true,
});

describe('client encryption keys', () => {
  it('are accepted at registration beside the signing key, and checked', async () => {
    const sig = { ...(await exportJWK((await generateKeyPair('ES384')).publicKey)), kid: 's1', use: 'sig', alg: 'ES384' };
    const enc = (await newEncryptionKey('e1')).publicJwk;
    expect(checkRegistration({ ...registration, jwks: { keys: [sig, enc] } }).jwks).toContain('"use":"enc"');
    const rsa = { ...(await exportJWK((await generateKeyPair('RS256')).publicKey)), kid: 'r1', use: 'enc' };
    const cases: [object, RegExp][] = [
      [{ ...enc, kid: undefined }, /needs a kid/],
      [rsa, /EC key on P-256, P-384, P-521 or an OKP X25519 key/],
      [{ ...enc, alg: 'RSA-OAEP-256' }, /alg must be ECDH-ES\+A256KW/],
    ];
    for (const [key, re] of cases) {
      const reg = { ...registration, jwks: { keys: [sig, key] } };
      expect(() => checkRegistration(reg)).toThrow(RegistrationError);
      expect(() => checkRegistration(reg)).toThrow(re);
    }
  });

  it('never verify a signature', async () => {
    const p384 = await exportJWK((await generateKeyPair('ES384')).publicKey);
    expect(signingKeyFits({ ...p384, use: 'sig' }, 'ES384')).toBe(true);
    expect(signingKeyFits(p384, 'ES384')).toBe(true);
    expect(signingKeyFits({ ...p384, use: 'enc' }, 'ES384')).toBe(false);
  });

  it('receive the answers: the first usable one, named by kid; none is a refusal saying what to register', async () => {
    const a = await newEncryptionKey('new-key');
    const b = await newEncryptionKey('old-key');
    const sig = { ...(await exportJWK((await generateKeyPair('ES384')).publicKey)), kid: 's1', use: 'sig' };
    const noRemote = { keys: () => Promise.reject(new Error('not fetched')) };
    const sealer = await sealerFor(client({ keys: [sig, a.publicJwk, b.publicJwk] }), noRemote);
    if (!sealer.ok) throw new Error(sealer.text);
    expect(sealer.kid).toBe('new-key');
    const { header, body } = await openAnswer(await sealer.seal('{"pseudonym":"v1.X","target":"ndb","work":"w"}'), a);
    expect(header).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: 'new-key' });
    expect(body.pseudonym).toBe('v1.X');
    expect(await sealerFor(client({ keys: [sig] }), noRemote)).toEqual({
      ok: false,
      text: expect.stringMatching(/no encryption key.*"use": "enc"/),
    });
    // A client registered with a jwks_uri: its key comes from there.
    const remote = await sealerFor(client(undefined, 'https://ndb.example/jwks'), { keys: () => Promise.resolve([sig, b.publicJwk]) });
    expect(remote.ok && remote.kid).toBe('old-key');
    expect(await sealerFor(client(undefined, 'https://ndb.example/jwks'), noRemote)).toMatchObject({
      ok: false,
      text: expect.stringContaining('not fetched'),
    });
  });
});
