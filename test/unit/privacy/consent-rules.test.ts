/** A Consent compiled into the rules every disclosure asks (privacy/consent/rules.ts). */
import type { Consent } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { ID_SYSTEMS, POLICIES } from '../../../src/core/systems.ts';
import { rulesOf } from '../../../src/privacy/consent/rules.ts';

const base = (provision: Consent['provision'], extra: Partial<Consent> = {}): Consent & { id: string } => ({
  resourceType: 'Consent',
  id: 'c1',
  status: 'active',
  scope: { text: 'privacy' },
  category: [{ text: 'consent' }],
  patient: { reference: 'Patient/p1' },
  provision,
  ...extra,
});
const noOrgs = (): Promise<string[]> => Promise.resolve([]);

describe('consent rules', () => {
  it('a deny naming nobody is an opt-out: one rule for everyone', async () => {
    expect(await rulesOf(base({ type: 'deny' }), noOrgs)).toEqual([
      { consentId: 'c1', patientId: 'p1', effect: 'deny', actor: null, purposes: [], classes: [], periodStart: null, periodEnd: null },
    ]);
  });

  it('names organizations by identifier or by an Organization reference, and keeps purposes, classes and period', async () => {
    const rules = await rulesOf(
      base({
        type: 'permit',
        period: { start: '2026-01-01', end: '2026-12-31T23:59:59+09:00' },
        purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' }],
        class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Observation' }],
        actor: [
          { role: { text: 'recipient' }, reference: { identifier: { system: ID_SYSTEMS.medicalInstitutionCode, value: '1311111111' } } },
          { role: { text: 'recipient' }, reference: { reference: 'Organization/net' } },
        ],
      }),
      (ref) => Promise.resolve(ref === 'Organization/net' ? ['regional-network:chiba-net'] : []),
    );
    expect(rules.map((r) => r.actor)).toEqual(['medical-institution:1311111111', 'regional-network:chiba-net']);
    expect(rules[0]).toMatchObject({
      effect: 'permit',
      purposes: ['TREAT'],
      classes: ['Observation'],
      periodStart: '2026-01-01',
      periodEnd: '2026-12-31',
    });
  });

  it('nested provisions inherit what they do not say; an unknown actor names nobody', async () => {
    const rules = await rulesOf(
      base({
        type: 'deny',
        period: { start: '2026-04-01' },
        provision: [{ type: 'permit', actor: [{ role: { text: 'x' }, reference: { reference: 'Practitioner/1' } }] }],
      }),
      noOrgs,
    );
    expect(rules).toHaveLength(2);
    expect(rules[1]).toMatchObject({ effect: 'permit', actor: 'unresolved:', periodStart: '2026-04-01' });
  });

  it('an inactive Consent, or one about record location only, makes no disclosure rule', async () => {
    expect(await rulesOf(base({ type: 'deny' }, { status: 'inactive' }), noOrgs)).toEqual([]);
    expect(await rulesOf(base({ type: 'deny' }, { policy: [{ uri: POLICIES.recordLocation }] }), noOrgs)).toEqual([]);
  });
});
