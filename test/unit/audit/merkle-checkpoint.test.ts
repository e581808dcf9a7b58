/**
 * Signed tree heads as C2SP checkpoints in C2SP signed notes: the body round-trips, medid's
 * Ed25519 note signatures are byte-for-byte those of Go's sumdb/note (the reference witnesses
 * use), and the dependency-free verifier accepts what medid signs and nothing tampered with.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ed25519KeyId,
  ed25519NoteSigner,
  ed25519PublicKeyBytes,
  ed25519VerifierKey,
  signCheckpoint,
  signNote,
} from '../../../src/audit/checkpoint.ts';
import type { NoteSigner } from '../../../src/audit/checkpoint.ts';
import { MemoryTree, leafHash } from '../../../src/audit/merkle.ts';
import * as V from '../../../src/audit/verify/log-verify.ts';

const ORIGIN = 'medid.example.org/log';

/** An Ed25519 private key from its 32-byte RFC 8032 seed (PKCS #8 wrapping, RFC 8410). */
const fromSeed = (seed: Uint8Array) =>
  createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });

const newSigner = (name = ORIGIN): { signer: NoteSigner; vkey: string } => {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { signer: ed25519NoteSigner(name, privateKey), vkey: ed25519VerifierKey(name, privateKey) };
};

describe('checkpoint bodies', () => {
  it('are origin, size and base64 root, one per line, and parse back', () => {
    const root = leafHash(Buffer.from('x'));
    const text = V.formatCheckpoint({ origin: ORIGIN, size: 20852163, root });
    expect(text).toBe(`${ORIGIN}\n20852163\n${root.toString('base64')}\n`);
    expect(V.parseCheckpoint(text)).toEqual({ origin: ORIGIN, size: 20852163, root: new Uint8Array(root), extensions: [] });
  });

  it('round-trip for any origin, size and root', () => {
    // eslint-disable-next-line no-control-regex
    const singleLine = (s: string): boolean => !/[\u0000-\u001f]/.test(s);
    const origin = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).filter(singleLine);
    const size = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
    const root = fc.uint8Array({ minLength: 32, maxLength: 32 });
    const extensions = fc.array(fc.string({ minLength: 1 }).filter(singleLine), { maxLength: 2 });
    fc.assert(
      fc.property(origin, size, root, extensions, (o, n, r, ext) => {
        const c = V.parseCheckpoint(V.formatCheckpoint({ origin: o, size: n, root: r, extensions: ext }));
        expect(c).toEqual({ origin: o, size: n, root: r, extensions: ext });
      }),
    );
  });

  it('refuse anything but the exact form', () => {
    const root = Buffer.alloc(32, 7).toString('base64');
    const bad = [
      `${ORIGIN}\n5\n${root}`, // no final newline
      `${ORIGIN}\n05\n${root}\n`, // leading zero
      `${ORIGIN}\n-5\n${root}\n`,
      `${ORIGIN}\n9007199254740992\n${root}\n`, // beyond 2^53 − 1
      `${ORIGIN}\n5\n${Buffer.alloc(31).toString('base64')}\n`, // not 32 bytes
      `${ORIGIN}\n5\n${root.replace(/=$/, '')}\n`, // unpadded
      `${ORIGIN}\n5\n${root}\n\nextension\n`, // empty line
      `\n5\n${root}\n`, // empty origin
      `${ORIGIN}\n5\n`,
      `${ORIGIN}\t\n5\n${root}\n`, // control character
    ];
    for (const text of bad) expect(() => V.parseCheckpoint(text), JSON.stringify(text)).toThrow(V.VerifyError);
  });
});

