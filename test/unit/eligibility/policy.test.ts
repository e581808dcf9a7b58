/** The eligibility decision by the day, and the record-location Consent policy. */
import type { Consent, Coverage } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { POLICIES } from '../../../src/core/systems.ts';
import { decideValidity, inForce } from '../../../src/eligibility/validity.ts';
import { decideConsent } from '../../../src/privacy/consent/decision.ts';

const RECORD_LOCATION_POLICY = POLICIES.recordLocation;
const recordLocationPolicy = (consents: Consent[], day: string) => decideConsent(consents, { policy: RECORD_LOCATION_POLICY, day });

const cov = (start: string, end?: string, status: Coverage['status'] = 'active'): Coverage => ({
  resourceType: 'Coverage',
  status,
  beneficiary: { reference: 'Patient/p' },
  payor: [{ display: 'x' }],
  period: { start, ...(end ? { end } : {}) },
});

describe('eligibility by the day', () => {
  it('includes both the first and the last day, and nothing outside', () => {
    const c = cov('2026-04-01', '2026-04-30');
    expect(['2026-03-31', '2026-04-01', '2026-04-30', '2026-05-01'].map((d) => inForce(c, d))).toEqual([false, true, true, false]);
    expect(inForce(cov('2026-04-01', undefined, 'cancelled'), '2026-04-02')).toBe(false);
  });
  it('decides valid, invalid, newer, not found and several', () => {
    const b = new Map([
      ['p', '1980-01-01'],
      ['q', '1980-01-01'],
    ]);
    const old = { id: 'a', patientId: 'p', coverage: cov('2020-01-01', '2026-03-31'), card: true };
    const newer = { id: 'b', patientId: 'p', coverage: cov('2026-04-01'), card: false };
    expect(decideValidity([old], b, '1980-01-01', '2026-03-31').validity).toBe('1');
    expect(decideValidity([old], b, '1980-01-01', '2026-04-01').validity).toBe('2');
    expect(decideValidity([old, newer], b, '1980-01-01', '2026-04-01')).toMatchObject({ validity: '3', newer: { id: 'b' } });
    expect(decideValidity([old], b, '1980-01-02', '2026-03-01').validity).toBe('4');
    expect(decideValidity([old, { ...old, id: 'c', patientId: 'q' }], b, '1980-01-01', '2026-03-01').validity).toBe('5');
  });
});

describe('record-location consent policy', () => {
  const consent = (provision: Consent['provision'], extra: Partial<Consent> = {}): Consent => ({
    resourceType: 'Consent',
    status: 'active',
    scope: {},
    category: [{}],
    patient: { reference: 'Patient/p' },
    policy: [{ uri: RECORD_LOCATION_POLICY }],
    provision,
    ...extra,
  });
  it('hides everything on a deny without actors, one organization on a deny naming it', () => {
    expect(recordLocationPolicy([consent({ type: 'deny' })], '2026-01-01').denyAll).toBe(true);
    const one = recordLocationPolicy(
      [
        consent({
          type: 'deny',
          actor: [
            { role: {}, reference: { reference: 'Organization/o1' } },
            {
              role: {},
              reference: {
                identifier: { system: 'http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no', value: '1312345678' },
              },
            },
          ],
        }),
      ],
      '2026-01-01',
    );
    expect(one.denyAll).toBe(false);
    expect([...one.deniedOrganizationIds]).toEqual(['o1']);
    expect([...one.deniedOrganizationCodes]).toEqual(['1312345678']);
  });
  it('ignores inactive consents, other policies, permits, and denies outside their period; reads nested denies', () => {
    expect(recordLocationPolicy([consent({ type: 'deny' }, { status: 'inactive' })], '2026-01-01').denyAll).toBe(false);
    expect(recordLocationPolicy([consent({ type: 'deny' }, { policy: [{ uri: 'http://example.org/other' }] })], '2026-01-01').denyAll).toBe(
      false,
    );
    expect(recordLocationPolicy([consent({ type: 'permit' })], '2026-01-01').denyAll).toBe(false);
    expect(recordLocationPolicy([consent({ type: 'deny', period: { start: '2026-02-01' } })], '2026-01-01').denyAll).toBe(false);
    expect(recordLocationPolicy([consent({ type: 'permit', provision: [{ type: 'deny' }] })], '2026-01-01').denyAll).toBe(true);
  });
});
