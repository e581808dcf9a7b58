/**
 * The dependency-free verifier (src/audit/verify/log-verify.ts): its RFC 8785 canonicalization
 * agrees with the `canonicalize` package the server uses, the per-person chain check names the
 * seq where a chain breaks, and the file runs as plain JavaScript with no imports at all.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entryData, entryLeafHash, FIRST_PREV } from '../../../src/audit/log-entry.ts';
import type { LogEntry } from '../../../src/audit/log-entry.ts';
import * as V from '../../../src/audit/verify/log-verify.ts';

describe('RFC 8785 canonical JSON', () => {
  const anyJson = fc.oneof(fc.jsonValue(), fc.jsonValue({ stringUnit: 'binary' }), fc.jsonValue({ stringUnit: 'grapheme' }));

  it('is what the canonicalize package writes, for any JSON value', () => {
    fc.assert(
      fc.property(anyJson, (value) => {
        expect(V.canonicalJson(value)).toBe(canonicalize(value));
      }),
      { numRuns: 3000 },
    );
  });

  it('sorts member names by UTF-16 code units, whatever order they came in', () => {
    const names = fc.uniqueArray(fc.string({ unit: 'binary', maxLength: 4 }), { maxLength: 12 });
    fc.assert(
      fc.property(names, fc.array(fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string())), (keys, values) => {
        const o = Object.fromEntries(keys.map((k, i) => [k, values[i % Math.max(1, values.length)] ?? null]));
        const reversed = Object.fromEntries(Object.entries(o).reverse());
        expect(V.canonicalJson(reversed)).toBe(V.canonicalJson(o));
        expect(V.canonicalJson(o)).toBe(canonicalize(o));
      }),
    );
    // RFC 8785 §3.2.3's own example of the ordering: a surrogate pair (U+1F600) sorts before U+FB33.
    const example = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(V.canonicalJson(example)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('writes numbers as ECMAScript does and refuses what is not I-JSON', () => {
    expect(V.canonicalJson([1e21, 1e-7, -0, 0.1 + 0.2, 2 ** 53 - 1, 100])).toBe('[1e+21,1e-7,0,0.30000000000000004,9007199254740991,100]');
    const bad: unknown[] = [
      NaN,
      Infinity,
      undefined,
      'a\ud800b',
      { k: '\udc00' },
      { ['\ud800']: 1 },
      new Date(0),
      1n,
      () => 1,
      [undefined],
    ];
    bad.forEach((value, i) => expect(() => V.canonicalJson(value), `case ${i}`).toThrow(TypeError));
    expect(() => canonicalize('a\ud800b')).toThrow(/surrogate/);
  });
});

const PERSON_A = 'AP-a1b2c3';
const PERSON_B = 'AP-d4e5f6';

/** A person's chain as the server would build it (server canonicalization, server hashing). */
function chainOf(person: string, n: number, start = 1, prev0 = FIRST_PREV): LogEntry[] {
  const out: LogEntry[] = [];
  let prev = prev0;
  for (let seq = start; seq < start + n; seq++) {
    const e: LogEntry = {
      v: 1,
      event: String(1000 + seq),
      type: 'read',
      time: new Date(Date.UTC(2026, 0, 1, 9, 0, seq)).toISOString(),
      outcome: 0,
      actorOrg: 'hospital:1310000001',
      actorRole: 'practitioner',
      purpose: seq === 3 ? 'ETREAT' : 'TREAT',
      domain: null,
      person,
      seq,
      prev,
      nonce: randomBytes(16).toString('base64url'),
    };
    out.push(e);
    prev = entryLeafHash(e).toString('hex');
  }
  return out;
}

describe('log entries', () => {
  it('hash the same on the server and in the portal', async () => {
    for (const e of chainOf(PERSON_A, 5)) {
      expect(V.toHex(await V.entryLeafHash(e))).toBe(entryLeafHash(e).toString('hex'));
      expect(Buffer.from(V.entryData(e)).equals(entryData(e))).toBe(true);
    }
  });
});

