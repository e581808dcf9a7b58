/**
 * The one place that reads a person's Consent resources for record location (R11). A later
 * issue deepens it (purposes, periods, permits that narrow a deny); every caller asks here.
 *
 * Today's rule: an active Consent of the person whose provision is `deny` and whose policy is
 * record location (or names no policy) hides — every organization when the provision names
 * no actor, else the organizations its actors reference (Organization/id or a 医療機関コード
 * identifier). A deny provision limited to a period applies only within it.
 */
import type { Consent, ConsentProvision } from '@medplum/fhirtypes';
import { MEDID_CANONICAL } from '../fhir/canonical.ts';
import { ID_SYSTEMS } from '../identifiers/systems.ts';

export const RECORD_LOCATION_POLICY = `${MEDID_CANONICAL}/policy/record-location`;

export interface LocationPolicy {
  hideAll: boolean;
  /** Organizations hidden, by Organization id. */
  hiddenOrgIds: Set<string>;
  /** Organizations hidden, by 医療機関コード. */
  hiddenOrgCodes: Set<string>;
}

function applies(c: Consent): boolean {
  if (c.status !== 'active') return false;
  const policies = [...(c.policy ?? []).map((p) => p.uri), c.policyRule?.coding?.[0]?.code].filter((x): x is string => x !== undefined);
  return policies.length === 0 || policies.includes(RECORD_LOCATION_POLICY);
}

const inPeriod = (p: ConsentProvision, day: string): boolean =>
  (p.period?.start === undefined || p.period.start.slice(0, 10) <= day) && (p.period?.end === undefined || day <= p.period.end.slice(0, 10));

export function recordLocationPolicy(consents: readonly Consent[], day: string): LocationPolicy {
  const out: LocationPolicy = { hideAll: false, hiddenOrgIds: new Set(), hiddenOrgCodes: new Set() };
  const visit = (p: ConsentProvision): void => {
    if (p.type === 'deny' && inPeriod(p, day)) {
      const actors = p.actor ?? [];
      if (actors.length === 0) out.hideAll = true;
      for (const a of actors) {
        const ref = a.reference?.reference;
        if (ref?.startsWith('Organization/')) out.hiddenOrgIds.add(ref.slice('Organization/'.length));
        const id = a.reference?.identifier;
        if (id?.system === ID_SYSTEMS.medicalInstitutionCode && id.value) out.hiddenOrgCodes.add(id.value);
      }
    }
    for (const sub of p.provision ?? []) visit(sub);
  };
  for (const c of consents) if (applies(c) && c.provision) visit(c.provision);
  return out;
}
