import { describe, expect, it } from 'vitest';
import { allows, formatScope, grantScopes, parseScope, parseScopes } from '../../../src/auth/scopes.ts';

const texts = (xs: { text: string }[]): string[] => xs.map((x) => x.text).sort();

describe('SMART scopes', () => {
  it('parses v2 scopes with permissions in cruds order', () => {
    const s = parseScope('system/Patient.rs');
    expect(s?.context).toBe('system');
    expect(s?.type).toBe('Patient');
    expect([...(s?.permissions ?? [])]).toEqual(['r', 's']);
    expect(s?.v1).toBe(false);
  });
  it('refuses permissions out of order or repeated', () => {
    expect(parseScope('system/Patient.sr')).toBeUndefined();
    expect(parseScope('system/Patient.rr')).toBeUndefined();
    expect(parseScope('system/Patient.x')).toBeUndefined();
  });
  it('maps v1 read, write and * to rs, cud and cruds', () => {
    expect([...(parseScope('system/Patient.read')?.permissions ?? [])]).toEqual(['r', 's']);
    expect([...(parseScope('system/Patient.write')?.permissions ?? [])]).toEqual(['c', 'u', 'd']);
    expect([...(parseScope('system/*.*')?.permissions ?? [])]).toEqual(['c', 'r', 'u', 'd', 's']);
  });
  it('keeps constraints of fine-grained scopes', () => {
    expect(parseScope('system/Observation.rs?category=laboratory')?.constraints).toEqual([['category', 'laboratory']]);
  });
  it('ignores non-resource scopes and unknown types', () => {
    expect(parseScopes('openid fhirUser launch/patient offline_access system/Patient.rs')).toHaveLength(1);
    expect(parseScope('system/Nonsense.rs', (t) => t === 'Patient')).toBeUndefined();
  });
  it('grants requested ∩ registered, narrowing wildcards both ways', () => {
    const reg = parseScopes('system/Patient.rs system/*.r');
    expect(texts(grantScopes(parseScopes('system/Patient.cruds'), reg))).toEqual(['system/Patient.r', 'system/Patient.rs']);
    expect(texts(grantScopes(parseScopes('system/*.rs'), parseScopes('system/Patient.rs')))).toEqual(['system/Patient.rs']);
    expect(grantScopes(parseScopes('system/Encounter.c'), reg)).toEqual([]);
    expect(grantScopes(parseScopes('user/Patient.rs'), reg)).toEqual([]);
  });
  it('carries a registered constraint into the grant', () => {
    const g = grantScopes(parseScopes('system/Observation.rs'), parseScopes('system/Observation.rs?category=laboratory'));
    expect(texts(g)).toEqual(['system/Observation.rs?category=laboratory']);
  });
  it('never grants a constrained write: constraints limit reads and searches only', () => {
    const g = grantScopes(parseScopes('system/Observation.cruds'), parseScopes('system/Observation.cruds?category=laboratory'));
    expect(texts(g)).toEqual(['system/Observation.rs?category=laboratory']);
  });
  it('answers v1 in v1 form when granted whole, else in v2', () => {
    expect(texts(grantScopes(parseScopes('system/Patient.read'), parseScopes('system/Patient.cruds')))).toEqual(['system/Patient.read']);
    expect(texts(grantScopes(parseScopes('system/Patient.read'), parseScopes('system/Patient.r')))).toEqual(['system/Patient.r']);
  });
  it('checks permissions per type, wildcards included', () => {
    const s = parseScopes('system/Patient.r system/*.s');
    expect(allows(s, 'Patient', 'r')).toBe(true);
    expect(allows(s, 'Observation', 's')).toBe(true);
    expect(allows(s, 'Observation', 'r')).toBe(false);
  });
  it('formats scopes canonically', () => {
    expect(formatScope({ context: 'system', type: 'Patient', permissions: new Set(['s', 'r']), constraints: [], v1: false })).toBe(
      'system/Patient.rs',
    );
  });
});
