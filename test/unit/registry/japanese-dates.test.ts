/**
 * One date reader for every door: an insurer's CSV or NDJSON file read by `medid import`
 * accepts each form $match accepts — ISO, slashes, eight digits, 年月日, and the Japanese eras
 * in kanji, letter or ligature form, full-width too — and refuses what is not a calendar day.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../../../src/identifiers/kind.ts';
import { parseJapaneseDate } from '../../../src/jp/date.ts';
import { recordFromFlat } from '../../../src/registry/record.ts';
import { readSource } from '../../../src/registry/source-file.ts';

const FORMS: [string, string][] = [
  ['1980-04-01', '1980-04-01'],
  ['1980/4/1', '1980-04-01'],
  ['19800401', '1980-04-01'],
  ['1980年4月1日', '1980-04-01'],
  ['昭和55年4月1日', '1980-04-01'],
  ['S55.4.1', '1980-04-01'],
  ['s55/04/01', '1980-04-01'],
  ['㍼55.4.1', '1980-04-01'],
  ['Ｓ５５．４．１', '1980-04-01'],
  ['平成元年1月8日', '1989-01-08'],
  ['H1/1/8', '1989-01-08'],
  ['令和2年2月29日', '2020-02-29'],
  ['大正15年12月24日', '1926-12-24'],
];
const NOT_DATES = ['昭和64年1月8日', '平成1年1月7日', '令和2年2月30日', '1980-02-30', 'S55', '80/4/1'];

async function importedBirthDates(rows: string[]): Promise<(string | undefined)[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-dates-'));
  const file = path.join(dir, 'persons.csv');
  fs.writeFileSync(file, `\uFEFFrecord,insurer_number,number,family_kana,given_kana,birth_date,sex\r\n${rows.join('\r\n')}\r\n`);
  const out: (string | undefined)[] = [];
  try {
    for await (const src of readSource(file, 'csv')) {
      if (!('flat' in src)) throw new Error('a CSV line is a flat record');
      const r = recordFromFlat(src.flat, DEFAULT_RULES);
      out.push(r.ok ? r.record.birthDate : undefined);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

describe('dates in registration files', () => {
  it('reads every form $match reads, Japanese eras included, to the same calendar day', async () => {
    const rows = FORMS.map(([raw], i) => `r${i},06138093,${100 + i},ヤマダ,タロウ,${raw},1`);
    expect(await importedBirthDates(rows)).toEqual(FORMS.map(([, iso]) => iso));
    for (const [raw, iso] of FORMS) expect(parseJapaneseDate(raw), raw).toBe(iso);
  });
  it('refuses a date outside its era or off the calendar, naming the field and rule', () => {
    for (const raw of NOT_DATES) {
      const r = recordFromFlat(
        { insurer_number: '06138093', number: '1', family_kana: 'ヤマダ', birth_date: raw, sex: '1' },
        DEFAULT_RULES,
      );
      expect(r.ok, raw).toBe(false);
      if (!r.ok) expect(r.issues.map((i) => [i.expression, i.rule])).toEqual([['birth_date', 'record.birth-date']]);
    }
  });
  it('reads the validity period in the same forms', () => {
    const r = recordFromFlat(
      {
        insurer_number: '06138093',
        number: '1',
        family_kana: 'ヤマダ',
        birth_date: 'S55.4.1',
        sex: '1',
        valid_from: '令和8年4月1日',
        valid_to: 'R9.3.31',
      },
      DEFAULT_RULES,
    );
    expect(r.ok && [r.record.validFrom, r.record.validTo]).toEqual(['2026-04-01', '2027-03-31']);
  });
});
