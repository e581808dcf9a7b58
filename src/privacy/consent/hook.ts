/**
 * Keeps privacy.consent_rule in step with Consents: a repository write hook, so a Consent's
 * rules take effect (or end) in the transaction of the write that stores (or deletes) it.
 */
import type { Consent, Organization } from '@medplum/fhirtypes';
import type { AfterWrite } from '../../repo/repository.ts';
import { replaceConsentRules } from '../../store/access.ts';
import type { ConsentRuleRow } from '../../store/access.ts';
import { readCurrent } from '../../store/resources.ts';
import { actorOfIdentifier, rulesOf } from './rules.ts';

export const consentRulesHook: AfterWrite = async (db, changes) => {
  const ids: string[] = [];
  const rules: ConsentRuleRow[] = [];
  const resolve = async (ref: string): Promise<string[]> => {
    const org = await readCurrent(db, 'Organization', ref.slice('Organization/'.length));
    if (!org?.content) return [];
    const o = JSON.parse(org.content) as Organization;
    return (o.identifier ?? []).map(actorOfIdentifier).filter((a): a is string => a !== undefined);
  };
  for (const c of changes) {
    if (c.stored.resourceType !== 'Consent') continue;
    ids.push(c.stored.id);
    const consent = c.resource as Consent | undefined;
    if (c.action !== 'delete' && consent) rules.push(...(await rulesOf({ ...consent, id: c.stored.id }, resolve)));
  }
  await replaceConsentRules(db, ids, rules);
};
