/** A utilizing database's view of a person: the allow-list, over JP Core's own Patient examples. */
import type { Patient } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { pseudonymizedPatient, pseudonymSystem } from '../../../src/pseudonym/pseudonymized-patient.ts';
import { corpusExamples, warnNoCorpus } from '../../helpers/corpus.ts';

/** Every Patient example of the shared corpus (written by others). */
const corpusPatients = (): Patient[] =>
  corpusExamples()
    .map((e) => e.resource)
    .filter((r): r is Patient => r.resourceType === 'Patient');

/** Every string in a resource. */
const strings = (x: unknown): string[] =>
  typeof x === 'string' ? [x] : Array.isArray(x) ? x.flatMap(strings) : x && typeof x === 'object' ? Object.values(x).flatMap(strings) : [];

const full: Patient = {
  resourceType: 'Patient',
  id: '0b6f3c1e-0000-4000-8000-000000000001',
  meta: { versionId: '7', lastUpdated: '2026-11-30T01:02:03Z' },
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">山田 太郎</div>' },
  extension: [{ url: 'http://example.org/x', valueString: 'secret' }],
  identifier: [
    { system: 'http://medid.example.org/fhir/sid/medical-id', value: '12345678901234' },
    { system: 'http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID', value: '06139999:記号:1234:00' },
  ],
  name: [{ family: '山田', given: ['太郎'] }],
  telecom: [{ system: 'phone', value: '03-1234-5678' }],
  gender: 'male',
  birthDate: '1980-04-03',
  deceasedDateTime: '2026-01-02',
  address: [{ use: 'home', postalCode: '100-0001', state: '東京都', city: '千代田区', line: ['千代田1-1'] }],
  contact: [{ name: { family: '山田', given: ['花子'] } }],
  link: [{ other: { reference: 'Patient/other' }, type: 'seealso' }],
};

describe("a utilizing database's Patient", () => {
  const p = pseudonymizedPatient(full, { domain: 'ndb', pseudonym: 'v1.0123456789ABCDEFGHJKMNPQRS' });

  it('carries the pseudonym as its id and only identifier, sex, the birth year-month, 3 postal digits and a deceased flag', () => {
    expect(p).toEqual({
      resourceType: 'Patient',
      id: 'v1.0123456789ABCDEFGHJKMNPQRS',
      meta: {
        security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'PSEUDED', display: 'pseudonymized' }],
      },
      identifier: [{ system: pseudonymSystem('ndb'), value: 'v1.0123456789ABCDEFGHJKMNPQRS' }],
      gender: 'male',
      birthDate: '1980-04',
      deceasedBoolean: true,
      address: [{ postalCode: '100', country: 'JP' }],
    });
  });
  it('generalizes the birth date to the year where the domain asks', () => {
    expect(pseudonymizedPatient(full, { domain: 'ndb', pseudonym: 'v1.X', birthDatePrecision: 'year' }).birthDate).toBe('1980');
  });
  it('never repeats a name, number, phone, address line, id or instant of any Patient in the corpus', () => {
    const corpus = corpusPatients();
    if (corpus.length === 0) warnNoCorpus('pseudonymized Patient over the corpus (only the built-in Patient checked)');
    const patients = [full, ...corpus];
    for (const source of patients) {
      const out = pseudonymizedPatient(source, { domain: 'kaigo', pseudonym: 'v1.PSEUDONYM' });
      // What the allow-list itself writes (the pseudonym's system, the PSEUDED tag) is not the person's.
      const fixed = new Set([pseudonymSystem('kaigo'), ...strings(out.meta)]);
      const released = strings(out).filter((x) => !fixed.has(x));
      const leaks = strings({ ...source, gender: undefined, birthDate: undefined, resourceType: undefined })
        .filter((s) => s.length >= 4 && !/^(v1\.PSEUDONYM|JP|kaigo)$/.test(s))
        .filter((s) => released.some((r) => r.includes(s)));
      expect(leaks, source.id).toEqual([]);
    }
  });
});