describe('the per-person chain check', () => {
  it('accepts an intact chain and reports its head', async () => {
    const chain = chainOf(PERSON_A, 6);
    const r = await V.checkChain(chain);
    expect(r).toEqual({ ok: true, length: 6, head: { seq: 6, leafHash: entryLeafHash(chain[5]).toString('hex') } });
    expect(await V.checkChain([])).toEqual({ ok: true, length: 0, head: null });
  });

  it('continues from the head a reader saw last', async () => {
    const first = chainOf(PERSON_A, 3);
    const seen = await V.checkChain(first);
    if (!seen.ok || seen.head === null) throw new Error('unreachable');
    const more = chainOf(PERSON_A, 4, 4, seen.head.leafHash);
    expect(await V.checkChain(more, seen.head)).toMatchObject({ ok: true, length: 4, head: { seq: 7 } });
    // Another history since then (an entry of the seen part rewritten) does not continue it.
    expect(await V.checkChain(chainOf(PERSON_A, 4, 4), seen.head)).toMatchObject({ ok: false, seq: 4, problem: 'prev' });
  });

  it('fails at a gap, naming the missing seq', async () => {
    const chain = chainOf(PERSON_A, 6);
    const r = await V.checkChain([...chain.slice(0, 2), ...chain.slice(3)]);
    expect(r).toMatchObject({ ok: false, seq: 4, position: 2, problem: 'gap' });
    expect(!r.ok && r.message).toMatch(/seq 3 is missing before seq 4/);
    const r2 = await V.checkChain([...chain.slice(0, 1), ...chain.slice(4)]);
    expect(!r2.ok && r2.message).toMatch(/seq 2–4 are missing before seq 5/);
    // A chain must start at 1: its first entries cannot simply be left out.
    expect(await V.checkChain(chain.slice(1))).toMatchObject({ ok: false, seq: 2, problem: 'gap' });
  });

  it('fails at a wrong prev, naming the seq whose prev no longer matches', async () => {
    const chain = chainOf(PERSON_A, 6);
    // An entry rewritten (here: who acted) changes its leaf hash, so the next entry's prev breaks.
    const rewritten = chain.map((e) => (e.seq === 3 ? { ...e, actorOrg: 'clinic:1310000002' } : e));
    const r = await V.checkChain(rewritten);
    expect(r).toMatchObject({ ok: false, seq: 4, problem: 'prev' });
    expect(!r.ok && r.message).toMatch(/seq 4's prev is not the leaf hash of seq 3/);
    // A prev pointing elsewhere.
    expect(await V.checkChain(chain.map((e) => (e.seq === 2 ? { ...e, prev: 'ab'.repeat(32) } : e)))).toMatchObject({
      ok: false,
      seq: 2,
      problem: 'prev',
    });
    expect(await V.checkChain(chain.map((e) => (e.seq === 1 ? { ...e, prev: 'ab'.repeat(32) } : e)))).toMatchObject({
      ok: false,
      seq: 1,
      problem: 'prev',
    });
  });

  it('fails at a reordered or repeated entry, naming its seq', async () => {
    const chain = chainOf(PERSON_A, 6);
    const swapped = [chain[0], chain[1], chain[3], chain[2], chain[4], chain[5]] as LogEntry[];
    const r = await V.checkChain(swapped);
    expect(r).toMatchObject({ ok: false, seq: 4, position: 2, problem: 'order' });
    expect(!r.ok && r.message).toMatch(/seq 4 comes before seq 3/);
    const repeated = [...chain.slice(0, 3), chain[2], ...chain.slice(3)] as LogEntry[];
    expect(await V.checkChain(repeated)).toMatchObject({ ok: false, seq: 3, position: 3, problem: 'order' });
  });

  it("fails at another person's entry or an entry that is not a chain entry", async () => {
    const a = chainOf(PERSON_A, 3);
    const b = chainOf(PERSON_B, 3);
    expect(await V.checkChain([a[0], a[1], b[2]] as LogEntry[])).toMatchObject({ ok: false, seq: 3, problem: 'person' });
    const noPerson = { ...a[0], person: null, seq: null, prev: null };
    expect(await V.checkChain([noPerson])).toMatchObject({ ok: false, seq: 0, problem: 'shape' });
    expect(await V.checkChain([{ ...a[0], prev: 'AB'.repeat(32) }])).toMatchObject({ ok: false, problem: 'shape' });
    expect(await V.checkChain([{ ...a[0], seq: 1.5 }])).toMatchObject({ ok: false, problem: 'shape' });
  });

  it('finds a random tampering of a random chain at the right seq', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 12 }), fc.nat(), fc.constantFrom('delete', 'rewrite', 'swap'), async (n, at, how) => {
        const chain = chainOf(PERSON_A, n);
        const i = at % (n - 1); // not the last: deleting or rewriting the last leaves no trace in the chain alone
        let tampered: LogEntry[];
        let expected: { seq: number; problem: string };
        if (how === 'delete') {
          tampered = chain.filter((_, j) => j !== i);
          expected = { seq: i + 2, problem: 'gap' };
        } else if (how === 'rewrite') {
          tampered = chain.map((e, j) => (j === i ? { ...e, purpose: 'ETREAT', nonce: 'x' } : e));
          expected = { seq: i + 2, problem: 'prev' };
        } else {
          tampered = chain.map((e, j) => (j === i ? chain[i + 1] : j === i + 1 ? chain[i] : e));
          expected = { seq: i + 2, problem: 'order' };
        }
        expect(await V.checkChain(tampered)).toMatchObject({ ok: false, ...expected });
      }),
      { numRuns: 60 },
    );
  });
});

