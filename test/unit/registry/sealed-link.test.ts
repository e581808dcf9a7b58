/**
 * The sealed old→new link of a change that breaks linkage: a JWE only the oversight body's
 * private key opens, and a start-up that refuses anything but a public ECDH key.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compactDecrypt, decodeProtectedHeader } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import {
  linkSealer,
  OversightKeyError,
  oversightKeyFromJwk,
  readOversightKey,
  SEALED_LINK_ALG,
  SEALED_LINK_ENC,
} from '../../../src/registry/sealed-link.ts';
import type { BrokenLink, SealedLinkV1 } from '../../../src/registry/sealed-link.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-oversight-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, content: unknown): string => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
};

const link = (): BrokenLink => ({
  patientId: 'p-1',
  oldKey: crypto.randomBytes(16),
  newKey: crypto.randomBytes(16),
  merged: [{ oldKey: crypto.randomBytes(16), newKey: crypto.randomBytes(16) }],
  date: '2026-04-01',
  reason: 'break-linkage',
});

describe('the sealed link', () => {
  for (const kind of [
    { type: 'ec', options: { namedCurve: 'P-256' } },
    { type: 'ec', options: { namedCurve: 'P-384' } },
    { type: 'x25519', options: {} },
  ] as const) {
    it(`opens with the oversight body's private key only (${kind.type} ${'namedCurve' in kind.options ? kind.options.namedCurve : ''})`, async () => {
      const { publicKey, privateKey } = crypto.generateKeyPairSync(kind.type as 'ec', kind.options as { namedCurve: string });
      const file = write(`${kind.type}-${crypto.randomUUID()}.json`, publicKey.export({ format: 'jwk' }));
      const key = readOversightKey(file);
      const l = link();
      const jwe = await linkSealer(key)(l);
      const header = decodeProtectedHeader(jwe);
      expect(header).toMatchObject({ alg: SEALED_LINK_ALG, enc: SEALED_LINK_ENC, kid: key.kid });
      const { plaintext } = await compactDecrypt(jwe, privateKey);
      const payload = JSON.parse(Buffer.from(plaintext).toString('utf8')) as SealedLinkV1;
      expect(payload).toEqual({
        v: 1,
        patient: 'Patient/p-1',
        old: l.oldKey.toString('base64url'),
        new: l.newKey.toString('base64url'),
        merged: [{ old: l.merged[0]?.oldKey.toString('base64url'), new: l.merged[0]?.newKey.toString('base64url') }],
        date: '2026-04-01',
        reason: 'break-linkage',
      });
      // Another key does not open it; the same link sealed twice gives different records.
      const other = crypto.generateKeyPairSync(kind.type as 'ec', kind.options as { namedCurve: string }).privateKey;
      await expect(compactDecrypt(jwe, other)).rejects.toThrow();
      expect(await linkSealer(key)(l)).not.toBe(jwe);
      // Neither key is readable in the record.
      for (const k of [l.oldKey, l.newKey]) {
        expect(jwe).not.toContain(k.toString('base64url'));
        expect(jwe).not.toContain(k.toString('hex'));
      }
    });
  }

  it('names the key by its kid, or by its RFC 7638 thumbprint', async () => {
    const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    expect(oversightKeyFromJwk({ ...jwk, kid: 'oversight-2026' }).kid).toBe('oversight-2026');
    const { calculateJwkThumbprint } = await import('jose');
    expect(oversightKeyFromJwk(jwk).kid).toBe(await calculateJwkThumbprint(jwk as Parameters<typeof calculateJwkThumbprint>[0]));
  });

  it('refuses a private key, a symmetric or RSA key, a signing curve, no JSON and no file', () => {
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => readOversightKey(write('private.json', ec.privateKey.export({ format: 'jwk' })))).toThrow(/public key only/);
    expect(() => readOversightKey(write('oct.json', { kty: 'oct', k: 'AAAA' }))).toThrow(OversightKeyError);
    const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(() => readOversightKey(write('rsa.json', rsa.publicKey.export({ format: 'jwk' })))).toThrow(/EC .* or OKP/);
    const ed = crypto.generateKeyPairSync('ed25519');
    expect(() => readOversightKey(write('ed.json', ed.publicKey.export({ format: 'jwk' })))).toThrow(/EC .* or OKP/);
    expect(() => readOversightKey(write('bad.json', { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' }))).toThrow(/not a usable/);
    expect(() => readOversightKey(write('text.json', 'not json'))).toThrow(/not JSON/);
    expect(() => readOversightKey(path.join(dir, 'missing.json'))).toThrow(OversightKeyError);
    expect(() => readOversightKey(undefined)).toThrow(/needs MEDID_OVERSIGHT_KEY_FILE/);
  });
});
