/**
 * The medical ID (医療等ID) medid issues: 14 digits = scheme version `1` + 12 random digits + a
 * Verhoeff check digit (privacy-design.md §2.3). Printed as `1234 5678 9012 34`; spaces and
 * hyphens are removed on input. 14 digits cannot be confused with My Number (12) or a corporate
 * number (13), and the ID carries no birth date, sex or region.
 */
import crypto from 'node:crypto';
import { verhoeffCheckDigit } from './check-digits.ts';
import { fail, ok } from './kind.ts';
import type { IdentifierKind, ParseResult } from './kind.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import { compactDigits } from '../jp/characters.ts';

export const MEDICAL_ID_SCHEME = '1';

export function parseMedicalId(raw: string): ParseResult {
  const d = compactDigits(raw);
  if (!/^\d{14}$/.test(d)) return fail('medical-id.format', `medical ID: must be 14 digits`);
  if (d[0] !== MEDICAL_ID_SCHEME)
    return fail('medical-id.scheme', `medical ID: the scheme version (first digit) is not issued (expected ${MEDICAL_ID_SCHEME})`);
  const expected = verhoeffCheckDigit(d.slice(0, 13));
  if (Number(d[13]) !== expected) return fail('medical-id.check-digit', 'medical ID: the check digit is wrong');
  return ok(d);
}

/** A fresh random medical ID (CSPRNG); uniqueness is the registry's table's job. */
export function newMedicalId(): string {
  const body =
    MEDICAL_ID_SCHEME + String(crypto.randomInt(0, 1_000_000)).padStart(6, '0') + String(crypto.randomInt(0, 1_000_000)).padStart(6, '0');
  return body + String(verhoeffCheckDigit(body));
}

export function medicalIdKind(system: string = ID_SYSTEMS.medicalId): IdentifierKind {
  return { system, label: 'medical ID', labelJa: '医療等ID', parse: parseMedicalId };
}

/**
 * Draws distinct medical IDs for `n` slots until `tryIssue` has accepted one for each (the
 * registry's table refuses any ID ever issued, and reports which of a round it took). A handful
 * of rounds suffices in a 10^12 space, so running out is a bug, not a state.
 */
export async function issueUnusedMedicalIds(
  n: number,
  tryIssue: (round: { slot: number; mid: string }[]) => Promise<Set<string>>,
  draw: () => string = newMedicalId,
  maxRounds = 8,
): Promise<string[]> {
  const out = new Array<string | undefined>(n).fill(undefined);
  for (let round = 0; round < maxRounds; round++) {
    const drawn = new Set<string>();
    const tries: { slot: number; mid: string }[] = [];
    out.forEach((m, slot) => {
      if (m !== undefined) return;
      const mid = draw();
      // A duplicate draw within a round waits for the next round.
      if (!drawn.has(mid)) tries.push({ slot, mid });
      drawn.add(mid);
    });
    if (tries.length === 0) break;
    const taken = await tryIssue(tries);
    for (const t of tries) if (taken.has(t.mid)) out[t.slot] = t.mid;
  }
  if (out.every((m) => m !== undefined)) return out;
  throw new Error(`no unused medical ID in ${maxRounds} draws`);
}

/** One medical ID: see issueUnusedMedicalIds. */
export async function issueUnusedMedicalId(
  tryIssue: (mid: string) => Promise<boolean>,
  draw: () => string = newMedicalId,
  maxDraws = 8,
): Promise<string> {
  const [mid] = await issueUnusedMedicalIds(
    1,
    async ([t]) => new Set(t !== undefined && (await tryIssue(t.mid)) ? [t.mid] : []),
    draw,
    maxDraws,
  );
  return mid;
}
