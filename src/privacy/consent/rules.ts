/**
 * A person's Consents compiled into the rules every disclosure asks (store/access-sql.ts): one
 * rule per provision that permits or denies, with the organization it names (or everyone), the
 * purposes and data classes it is limited to, and its period. Kept in privacy.consent_rule by
 * a write hook, in each Consent write's own transaction, so a Consent takes effect with the
 * write that stores it.
 *
 * - Only active Consents count; a Consent whose only policy is record location
 *   (POLICIES.recordLocation) speaks of custodians, not recipients, and is decided by
 *   decision.ts alone.
 * - An actor is named by an identifier (医療機関コード, insurer number, regional-network code,
 *   utilizing-database code) or by a reference to an Organization carrying one; an actor medid
 *   cannot resolve to an organization names nobody (its deny and its permit then change nothing).
 * - A nested provision inherits its parent's period, purposes and classes where it names none.
 */
import type { Consent, ConsentProvision, Identifier } from '@medplum/fhirtypes';
import type { OrgKind } from '../../core/principal.ts';
import { ID_SYSTEMS, POLICIES } from '../../core/systems.ts';
import type { ConsentRuleRow } from '../../store/access.ts';

/** One rule, as privacy.consent_rule keeps it (`actor`: `kind:code`, or null for everyone). */
export type ConsentRule = ConsentRuleRow;

const KIND_OF_SYSTEM: Readonly<Record<string, OrgKind>> = {
  [ID_SYSTEMS.medicalInstitutionCode]: 'medical-institution',
  [ID_SYSTEMS.insurerNumber]: 'insurer',
  [ID_SYSTEMS.regionalNetwork]: 'regional-network',
  [ID_SYSTEMS.utilizingDatabase]: 'database',
};

const RESOURCE_TYPES = 'http://hl7.org/fhir/resource-types';

/** The `kind:code` an organization identifier names, if it names one. */
export function actorOfIdentifier(id: Identifier | undefined): string | undefined {
  const kind = id?.system ? KIND_OF_SYSTEM[id.system] : undefined;
  return kind && id?.value ? `${kind}:${id.value}` : undefined;
}

/** Whether a Consent speaks to disclosures at all (not only to record location). */
function speaksToDisclosure(c: Consent): boolean {
  const policies = (c.policy ?? []).map((p) => p.uri).filter((u): u is string => u !== undefined);
  return !(policies.length > 0 && policies.every((u) => u === POLICIES.recordLocation));
}

/**
 * The rules of one Consent. `resolve` turns an `Organization/id` reference into the actors its
 * identifiers name (the hook reads the Organization).
 */
export async function rulesOf(c: Consent & { id: string }, resolve: (ref: string) => Promise<string[]>): Promise<ConsentRule[]> {
  const patient = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(c.patient?.reference ?? '')?.[1];
  if (c.status !== 'active' || !patient || !c.provision || !speaksToDisclosure(c)) return [];
  const out: ConsentRule[] = [];
  const visit = async (p: ConsentProvision, inherited: Pick<ConsentRule, 'purposes' | 'classes' | 'periodStart' | 'periodEnd'>) => {
    const own = {
      purposes: p.purpose?.length ? p.purpose.map((x) => x.code ?? '').filter(Boolean) : inherited.purposes,
      classes: p.class?.length ? p.class.filter((x) => x.system === RESOURCE_TYPES).map((x) => x.code ?? '') : inherited.classes,
      periodStart: p.period?.start?.slice(0, 10) ?? inherited.periodStart,
      periodEnd: p.period?.end?.slice(0, 10) ?? inherited.periodEnd,
    };
    if (p.type === 'permit' || p.type === 'deny') {
      const actors: (string | null)[] = [];
      for (const a of p.actor ?? []) {
        const ref = a.reference?.reference;
        const named = actorOfIdentifier(a.reference?.identifier);
        if (named) actors.push(named);
        else if (ref?.startsWith('Organization/')) actors.push(...(await resolve(ref)));
        // An actor that names no organization medid knows: the rule names nobody.
        if (!named && !ref?.startsWith('Organization/')) actors.push('unresolved:');
      }
      if ((p.actor ?? []).length === 0) actors.push(null);
      else if (actors.length === 0) actors.push('unresolved:');
      for (const actor of new Set(actors)) out.push({ consentId: c.id, patientId: patient, effect: p.type, actor, ...own });
    }
    for (const sub of p.provision ?? []) await visit(sub, own);
  };
  await visit(c.provision, { purposes: [], classes: [], periodStart: null, periodEnd: null });
  return out;
}
