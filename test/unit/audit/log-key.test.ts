/** The access log's signing key: derived from its secret, published in three forms that agree, used only through `sign`. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { calculateJwkThumbprint, compactVerify, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../../src/audit/checkpoint.ts';
import { FileLogKey, loadLogSecret, logKeyName, noteSignerOf } from '../../../src/audit/log-key.ts';
import { HEAD_JWS_TYPE, signHeadJws } from '../../../src/audit/tree-heads.ts';
import { openCheckpoint, parseVerifierKey, toBase64 } from '../../../src/audit/verify/log-verify.ts';
import { SecretFileError } from '../../../src/core/secret-file.ts';

describe('the log key', () => {
  const secret = crypto.randomBytes(32);
  const name = logKeyName('https://medid.example.jp:8443/fhir');

  it('is named after the base URL’s host', () => {
    expect(name).toBe('medid.example.jp:8443/medid-log');
  });

  it('derives the same key from the same secret, and another from another', () => {
    const a = new FileLogKey(secret, name);
    expect(new FileLogKey(Buffer.from(secret), name).verifierKey).toBe(a.verifierKey);
    expect(new FileLogKey(crypto.randomBytes(32), name).jwk.x).not.toBe(a.jwk.x);
  });

  it('publishes a verifier key and a JWK of the one public key, the JWK’s kid its RFC 7638 thumbprint', async () => {
    const k = new FileLogKey(secret, name);
    const v = await parseVerifierKey(k.verifierKey);
    expect(v).toMatchObject({ name, keyId: k.keyId });
    expect(Buffer.from(v.publicKey).toString('base64url')).toBe(k.jwk.x);
    expect(k.jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(k.jwk).not.toHaveProperty('d');
    expect(k.jwk.kid).toBe(await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: k.jwk.x }));
  });

  it('signs checkpoints that open with its verifier key, and head JWSs that verify with its JWK', async () => {
    const k = new FileLogKey(secret, name);
    const root = crypto.randomBytes(32);
    const note = await signCheckpoint({ origin: name, size: 7, root }, [noteSignerOf(k)]);
    const c = await openCheckpoint(note, [await parseVerifierKey(k.verifierKey)], name);
    expect(c.size).toBe(7);
    expect(Buffer.from(c.root).equals(root)).toBe(true);
    const claims = { origin: name, size: 7, root: toBase64(root), time: '2026-01-02T03:04:05.678Z' };
    const jws = await signHeadJws(k, claims);
    const { payload, protectedHeader } = await compactVerify(jws, await importJWK(k.jwk, 'EdDSA'));
    expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: k.jwk.kid, typ: HEAD_JWS_TYPE });
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual(claims);
  });

  it('comes from MEDID_LOG_KEY_FILE, or from a secret generated once into the data directory', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-log-key-'));
    try {
      const first = loadLogSecret({ file: undefined, dataDir: dir });
      expect(first.generated).toBe(true);
      expect(fs.existsSync(path.join(dir, 'keys', 'log-key'))).toBe(true);
      const again = loadLogSecret({ file: undefined, dataDir: dir });
      expect(again).toEqual({ secret: first.secret, generated: false });
      const short = path.join(dir, 'short');
      fs.writeFileSync(short, 'too short');
      expect(() => loadLogSecret({ file: short, dataDir: dir })).toThrow(SecretFileError);
      expect(() => loadLogSecret({ file: short, dataDir: dir })).toThrow(/MEDID_LOG_KEY_FILE/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
