/**
 * A newborn's provisional name (issue 18 item 2) and the birth-date bounds (item 6), as records
 * read them: flat and Patient forms, the rules each refusal names, the Patient the registry
 * builds (valid against medid-patient), its completion by the real name, and $match's features.
 */
import { describe, expect, it } from 'vitest';
import type { Patient } from '@medplum/fhirtypes';
import { ID_SYSTEMS, NAME_REPRESENTATION } from '../../../src/core/systems.ts';
import { DEFAULT_RULES } from '../../../src/identifiers/kind.ts';
import { japanDay } from '../../../src/jp/date.ts';
import { compare } from '../../../src/mpi/compare.ts';
import { featuresOf } from '../../../src/mpi/features.ts';
import { conflictingFacts } from '../../../src/registry/identify.ts';
import {
  applyRecord,
  demographicKey,
  familyKeyOf,
  newPatient,
  patientFromRecord,
  recordFromPatient,
} from '../../../src/registry/patient.ts';
import { recordFromFlat } from '../../../src/registry/record.ts';
import type { RegistrationRecord } from '../../../src/registry/record.ts';
import { Validator } from '../../../src/repo/validator.ts';
import { testDefinitions } from '../../helpers/server.ts';

const TODAY = '2026-04-10';
const baby = {
  insurer_number: '06138093',
  number: '1001',
  branch: '03',
  family_kana: 'やまだ',
  family_kanji: '山田',
  provisional_name: '1',
  birth_date: '2026-04-08',
  sex: 'female',
};
const read = (f: Record<string, string>) => recordFromFlat(f, DEFAULT_RULES, TODAY);
const ok = (f: Record<string, string>): RegistrationRecord => {
  const r = read(f);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.record;
};
const rules = (f: Record<string, string>) => {
  const r = read(f);
  return r.ok ? [] : r.issues.map((i) => [i.expression, i.rule]);
};
const MID = { system: ID_SYSTEMS.medicalId, value: '10000000000013', start: TODAY };

describe('a newborn’s provisional name', () => {
  it('is read from the flat form (provisional_name, birth_order) and filed under the family-name key', () => {
    const r = ok({ ...baby, birth_order: '2' });
    expect([r.provisional, r.birthOrder, r.familyKana, r.givenKana]).toEqual([true, 2, 'ヤマダ', undefined]);
    expect(demographicKey(r)).toBe('ヤマダ|2026-04-08|female');
    expect(familyKeyOf(r)).toBeUndefined();
    // A named record of the family looks under that key too.
    expect(familyKeyOf(ok({ ...baby, provisional_name: '0', given_kana: 'ミオ' }))).toBe('ヤマダ|2026-04-08|female');
  });

  it('refuses a given name, an adult, a bad birth order or flag, and a missing family name, each naming its rule', () => {
    expect(rules({ ...baby, given_kana: 'ミオ' })).toEqual([['given_kana', 'record.provisional-given']]);
    expect(rules({ ...baby, given_kanji: '澪' })).toEqual([['given_kana', 'record.provisional-given']]);
    expect(rules({ ...baby, birth_date: '2025-04-09' })).toEqual([['provisional_name', 'record.provisional-age']]);
    expect(rules({ ...baby, birth_date: '2025-04-10' })).toEqual([]);
    expect(rules({ ...baby, birth_order: '0' })).toEqual([['birth_order', 'record.birth-order']]);
    expect(rules({ ...baby, birth_order: 'two' })).toEqual([['birth_order', 'record.birth-order']]);
    expect(rules({ ...baby, provisional_name: 'maybe' })).toEqual([['provisional_name', 'record.provisional-name']]);
    const { family_kana: _k, ...nameless } = baby;
    expect(rules(nameless)).toEqual([['family_kana', 'record.kana-required']]);
  });

  it('becomes use-temp names with a display text and the birth order, valid against medid-patient, and round-trips', async () => {
    const r = ok({ ...baby, birth_order: '2' });
    const p = newPatient('p1', r, MID);
    expect(p.name).toEqual([
      { extension: [{ url: NAME_REPRESENTATION, valueCode: 'IDE' }], use: 'temp', text: '山田の子（2）', family: '山田' },
      { extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], use: 'temp', text: 'ヤマダノコ（2）', family: 'ヤマダ' },
    ]);
    expect(p.multipleBirthInteger).toBe(2);
    const report = new Validator(await testDefinitions()).check(p);
    expect([...report.base, ...report.profile].filter((i) => i.severity === 'error')).toEqual([]);
    const back = recordFromPatient(patientFromRecord(r), r.record, DEFAULT_RULES, TODAY);
    expect(back.ok && back.record).toEqual(r);
  });

  it('gives way to the real name (not kept as old); a provisional record never replaces a real name', () => {
    const born = newPatient('p1', ok(baby), MID);
    const named = applyRecord(born, ok({ ...baby, provisional_name: '', given_kana: 'ミオ', given_kanji: '澪' }), '2026-04-20');
    expect(named.name?.map((n) => [n.use, n.family, n.given?.[0]])).toEqual([
      ['official', '山田', '澪'],
      ['official', 'ヤマダ', 'ミオ'],
    ]);
    expect(applyRecord(named, ok(baby), '2026-04-21').name).toEqual(named.name);
  });

  it('is read from a Patient: temp names count only when no real name is beside them', () => {
    const temp = { use: 'temp' as const, extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], family: 'ヤマダ' };
    const real = { extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], family: 'ヤマダ', given: ['ミオ'] };
    const p: Patient = { resourceType: 'Patient', name: [temp], gender: 'female', birthDate: '2026-04-08' };
    const one = recordFromPatient(p, 'x', DEFAULT_RULES, TODAY);
    expect(one.ok && one.record.provisional).toBe(true);
    const both = recordFromPatient({ ...p, name: [temp, real] }, 'x', DEFAULT_RULES, TODAY);
    expect(both.ok && [both.record.provisional, both.record.givenKana]).toEqual([false, 'ミオ']);
    const order = recordFromPatient({ ...p, multipleBirthInteger: 1.5 }, 'x', DEFAULT_RULES, TODAY);
    expect(order.ok ? [] : order.issues.map((i) => [i.expression, i.rule])).toEqual([
      ['Patient.multipleBirthInteger', 'record.birth-order'],
    ]);
  });

  it('is weak evidence to $match: level provisional on agreement, missing on disagreement', () => {
    const born = featuresOf(newPatient('p1', ok(baby), MID));
    expect(born.provisionalName).toBe(true);
    const desk = (family: string) =>
      featuresOf({
        resourceType: 'Patient',
        name: [{ extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], family, given: ['ミオ'] }],
        birthDate: '2026-04-08',
      });
    expect(compare(desk('ヤマダ'), born)).toMatchObject({ familyKana: 'provisional', givenKana: 'missing', birthDate: 'exact' });
    expect(compare(desk('スズキ'), born).familyKana).toBe('missing');
    expect(compare(born, desk('ヤマダ')).familyKana).toBe('provisional');
  });
});