describe('signed notes', () => {
  // golang.org/x/mod/sumdb/note's documented example (note.go): a signer key, the note it signs,
  // and the verifier key that opens it. Ed25519 is deterministic, so medid must reproduce it.
  const GO_SIGNER_KEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
  const GO_VERIFIER_KEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
  const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
  const GO_NOTE = `${GO_TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
  const goKey = () => {
    const typed = Buffer.from(GO_SIGNER_KEY.split('+').slice(4).join('+'), 'base64');
    expect(typed[0]).toBe(0x01);
    return fromSeed(typed.subarray(1));
  };

  it("are signed exactly as Go's sumdb/note signs them, with its key ID and verifier key", async () => {
    const key = goKey();
    const signer = ed25519NoteSigner('PeterNeumann', key);
    expect(signer.keyId).toBe(0xc74f20a3);
    expect(ed25519KeyId('PeterNeumann', ed25519PublicKeyBytes(key))).toBe(0xc74f20a3);
    expect(await V.ed25519KeyId('PeterNeumann', ed25519PublicKeyBytes(key))).toBe(0xc74f20a3);
    expect(ed25519VerifierKey('PeterNeumann', key)).toBe(GO_VERIFIER_KEY);
    expect(await signNote(GO_TEXT, [signer])).toBe(GO_NOTE);
  });

  it("open with Go's verifier key, and not once the text is changed", async () => {
    const verifier = await V.parseVerifierKey(GO_VERIFIER_KEY);
    expect(V.formatVerifierKey(verifier)).toBe(GO_VERIFIER_KEY);
    expect(await V.openNote(GO_NOTE, [verifier])).toEqual({ text: GO_TEXT, signedBy: [verifier] });
    await expect(V.openNote(GO_NOTE.replace('cryptography', 'cryptographY'), [verifier])).rejects.toThrow(/does not verify/);
  });

  it('refuse a verifier key whose key ID does not match its key', async () => {
    await expect(V.parseVerifierKey(GO_VERIFIER_KEY.replace('c74f20a3', 'c74f20a4'))).rejects.toThrow(/does not match/);
    await expect(V.parseVerifierKey(GO_VERIFIER_KEY.replace('PeterNeumann', 'PeterNeumanm'))).rejects.toThrow(/does not match/);
    await expect(V.parseVerifierKey('PeterNeumann+c74f20a3')).rejects.toThrow(V.VerifyError);
  });

  it('ignore unknown keys, reject a failed known one, and need one that verifies', async () => {
    const a = newSigner();
    const b = newSigner('witness.example/w1');
    const va = await V.parseVerifierKey(a.vkey);
    const vb = await V.parseVerifierKey(b.vkey);
    const text = 'hello\n';
    const both = await signNote(text, [a.signer, b.signer]);
    expect((await V.openNote(both, [va])).signedBy).toEqual([va]);
    expect((await V.openNote(both, [va, vb])).signedBy).toEqual([va, vb]);
    await expect(V.openNote(await signNote(text, [b.signer]), [va])).rejects.toThrow(/no signature by a known key/);
    // A known key's bad signature rejects the note even though another known key's verifies.
    const forged = both.replace(/(?<=\u2014 witness\.example\/w1 )\S+/u, (b64) => {
      const blob = Buffer.from(b64, 'base64');
      blob[10] = (blob[10] ?? 0) ^ 1; // in the signature, after the 4-byte key ID
      return blob.toString('base64');
    });
    expect(forged).not.toBe(both);
    await expect(V.openNote(forged, [va, vb])).rejects.toThrow(V.VerifyError);
  });

  it('must be well formed', async () => {
    const { signer, vkey } = newSigner();
    const v = await V.parseVerifierKey(vkey);
    const note = await signNote('a\n', [signer]);
    for (const bad of [
      note.slice(0, -1),
      note.replace('\n\n', '\n'),
      note.replace('\u2014', '--'),
      `${note}\u2014 x\n`,
      note.replace('a\n', 'a\u0007\n'),
    ]) {
      await expect(V.openNote(bad, [v]), JSON.stringify(bad)).rejects.toThrow(V.VerifyError);
    }
    await expect(signNote('no newline', [signer])).rejects.toThrow(TypeError);
    expect(() => ed25519NoteSigner('has space', generateKeyPairSync('ed25519').privateKey)).toThrow(/key name/);
  });
});

describe('signed checkpoints', () => {
  const tree = new MemoryTree();
  for (let i = 0; i < 37; i++) tree.append(leafHash(Buffer.from(`entry ${i}`)));

  it("verify, name the log's state, and prove the log only grew", async () => {
    const { signer, vkey } = newSigner();
    const verifier = await V.parseVerifierKey(vkey);
    const old = await signCheckpoint({ origin: ORIGIN, size: 21, root: tree.root(21) }, [signer]);
    const head = await signCheckpoint({ origin: ORIGIN, size: 37, root: tree.root() }, [signer]);
    expect(head.split('\n').slice(0, 3)).toEqual([ORIGIN, '37', Buffer.from(tree.root()).toString('base64')]);

    // What a witness or the portal does: open both heads, check the consistency proof between them.
    const c1 = await V.openCheckpoint(old, [verifier], ORIGIN);
    const c2 = await V.openCheckpoint(head, [verifier], ORIGIN);
    expect(await V.verifyConsistency(c1.size, c2.size, tree.consistencyProof(21, 37), c1.root, c2.root)).toBe(true);
    // …and an entry's inclusion under the latest head.
    expect(await V.verifyInclusion(5, c2.size, leafHash(Buffer.from('entry 5')), tree.inclusionProof(5), c2.root)).toBe(true);
  });

  it('fail when tampered with, signed by another key, or of another log', async () => {
    const { signer, vkey } = newSigner();
    const verifier = await V.parseVerifierKey(vkey);
    const head = await signCheckpoint({ origin: ORIGIN, size: 37, root: tree.root() }, [signer]);
    await expect(V.openCheckpoint(head.replace('\n37\n', '\n36\n'), [verifier])).rejects.toThrow(/does not verify/);
    const otherRoot = await signCheckpoint({ origin: ORIGIN, size: 37, root: tree.root(36) }, [signer]);
    const [rootLine] = otherRoot.split('\n').slice(2, 3);
    await expect(V.openCheckpoint(head.replace(Buffer.from(tree.root()).toString('base64'), rootLine), [verifier])).rejects.toThrow(
      /does not verify/,
    );
    const impostor = newSigner();
    await expect(
      V.openCheckpoint(await signCheckpoint({ origin: ORIGIN, size: 37, root: tree.root() }, [impostor.signer]), [verifier]),
    ).rejects.toThrow(/no signature by a known key/);
    const other = newSigner('other.example/log');
    const otherLog = await signCheckpoint({ origin: 'other.example/log', size: 37, root: tree.root() }, [other.signer]);
    await expect(V.openCheckpoint(otherLog, [await V.parseVerifierKey(other.vkey)], ORIGIN)).rejects.toThrow(
      /not "medid.example.org\/log"/,
    );
  });
});
