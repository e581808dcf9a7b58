/** Which local ids a caller may feed (privacy/network-ids.ts): its own network's domain, a well-formed value. */
import { OperationOutcomeError } from '@medplum/core';
import { describe, expect, it } from 'vitest';
import { ID_SYSTEMS } from '../../../src/core/systems.ts';
import { statusOf } from '../../../src/core/outcome.ts';
import type { Organization } from '../../../src/core/principal.ts';
import { facilitySystem } from '../../../src/identifiers/facility-patient-id.ts';
import { assertFeedableLocalId } from '../../../src/privacy/network-ids.ts';

const NET = `${ID_SYSTEMS.networkPatientIdPrefix}chiba-net`;
const network: Organization = { kind: 'regional-network', code: 'chiba-net' };

/** The status and text of the refusal, or 'ok' with the network code. */
function outcome(caller: Organization | undefined, system: string, value: string): string {
  try {
    return `ok ${assertFeedableLocalId(caller, { system, value })}`;
  } catch (e) {
    if (!(e instanceof OperationOutcomeError)) throw e;
    const text = e.outcome.issue[0]?.details?.text ?? '';
    if (value.length > 1) expect(text).not.toContain(value); // a refusal never repeats the value
    return String(statusOf(e.outcome));
  }
}

describe('feedable local ids', () => {
  it("a network feeds its own domain; the authority any network's", () => {
    expect(outcome(network, NET, 'CN-0001')).toBe('ok chiba-net');
    expect(outcome({ kind: 'authority', code: 'hq' }, `${ID_SYSTEMS.networkPatientIdPrefix}tokyo-net`, 'T1')).toBe('ok tokyo-net');
  });

  it("refuses another network's domain and other kinds of caller (403)", () => {
    expect(outcome(network, `${ID_SYSTEMS.networkPatientIdPrefix}tokyo-net`, 'T1')).toBe('403');
    expect(outcome({ kind: 'regional-network', code: 'tokyo-net' }, NET, 'CN-0001')).toBe('403');
    expect(outcome({ kind: 'medical-institution', code: '1312345678' }, NET, 'CN-0001')).toBe('403');
    expect(outcome(undefined, NET, 'CN-0001')).toBe('403');
  });

  it('refuses a system that is not a network domain (400)', () => {
    expect(outcome(network, facilitySystem('1312345678'), 'H-1')).toBe('400');
    expect(outcome(network, ID_SYSTEMS.medicalId, '10000000000017')).toBe('400');
    expect(outcome(network, `${ID_SYSTEMS.networkPatientIdPrefix}Chiba_Net`, 'CN-0001')).toBe('400');
    expect(outcome(network, ID_SYSTEMS.networkPatientIdPrefix, 'CN-0001')).toBe('400');
  });

  it('takes 1–64 visible ASCII characters without |, comma or backslash', () => {
    for (const v of ['0', 'A/01', "x!#$%&'()*+-.:;<=>?@[]^_`{}~", 'a'.repeat(64)]) expect(outcome(network, NET, v), v).toBe('ok chiba-net');
    for (const v of ['', 'a b', 'a|b', 'a,b', 'a\\b', 'a'.repeat(65), '千葉1', 'a\tb', 'a\u0000b'])
      expect(outcome(network, NET, v), v).toBe('400');
  });
});
