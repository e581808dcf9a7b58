/**
 * A person's insurance as a utilizing database sees it (issue 16 item 3): one Coverage, the
 * *kind* of insurer in force today (協会けんぽ, 組合健保, 国保, 後期高齢…) — never the insurer
 * number (it names a company or a town), never a member id, symbol, number or branch, and no
 * periods: the history of a person's cards (which month they changed jobs) would be one more
 * fact to single them out by, outside what the small-cell guard checks. So what a database
 * sees of a Coverage is exactly one of the guard's quasi-identifiers, and joining two
 * databases' releases on every field they share links no more than the guard allows.
 * Its id is the pseudonym and `-c1`: stable across reads, meaningless to anyone else.
 */
import type { Coverage } from '@medplum/fhirtypes';
import { SYSTEMS } from '../core/systems.ts';
import { INSURER_KINDS, insurerKindOf } from '../identifiers/insurer-kind.ts';
import type { InsurerKind } from '../identifiers/insurer-kind.ts';
import { PSEUDED } from './pseudonymized-patient.ts';

/** A number the person holds or held, as the registry keeps it. */
export interface HeldNumber {
  system: string;
  /** 保険者番号 / 公費負担者番号 (8 digits). */
  payer: string;
  start: string | null;
  end: string | null;
}

/** The kind of the number in force on `today` (an insured number before a public one), if any. */
export function currentInsurerKind(numbers: readonly HeldNumber[], today: string): InsurerKind | undefined {
  const current = numbers.filter((n) => (n.start === null || n.start <= today) && (n.end === null || n.end >= today));
  const kinds = current.map((n) => insurerKindOf(n.system, n.payer));
  return kinds.find((k) => k !== 'public' && k !== 'public-assistance') ?? kinds[0];
}

/** The Coverage of a person insured today under a `kind` of insurer. */
export function pseudonymizedCoverage(kind: InsurerKind, pseudonym: string): Coverage {
  return {
    resourceType: 'Coverage',
    id: `${pseudonym}-c1`,
    meta: { security: [PSEUDED] },
    status: 'active',
    type: { coding: [{ system: SYSTEMS.insurerKind, code: kind, display: INSURER_KINDS[kind] }] },
    beneficiary: { reference: `Patient/${pseudonym}` },
    payor: [{ display: INSURER_KINDS[kind] }],
  };
}
