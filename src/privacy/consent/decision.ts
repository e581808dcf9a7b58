/**
 * The one consent decision (R10, R11): what a person's Consents deny for a disclosure under a
 * policy on a day. Record location asks it today; every disclosure will ask it next (issue 13:
 * purposes, periods, permits that narrow a deny), and every caller goes through here.
 *
 * Today's rule: an active Consent of the person whose provision is `deny` and whose policy is the
 * one asked about (or which names no policy) denies — every organization when the provision
 * names no actor, else the organizations its actors reference (Organization/id or a 医療機関コード
 * identifier). A deny provision limited to a period applies only within it; nested provisions
 * are read too.
 */
import type { Consent, ConsentProvision } from '@medplum/fhirtypes';
import { ID_SYSTEMS } from '../../core/systems.ts';

export interface ConsentQuestion {
  /** The disclosure policy asking (POLICIES.recordLocation). */
  policy: string;
  /** The day of the disclosure (YYYY-MM-DD). */
  day: string;
}

export interface ConsentDecision {
  /** Nothing may be disclosed to anyone. */
  denyAll: boolean;
  /** Organizations denied, by Organization id. */
  deniedOrganizationIds: Set<string>;
  /** Organizations denied, by 医療機関コード. */
  deniedOrganizationCodes: Set<string>;
}

function applies(c: Consent, policy: string): boolean {
  if (c.status !== 'active') return false;
  const policies = [...(c.policy ?? []).map((p) => p.uri), c.policyRule?.coding?.[0]?.code].filter((x): x is string => x !== undefined);
  return policies.length === 0 || policies.includes(policy);
}

const inPeriod = (p: ConsentProvision, day: string): boolean =>
  (p.period?.start === undefined || p.period.start.slice(0, 10) <= day) &&
  (p.period?.end === undefined || day <= p.period.end.slice(0, 10));

export function decideConsent(consents: readonly Consent[], q: ConsentQuestion): ConsentDecision {
  const out: ConsentDecision = { denyAll: false, deniedOrganizationIds: new Set(), deniedOrganizationCodes: new Set() };
  const visit = (p: ConsentProvision): void => {
    if (p.type === 'deny' && inPeriod(p, q.day)) {
      const actors = p.actor ?? [];
      if (actors.length === 0) out.denyAll = true;
      for (const a of actors) {
        const ref = a.reference?.reference;
        if (ref?.startsWith('Organization/')) out.deniedOrganizationIds.add(ref.slice('Organization/'.length));
        const id = a.reference?.identifier;
        if (id?.system === ID_SYSTEMS.medicalInstitutionCode && id.value) out.deniedOrganizationCodes.add(id.value);
      }
    }
    for (const sub of p.provision ?? []) visit(sub);
  };
  for (const c of consents) if (applies(c, q.policy) && c.provision) visit(c.provision);
  return out;
}
