import { describe, expect, it } from 'vitest';
import { checkRegistration, RegistrationError } from '../../../src/auth/clients.ts';

const base = {
  client_id: 'c1',
  name: 'Client',
  scope: 'system/Patient.rs',
  jwks_uri: 'https://c.example/jwks',
  organization: { kind: 'medical-institution' as const, code: '1312345678' },
};

describe('client registration', () => {
  it('accepts a complete registration', () => {
    expect(checkRegistration(base).clientId).toBe('c1');
  });
  it('names the field that is wrong', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ client_id: 'bad id!' }, /client_id/],
      [{ scope: 'patient' }, /scope/],
      [{ jwks_uri: undefined }, /jwks/],
      [{ jwks: { keys: [{ kty: 'EC' }] } }, /exactly one/],
      [{ jwks_uri: 'http://c.example/jwks' }, /https/],
      [{ organization: { kind: 'hospital', code: '1' } }, /organization.kind/],
      [{ organization: { kind: 'medical-institution', code: '123' } }, /organization.code/],
      [{ organization: { kind: 'insurer', code: '0613809' } }, /organization.code/],
      [{ scope: 'system/Observation.cu?category=laboratory' }, /read and search/],
    ];
    for (const [patch, re] of cases) {
      expect(() => checkRegistration({ ...base, ...patch })).toThrow(re);
      expect(() => checkRegistration({ ...base, ...patch })).toThrow(RegistrationError);
    }
  });
  it('refuses private keys in a registered JWKS', () => {
    expect(() => checkRegistration({ ...base, jwks_uri: undefined, jwks: { keys: [{ kty: 'EC', d: 'secret' }] } })).toThrow(/private/);
  });
});
