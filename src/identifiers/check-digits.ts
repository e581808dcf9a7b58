/**
 * Check digits. MHLW's "2-1" modulus-10 rule for 保険者番号 and 公費負担者番号 is the Luhn
 * algorithm (weights 2,1,2,1… from the right of the body, digit sums, 10 − sum mod 10); the
 * medical ID uses Verhoeff, which catches every single-digit error and adjacent
 * transposition. Both come from `cdigit`. My Number's mod-11 rule (総務省令第八十五号 第五条)
 * is not in any maintained library, so it is here.
 */
import { luhn, verhoeff } from 'cdigit';

/** The 2-1 check digit of a body (digits before the check digit). */
export function mod10CheckDigit(body: string): number {
  return Number(luhn.compute(body));
}

export function verhoeffCheckDigit(body: string): number {
  return Number(verhoeff.compute(body));
}

/** My Number: weights 6,5,4,3,2,7,6,5,4,3,2 left to right; r = Σ mod 11; 0 if r ≤ 1, else 11 − r. */
export function myNumberCheckDigit(body: string): number {
  if (!/^\d{11}$/.test(body)) throw new Error('My Number body must be 11 digits');
  let sum = 0;
  for (let n = 1; n <= 11; n++) {
    const p = Number(body[11 - n]);
    const q = n <= 6 ? n + 1 : n - 5;
    sum += p * q;
  }
  const r = sum % 11;
  return r <= 1 ? 0 : 11 - r;
}
