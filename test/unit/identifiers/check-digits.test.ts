/**
 * Check-digit rules with the worked examples of identifiers.md and privacy-design.md, and
 * property tests: every error the algorithm is documented to catch is caught.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mod10CheckDigit, myNumberCheckDigit, verhoeffCheckDigit } from '../../../src/identifiers/check-digits.ts';
import { parseInsurerNumber } from '../../../src/identifiers/insurer-number.ts';
import { newMedicalId, parseMedicalId } from '../../../src/identifiers/medical-id.ts';
import { parseMyNumber } from '../../../src/identifiers/my-number.ts';
import { parsePublicPayerNumber } from '../../../src/identifiers/public-payer-number.ts';

const body = (n: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((d) => d.join(''));

/** Every number differing from `s` by one digit, and by swapping two neighbours. */
function singleDigitErrors(s: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i++)
    for (let d = 0; d <= 9; d++) if (String(d) !== s[i]) out.push(s.slice(0, i) + String(d) + s.slice(i + 1));
  return out;
}
function transpositions(s: string): { i: number; t: string }[] {
  const out: { i: number; t: string }[] = [];
  for (let i = 0; i + 1 < s.length; i++) if (s[i] !== s[i + 1]) out.push({ i, t: s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2) });
  return out;
}

describe('the 2-1 (mod 10) rule: 保険者番号 and 公費負担者番号', () => {
  it('accepts and refuses the worked examples', () => {
    for (const v of ['33120015', '88134457', '54016027', '00138156', '06138093', '63132286', '39131156', '80137151'])
      expect(parseInsurerNumber(v), v).toEqual({ ok: true, value: v });
    expect(parseInsurerNumber('138156')).toEqual({ ok: true, value: '00138156' });
    for (const v of ['88134458', '138157', '6138092', '63132280']) expect(parseInsurerNumber(v).ok, v).toBe(false);
  });
  it('explains a wrong check digit by its rule, never repeating the number', () => {
    expect(parseInsurerNumber('88134458')).toEqual({
      ok: false,
      rule: 'insurer-number.check-digit',
      message: 'insurer number: the check digit is wrong',
    });
  });
  it('computes 5 for 3312001, 7 for 8813445 and 7 for 5401602', () => {
    expect([mod10CheckDigit('3312001'), mod10CheckDigit('8813445'), mod10CheckDigit('5401602')]).toEqual([5, 7, 7]);
  });
  it('catches every single-digit error', () => {
    fc.assert(
      fc.property(body(7), (b) => {
        const valid = b + String(mod10CheckDigit(b));
        for (const e of singleDigitErrors(valid)) expect(parsePublicPayerNumber(e).ok, e).toBe(false);
      }),
    );
  });
  it('catches every adjacent transposition except 09 ↔ 90', () => {
    fc.assert(
      fc.property(body(7), (b) => {
        const valid = b + String(mod10CheckDigit(b));
        for (const { i, t } of transpositions(valid)) {
          const pair = valid.slice(i, i + 2);
          if (pair === '09' || pair === '90') continue;
          expect(parsePublicPayerNumber(t).ok, `${valid} → ${t}`).toBe(false);
        }
      }),
    );
  });
});

describe('My Number (mod 11, 総務省令第八十五号 第五条)', () => {
  it('accepts 983205673214 and refuses 983205673210', () => {
    expect(myNumberCheckDigit('98320567321')).toBe(4);
    expect(parseMyNumber('983205673214').ok).toBe(true);
    expect(parseMyNumber('9832 0567 3214').ok).toBe(true);
    expect(parseMyNumber('９８３２０５６７３２１４').ok).toBe(true);
    expect(parseMyNumber('983205673210').ok).toBe(false);
  });
  it('never repeats the number in its messages', () => {
    for (const v of ['983205673210', '98320567321']) {
      const r = parseMyNumber(v);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).not.toMatch(/\d{5,}/);
    }
  });
  it('catches a single-digit error unless it only moves the remainder between 0 and 1 (documented blind spot)', () => {
    fc.assert(
      fc.property(body(11), (b) => {
        const valid = b + String(myNumberCheckDigit(b));
        for (const e of singleDigitErrors(valid)) {
          const caught = !parseMyNumber(e).ok;
          if (!caught) {
            // The only misses: the body changed and both bodies give check digit 0 (remainders 0 and 1).
            expect(e.slice(11)).toBe(valid.slice(11));
            expect(myNumberCheckDigit(e.slice(0, 11))).toBe(0);
          }
        }
      }),
    );
  });
});

describe('the medical ID (Verhoeff)', () => {
  it('matches the pinned vectors 236 → 2363 and 12345 → 123451', () => {
    expect(verhoeffCheckDigit('236')).toBe(3);
    expect(verhoeffCheckDigit('12345')).toBe(1);
  });
  it('issues 14-digit ids starting with scheme 1 that validate', () => {
    for (let i = 0; i < 200; i++) {
      const id = newMedicalId();
      expect(id).toMatch(/^1\d{13}$/);
      expect(parseMedicalId(id)).toEqual({ ok: true, value: id });
    }
    expect(parseMedicalId(`${newMedicalId().slice(0, 4)} 5678 9012 34`).ok).toBeTypeOf('boolean');
  });
  it('catches every single-digit error and every adjacent transposition', () => {
    fc.assert(
      fc.property(body(12), (b) => {
        const valid = `1${b}`;
        const id = valid + String(verhoeffCheckDigit(valid));
        for (const e of singleDigitErrors(id)) expect(parseMedicalId(e).ok, e).toBe(false);
        for (const { t } of transpositions(id)) expect(parseMedicalId(t).ok, t).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