describe('birth dates and conflicting facts', () => {
  it('refuses a birth date after Japan’s today or before 1900, without repeating it', () => {
    const person = { family_kana: 'キタ', given_kana: 'ジュン', sex: 'male' };
    expect(rules({ ...person, birth_date: '2026-04-11' })).toEqual([['birth_date', 'record.birth-date-future']]);
    expect(rules({ ...person, birth_date: '2026-04-10' })).toEqual([]);
    expect(rules({ ...person, birth_date: '1899-12-31' })).toEqual([['birth_date', 'record.birth-date-too-early']]);
    expect(rules({ ...person, birth_date: 'M30.1.1' })).toEqual([['birth_date', 'record.birth-date-too-early']]);
    const r = read({ ...person, birth_date: '2027-01-01' });
    expect(JSON.stringify(r)).not.toContain('2027');
    // 2026-04-09 23:30 UTC is already 2026-04-10 in Japan.
    expect(japanDay(new Date('2026-04-09T23:30:00Z'))).toBe('2026-04-10');
    expect(japanDay(new Date('2026-04-09T14:59:59Z'))).toBe('2026-04-09');
  });

  it('names the facts a number contradicts; unknown sex contradicts nothing', () => {
    const p: Patient = { resourceType: 'Patient', birthDate: '1980-01-01', gender: 'female' };
    expect(conflictingFacts({ birthDate: '1980-01-01', gender: 'female' }, p)).toBeUndefined();
    expect(conflictingFacts({ birthDate: '1980-01-02', gender: 'female' }, p)).toBe('birth date');
    expect(conflictingFacts({ birthDate: '1980-01-01', gender: 'male' }, p)).toBe('sex');
    expect(conflictingFacts({ birthDate: '1980-01-02', gender: 'male' }, p)).toBe('birth date and sex');
    expect(conflictingFacts({ birthDate: '1980-01-01', gender: 'unknown' }, p)).toBeUndefined();
    expect(conflictingFacts({ birthDate: '1980-01-01', gender: 'male' }, { ...p, gender: 'unknown' })).toBeUndefined();
  });
});
