/**
 * Registration records: what desks and insurer files contain is normalized to one canonical
 * record or refused with the field and rule; and the Patient the registry builds from any
 * valid record meets the medid-patient profile (the registry writes it without re-validating).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../../../src/identifiers/kind.ts';
import { ID_SYSTEMS } from '../../../src/core/systems.ts';
import { applyRecord, newPatient, patientFromRecord, recordFromPatient } from '../../../src/registry/patient.ts';
import { parseJapaneseDate } from '../../../src/jp/date.ts';
import { registeredKana } from '../../../src/jp/kana.ts';
import { recordFromFlat } from '../../../src/registry/record.ts';
import type { RegistrationRecord } from '../../../src/registry/record.ts';
import { Validator } from '../../../src/repo/validator.ts';
import { splitCsvLine } from '../../../src/registry/source-file.ts';
import { syntheticPerson } from '../../../bench/registry-data.ts';
import { testDefinitions } from '../../helpers/server.ts';

const ok = (f: Record<string, string>): RegistrationRecord => {
  const r = recordFromFlat(f, DEFAULT_RULES);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.record;
};

describe('registration records', () => {
  it('normalizes what desks type: full-width digits and colons, hiragana, half-width kana, dates', () => {
    const r = ok({
      insurer_number: '０６１３８０９３',
      symbol: '１２',
      number: '３４５６',
      family_kana: 'やまだ',
      given_kana: 'ﾀﾛｳ',
      birth_date: '１９８０/４/１',
      sex: '1',
      postal_code: '〒100-0001',
      my_number: '９８３２ ０５６７ ３２１４',
    });
    expect(r.insuredMemberId).toEqual({ value: '06138093:12:3456:', insurerNumber: '06138093' });
    expect([r.familyKana, r.givenKana, r.birthDate, r.gender, r.postalCode, r.myNumber]).toEqual([
      'ヤマダ',
      'タロウ',
      '1980-04-01',
      'male',
      '100-0001',
      '983205673214',
    ]);
    expect(parseJapaneseDate('19800401')).toBe('1980-04-01');
    expect(parseJapaneseDate('1980-02-30')).toBeUndefined();
    expect(registeredKana('ヤマダ　タロウ')).toBe('ヤマダタロウ');
  });

  it('keeps kanji exactly as written (no NFKC folding of compatibility ideographs)', () => {
    expect(ok({ family_kanji: '神﨑', family_kana: 'カンザキ', birth_date: '1990-01-01', sex: 'female' }).familyKanji).toBe('神﨑');
  });

  it('reports every problem with its field and rule, and never echoes a My Number', () => {
    const r = recordFromFlat(
      { insurer_number: '88134458', number: '1', family_kana: 'Yamada', birth_date: '1980-13-01', sex: 'x', my_number: '123456789012' },
      DEFAULT_RULES,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => [i.expression, i.rule])).toEqual([
      ['insurer_number', 'insurer-number.check-digit'],
      ['my_number', 'my-number.check-digit'],
      ['family_kana', 'record.kana'],
      ['birth_date', 'record.birth-date'],
      ['sex', 'record.sex'],
    ]);
    expect(r.issues[0]?.text).toContain('check digit is wrong');
    expect(r.issues[0]?.text).not.toMatch(/\d{6}/);
    expect(JSON.stringify(r.issues)).not.toContain('123456789012');
  });

  it('needs the 番号 with an insurer number', () => {
    const r = recordFromFlat({ insurer_number: '06138093', family_kana: 'ヤマダ', birth_date: '1980-01-01', sex: 'male' }, DEFAULT_RULES);
    expect(r.ok ? [] : r.issues.map((i) => i.rule)).toEqual(['record.number-required']);
  });

  it('reads quoted CSV cells', () => {
    expect(splitCsvLine('a,"b,c","d ""e""",')).toEqual(['a', 'b,c', 'd "e"', '']);
  });

  it('round-trips a record through the Patient that carries it over the API', () => {
    const r = ok(syntheticPerson(42));
    const back = recordFromPatient(patientFromRecord(r), r.record, DEFAULT_RULES);
    expect(back.ok && back.record).toEqual(r);
  });

  it('keeps a changed name as old and a new number beside the old one', () => {
    const r = ok({ ...syntheticPerson(1), family_kana: 'スズキ', family_kanji: '鈴木' });
    const first = newPatient('p1', r, { system: ID_SYSTEMS.medicalId, value: '10000000000013', start: '2026-01-01' });
    const married = applyRecord(
      first,
      { ...r, familyKana: 'タナカ', familyKanji: '田中', insuredMemberId: { value: '06138093:1:2:', insurerNumber: '06138093' } },
      '2026-06-01',
    );
    expect(married.name?.filter((n) => n.use === 'old').map((n) => n.family)).toEqual(['鈴木', 'スズキ']);
    expect(married.identifier?.filter((i) => i.system === ID_SYSTEMS.insuredMemberId)).toHaveLength(2);
  });

  it('builds Patients that meet the medid-patient profile, for any valid record (property)', async () => {
    const validator = new Validator(await testDefinitions());
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.boolean(), fc.boolean(), (n, withPhone, withKanji) => {
        const f = syntheticPerson(n);
        if (!withPhone) delete f['phone'];
        if (!withKanji) {
          delete f['family_kanji'];
          delete f['given_kanji'];
        }
        const p = newPatient('x', ok(f), { system: ID_SYSTEMS.medicalId, value: '10000000000013', start: '2026-01-01' });
        const report = validator.check(p);
        expect([...report.base, ...report.profile].filter((i) => i.severity === 'error')).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});
