/**
 * A person's service uses (R9) as a utilizing database sees them (issue 16 item 3): one
 * EpisodeOfCare per organization that served the person, rebuilt from an allow-list — the kind
 * of facility (医科, 歯科, 調剤, from the 医療機関コード's 点数表番号) and its prefecture, never the
 * facility (a rare-disease clinic's code and a month can single a person out), the period to
 * the month (or year), and the patient by the database's own pseudonym.
 */
import type { EpisodeOfCare } from '@medplum/fhirtypes';
import { EXTENSIONS, SYSTEMS } from '../core/systems.ts';
import { PSEUDED } from './pseudonymized-patient.ts';

export interface ServiceUseFacts {
  /** 医療機関コード (10 digits). */
  orgCode: string;
  firstDay: string;
  lastDay: string;
}

const FACILITY_KINDS: Readonly<Record<string, { code: string; display: string }>> = {
  '1': { code: 'medical', display: '医科' },
  '3': { code: 'dental', display: '歯科' },
  '4': { code: 'pharmacy', display: '調剤' },
};

export function pseudonymizedEpisodes(
  uses: readonly ServiceUseFacts[],
  o: { pseudonym: string; precision: 'year-month' | 'year'; today: string },
): EpisodeOfCare[] {
  const n = o.precision === 'year' ? 4 : 7;
  return uses.map((u, i) => {
    const kind = FACILITY_KINDS[u.orgCode.charAt(2)] ?? { code: 'other', display: 'その他' };
    return {
      resourceType: 'EpisodeOfCare',
      id: `${o.pseudonym}-e${i + 1}`,
      meta: { security: [PSEUDED] },
      extension: [{ url: EXTENSIONS.facilityPrefecture, valueCoding: { system: SYSTEMS.prefecture, code: `JP-${u.orgCode.slice(0, 2)}` } }],
      // Finished once its last day is before this month: a database sees months, not days.
      status: u.lastDay.slice(0, 7) < o.today.slice(0, 7) ? 'finished' : 'active',
      type: [{ coding: [{ system: SYSTEMS.facilityKind, ...kind }] }],
      patient: { reference: `Patient/${o.pseudonym}` },
      period: { start: u.firstDay.slice(0, n), end: u.lastDay.slice(0, n) },
    };
  });
}
