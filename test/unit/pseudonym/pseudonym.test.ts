/** Domain pseudonyms (privacy-design.md §4): a permutation of the person key per domain, versioned, in Crockford base32. */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FilePseudonymKeys } from '../../../src/pseudonym/file-keys.ts';
import { formatPseudonym, parsePseudonym } from '../../../src/pseudonym/pseudonym.ts';
import { KeyVersionError } from '../../../src/pseudonym/keys.ts';
import { checkDomain, DomainError, parseDomainsFile } from '../../../src/pseudonym/domains.ts';

const keys = new FilePseudonymKeys(crypto.randomBytes(32));
const dp = (kid: Uint8Array, domain: string) => formatPseudonym(1, keys.prp(domain, 1, kid));
const bits = (b: Uint8Array) => [...b].reduce((s, x) => s + x.toString(2).replace(/0/g, '').length, 0);

describe('pseudonym text', () => {
  it('is v1. and 26 Crockford base32 characters, read back in any case', () => {
    const kid = crypto.randomBytes(16);
    const p = dp(kid, 'ndb');
    expect(p).toMatch(/^v1\.[0-9A-HJKMNP-TV-Z]{26}$/);
    const back = parsePseudonym(p.toLowerCase());
    expect(back?.version).toBe(1);
    expect(Buffer.from(keys.prpInverse('ndb', 1, back?.block ?? new Uint8Array())).equals(kid)).toBe(true);
  });
  it('has one text per block: non-canonical spellings, other lengths and versions 0 are not pseudonyms', () => {
    const p = dp(crypto.randomBytes(16), 'ndb');
    for (const bad of [
      '',
      'v1.',
      p.slice(0, -1),
      `${p}0`,
      `v0.${p.slice(3)}`,
      p.replace('v1.', 'V1.'),
      `v1.${'O'.repeat(26)}`,
      `v1.${'Z'.repeat(26)}`,
    ]) {
      expect(parsePseudonym(bad), bad).toBeUndefined();
    }
  });
});

describe('pseudonyms per domain', () => {
  it('are a permutation: reversible, and distinct persons never share one', () => {
    const kids = Array.from({ length: 2000 }, () => crypto.randomBytes(16));
    const ps = kids.map((k) => dp(k, 'kaigo'));
    expect(new Set(ps).size).toBe(kids.length);
    for (const [i, p] of ps.entries()) {
      const back = parsePseudonym(p);
      expect(Buffer.from(keys.prpInverse('kaigo', 1, back?.block ?? new Uint8Array())).equals(kids[i] as Buffer)).toBe(true);
    }
  });
  it('differ between domains with no common prefix and about half their bits, so two databases cannot join on them', () => {
    let prefix = 0;
    let flipped = 0;
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const kid = crypto.randomBytes(16);
      const a = keys.prp('ndb', 1, kid);
      const b = keys.prp('nanbyo', 1, kid);
      const [ta, tb] = [dp(kid, 'ndb'), dp(kid, 'nanbyo')];
      if (ta.slice(3, 5) === tb.slice(3, 5)) prefix++;
      flipped += bits(a.map((x, j) => x ^ (b[j] ?? 0)));
    }
    // Two base32 characters agree by chance 1 time in 1,024: a few in 2,000, never a pattern.
    expect(prefix).toBeLessThan(12);
    const meanFlipped = flipped / n;
    expect(meanFlipped).toBeGreaterThan(62);
    expect(meanFlipped).toBeLessThan(66);
  });
  it('depend only on the person key: the same key in the same domain gives the same pseudonym, another key another', () => {
    const kid = crypto.randomBytes(16);
    expect(dp(Buffer.from(kid), 'dpc')).toBe(dp(kid, 'dpc'));
    expect(dp(crypto.randomBytes(16), 'dpc')).not.toBe(dp(kid, 'dpc'));
  });
  it('change with the master secret, and refuse a key version the service does not hold', () => {
    const kid = crypto.randomBytes(16);
    const other = new FilePseudonymKeys(crypto.randomBytes(32));
    expect(formatPseudonym(1, other.prp('ndb', 1, kid))).not.toBe(dp(kid, 'ndb'));
    expect(() => keys.prp('ndb', 2, kid)).toThrow(KeyVersionError);
  });
});

describe('domains', () => {
  it('are codes of a-z 0-9 - starting with a letter, with a name', () => {
    expect(checkDomain({ code: 'ndb', name: ' NDB ' }, 'd')).toEqual({ code: 'ndb', name: 'NDB', birthDate: 'year-month' });
    expect(checkDomain({ code: 'ndb', name: 'NDB', birthDate: 'year' }, 'd').birthDate).toBe('year');
    expect(() => checkDomain({ code: 'ndb', name: 'NDB', birthDate: 'day' }, 'd')).toThrow(/birthDate must be year-month or year/);
    for (const bad of [
      { code: 'NDB', name: 'x' },
      { code: '1db', name: 'x' },
      { code: 'n', name: 'x' },
      { code: 'ndb', name: ' ' },
      null,
    ]) {
      expect(() => checkDomain(bad, 'd'), JSON.stringify(bad)).toThrow(DomainError);
    }
  });
  it('load from MEDID_DOMAINS_FILE, which names the entry at fault', () => {
    expect(parseDomainsFile('[{"code":"ndb","name":"NDB"}]', 'f')).toEqual([{ code: 'ndb', name: 'NDB', birthDate: 'year-month' }]);
    expect(() => parseDomainsFile('{}', 'f')).toThrow(/must be a JSON array/);
    expect(() => parseDomainsFile('[{"code":"a1","name":"x"},{"code":"b","name":"x"}]', 'f')).toThrow(/MEDID_DOMAINS_FILE\[1\]: code/);
  });
});