describe('the verifier as a standalone ES module', () => {
  it('has no imports, and runs in a bare node once its types are stripped (as a browser would run it)', () => {
    const source = fs.readFileSync(path.resolve('src/audit/verify/log-verify.ts'), 'utf8');
    const js = stripTypeScriptTypes(source);
    expect(js).not.toMatch(/^\s*import\b/m);
    expect(js).not.toMatch(/\bimport\s*\(/);
    expect(js).not.toMatch(/\brequire\s*\(/);
    expect(js).not.toMatch(/^\s*export\b[^;]*\bfrom\s*['"]/m);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-log-verify-'));
    try {
      fs.writeFileSync(path.join(dir, 'log-verify.mjs'), js);
      // The 8-leaf RFC 6962 vectors and the 6 → 8 consistency proof, in plain JavaScript.
      fs.writeFileSync(
        path.join(dir, 'driver.mjs'),
        `import * as V from './log-verify.mjs';
const data = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const leaves = await Promise.all(data.map((h) => V.leafHash(V.fromHex(h))));
const root6 = await V.rootFromLeafHashes(leaves.slice(0, 6));
const root8 = await V.rootFromLeafHashes(leaves);
const proof = ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'].map(V.fromHex);
const consistent = await V.verifyConsistency(6, 8, proof, root6, root8);
const chain = await V.checkChain([{ v: 1, person: 'p', seq: 1, prev: V.FIRST_PREV, nonce: 'n' }]);
console.log(JSON.stringify({ root8: V.toHex(root8), consistent, chain: chain.ok, canonical: V.canonicalJson({ b: [1, 'x'], a: null }) }));
`,
      );
      const out = execFileSync(process.execPath, [path.join(dir, 'driver.mjs')], { encoding: 'utf8' });
      expect(JSON.parse(out)).toEqual({
        root8: '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
        consistent: true,
        chain: true,
        canonical: '{"a":null,"b":[1,"x"]}',
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
