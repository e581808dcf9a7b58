/** Facts counted once (a name in two scripts, one home, one household) and the rules that hold family members and namesakes below probable. */
import type { Patient } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { compare } from '../../../src/mpi/compare.ts';
import { evidenceRows, heldBelowProbable, HOUSEHOLD_CAP_BITS, IDENTIFIER_BITS } from '../../../src/mpi/evidence.ts';
import { featuresOf } from '../../../src/mpi/features.ts';
import { calibratedScore, DEFAULT_WEIGHTS, fieldWeights, SCORE_CURVE } from '../../../src/mpi/weights.ts';
import { NAME_REPRESENTATION } from '../../../src/core/systems.ts';

interface Who {
  kana: [string, string];
  kanji: [string, string];
  birthDate: string;
  gender: Patient['gender'];
  phone?: string;
  postal?: string;
  address?: string;
}
const patient = (o: Who): Patient => ({
  resourceType: 'Patient',
  name: [
    { extension: [{ url: NAME_REPRESENTATION, valueCode: 'IDE' }], family: o.kanji[0], given: [o.kanji[1]] },
    { extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], family: o.kana[0], given: [o.kana[1]] },
  ],
  birthDate: o.birthDate,
  gender: o.gender,
  ...(o.phone ? { telecom: [{ system: 'phone' as const, value: o.phone }] } : {}),
  ...(o.postal || o.address ? { address: [{ postalCode: o.postal, text: o.address }] } : {}),
});

const home = { phone: '03-1234-5678', postal: '1000001', address: '東京都千代田区千代田1-1' };
const father: Who = { kana: ['マツモト', 'シゲル'], kanji: ['松本', '茂'], birthDate: '1950-06-01', gender: 'male', ...home };
const daughter: Who = { kana: ['マツモト', 'ハナコ'], kanji: ['松本', '花子'], birthDate: '1982-09-14', gender: 'female', ...home };

/** Weights as `medid mpi estimate` leaves them for a registry of a million, where 松本 is one person in 2,000. */
const ESTIMATED = { ...DEFAULT_WEIGHTS, persons: 1_000_000 };
const COUNTS = { familyKana: 500, familyKanji: 500, givenKana: 3_000, givenKanji: 2_000 };

function score(q: Who, c: Who, identifier = false) {
  const cmp = compare(featuresOf(patient(q)), featuresOf(patient(c)));
  const fields = fieldWeights(cmp, ESTIMATED, COUNTS);
  const rows = evidenceRows(fields, identifier);
  return { cmp, fields, rows, total: [...fields, ...rows].reduce((s, f) => s + f.weight, 0) };
}

describe('evidence counted once', () => {
  it('a name agreeing in kana and kanji weighs the stronger script plus one bit, not both', () => {
    const { fields, rows } = score(father, father);
    const kana = fields.find((f) => f.field === 'familyKana')?.weight ?? 0;
    const kanji = fields.find((f) => f.field === 'familyKanji')?.weight ?? 0;
    const fix = rows.find((r) => r.field === 'familyName')?.weight ?? 0;
    expect(kana + kanji + fix).toBeCloseTo(Math.max(kana, kanji) + 1, 6);
  });
  it('postal code, address and phone agreeing count as one home (the strongest, plus a bit for each other)', () => {
    const { fields, rows } = score(father, father);
    const contact = ['postalCode', 'address', 'phone'].map((f) => fields.find((x) => x.field === f)?.weight ?? 0);
    const fix = rows.find((r) => r.field === 'contact')?.weight ?? 0;
    expect(contact.reduce((s, w) => s + w, 0) + fix).toBeCloseTo(Math.max(...contact) + 2, 6);
  });
  it('family name and home together weigh at most the household cap, and the explanation says so', () => {
    const { rows } = score(daughter, father);
    const household = rows.find((r) => r.field === 'household');
    expect(household?.level).toBe('capped');
    expect(household?.weight).toBeLessThan(0);
    const { fields, rows: all } = score(daughter, father);
    const familyAndHome = [...fields, ...all]
      .filter((f) =>
        ['familyKana', 'familyKanji', 'postalCode', 'address', 'phone', 'familyName', 'contact', 'household'].includes(f.field),
      )
      .reduce((s, f) => s + f.weight, 0);
    expect(familyAndHome).toBeCloseTo(HOUSEHOLD_CAP_BITS, 6);
  });
  it('the issue’s daughter against her registered father: below zero, where independent fields made her a candidate (≥ 8 bits)', () => {
    const { fields, total } = score(daughter, father);
    expect(fields.reduce((s, f) => s + f.weight, 0)).toBeGreaterThanOrEqual(8);
    expect(total).toBeLessThan(0);
  });
  it('an agreeing identifier is a row of its own', () => {
    expect(score(father, father, true).rows.find((r) => r.field === 'identifier')?.weight).toBe(IDENTIFIER_BITS);
    expect(score(father, father, false).rows.some((r) => r.field === 'identifier')).toBe(false);
  });
});

describe('one name in two scripts', () => {
  it('a kana slip under agreeing kanji costs at most 3 bits; kanji that differ under one reading keep their whole weight', () => {
    const slip = score({ ...father, kana: ['マツモト', 'シゲヌ'] }, father);
    expect(slip.cmp.givenKana).toBe('disagree');
    const given = (r: typeof slip) =>
      [...r.fields, ...r.rows].filter((f) => ['givenKana', 'givenKanji', 'givenName'].includes(f.field)).reduce((s, f) => s + f.weight, 0);
    const kanji = slip.fields.find((f) => f.field === 'givenKanji')?.weight ?? 0;
    expect(given(slip)).toBeCloseTo(kanji - 3, 6);
    const otherKanji = score({ ...father, kanji: ['松本', '繁'] }, father);
    expect(otherKanji.cmp.givenKanji).toBe('disagree');
    const raw = otherKanji.fields.filter((f) => f.field === 'givenKana' || f.field === 'givenKanji').reduce((s, f) => s + f.weight, 0);
    expect(given(otherKanji)).toBeCloseTo(raw, 6);
  });
});

describe('the score', () => {
  it('rises with the total weight, is 0.5 at the curve’s midpoint, and stays in (0, 1)', () => {
    const ws = [-40, -10, 0, 8, 15, 19.3, 20, 25, 40, 80];
    const scores = ws.map(calibratedScore);
    expect(scores).toEqual([...scores].sort((a, b) => a - b));
    expect(calibratedScore(SCORE_CURVE.midpoint)).toBeCloseTo(0.5, 9);
    for (const s of scores) expect(s >= 0 && s <= 1).toBe(true);
  });
});

describe('held below probable without an identifier', () => {
  it('a given name that disagrees in every script given: a family member', () => {
    expect(heldBelowProbable(score(daughter, father).cmp)?.reason).toMatch(/given name disagrees/);
    const twin: Who = { ...father, kana: ['マツモト', 'タカシ'], kanji: ['松本', '隆'] };
    expect(heldBelowProbable(score(twin, father).cmp)?.reason).toMatch(/given name disagrees/);
  });
  it('not when one script still agrees (a typo in the kana)', () => {
    const typo: Who = { ...father, kana: ['マツモト', 'ヌケル'] };
    expect(score(typo, father).cmp.givenKana).toBe('disagree');
    expect(heldBelowProbable(score(typo, father).cmp)?.reason).toBeUndefined();
  });
  it('a birth date that disagrees outright with no contact data agreeing: a namesake', () => {
    const namesake: Who = { ...father, birthDate: '1961-11-23', phone: undefined, postal: undefined, address: undefined };
    expect(heldBelowProbable(score(namesake, father).cmp)?.reason).toMatch(/birth date disagrees/);
  });
  it('with an agreeing identifier only the family-member rule holds: a mistyped birth date on one’s own card is still oneself', () => {
    const namesake: Who = { ...father, birthDate: '1961-11-23', phone: undefined, postal: undefined, address: undefined };
    expect(heldBelowProbable(score(namesake, father).cmp, true)?.reason).toBeUndefined();
    expect(heldBelowProbable(score(daughter, father).cmp, true)?.reason).toMatch(/given name disagrees/);
  });
  it('not for a day/month swap or one wrong digit, nor when the home agrees', () => {
    expect(heldBelowProbable(score({ ...father, birthDate: '1950-01-06' }, father).cmp)?.reason).toBeUndefined();
    expect(heldBelowProbable(score({ ...father, birthDate: '1950-06-02' }, father).cmp)?.reason).toBeUndefined();
    expect(heldBelowProbable(score({ ...father, birthDate: '1961-11-23' }, father).cmp)?.reason).toBeUndefined();
  });
});

describe('a family name the person no longer uses (married and moved, no identifier)', () => {
  // 松本花子 married and became 高橋花子; the registry kept 松本 as `use: old` when the insurer
  // registered the change. A clinic that knew her before types 松本, with no card and no home.
  const married: Who = { ...daughter, kana: ['タカハシ', 'ハナコ'], kanji: ['高橋', '花子'] };
  const withFormer = (p: Patient, kana: string, kanji: string): Patient => ({
    ...p,
    name: [
      ...(p.name ?? []),
      { use: 'old', extension: [{ url: NAME_REPRESENTATION, valueCode: 'IDE' }], family: kanji, given: ['花子'] },
      { use: 'old', extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], family: kana, given: ['ハナコ'] },
    ],
  });
  const registered = withFormer(patient(married), 'マツモト', '松本');
  const noContact = (w: Who): Who => ({ ...w, phone: undefined, postal: undefined, address: undefined });
  const total = (q: Patient, c: Patient) => {
    const cmp = compare(featuresOf(q), featuresOf(c));
    const fields = fieldWeights(cmp, ESTIMATED, COUNTS);
    return { cmp, total: [...fields, ...evidenceRows(fields, false)].reduce((s, f) => s + f.weight, 0) };
  };

  it('the features keep former family names in both scripts, without the current one', () => {
    expect(featuresOf(registered)).toMatchObject({ formerFamilyKana: ['マツモト'], formerFamilyKanji: ['松本'], familyKana: 'タカハシ' });
    expect(featuresOf(patient(married)).formerFamilyKana).toBeUndefined();
  });
  it('the maiden name typed at the desk agrees with the registry’s former name: level former, in both scripts', () => {
    const { cmp } = total(patient(noContact(daughter)), registered);
    expect([cmp.familyKana, cmp.familyKanji]).toEqual(['former', 'former']);
  });
  it('and lifts her by more than 10 bits, clear of probable (21), where without the history she sits at its edge', () => {
    const q = patient(noContact(daughter));
    const without = total(q, patient(married)).total;
    const withHistory = total(q, registered).total;
    expect(without).toBeLessThan(23);
    expect(withHistory - without).toBeGreaterThan(10);
    expect(withHistory).toBeGreaterThan(30);
  });
  it('works the other way round: the query names her former name as use: old, the registry has only the new one', () => {
    const q = withFormer(patient(noContact(married)), 'マツモト', '松本');
    const c = patient({ ...daughter });
    expect(total(q, c).cmp.familyKana).toBe('former');
  });
  it('a current name that agrees is exact, not former; another name altogether still disagrees', () => {
    expect(total(patient(married), registered).cmp.familyKana).toBe('exact');
    const other: Who = { ...daughter, kana: ['スズキ', 'ハナコ'], kanji: ['鈴木', '花子'] };
    expect(total(patient(other), registered).cmp.familyKana).toBe('disagree');
  });
  it('a former name weighs less than the same name agreeing now', () => {
    const w = (level: 'exact' | 'former') =>
      fieldWeights({ ...compare(featuresOf(registered), featuresOf(registered)), familyKana: level }, DEFAULT_WEIGHTS).find(
        (f) => f.field === 'familyKana',
      )?.weight ?? 0;
    expect(w('former')).toBeGreaterThan(0);
    expect(w('former')).toBeLessThan(w('exact'));
  });
  it('weighs about 3 bits less than the same name agreeing now, common or rare, under the registry’s counts', () => {
    for (const count of [15_000, 500, 1]) {
      const counts = { ...COUNTS, familyKana: count, familyKanji: count };
      const w = (level: 'exact' | 'former') =>
        fieldWeights(
          { ...compare(featuresOf(registered), featuresOf(registered)), familyKana: level, familyKanji: level },
          ESTIMATED,
          counts,
        )
          .filter((f) => f.field === 'familyKana' || f.field === 'familyKanji')
          .map((f) => f.weight);
      const [exactKana = 0, exactKanji = 0] = w('exact');
      const [formerKana = 0, formerKanji = 0] = w('former');
      expect(exactKana - formerKana, String(count)).toBeCloseTo(Math.log2((0.81 / 0.03) * 0.3), 1);
      expect(exactKanji - formerKanji, String(count)).toBeGreaterThan(2);
    }
  });
  it('counts at most three former names per script, so a query listing many cannot agree with everyone', () => {
    const many: Patient = {
      ...patient(noContact(daughter)),
      name: [
        ...(patient(noContact(daughter)).name ?? []),
        ...['アベ', 'イトウ', 'ウエダ', 'エンドウ', 'オオノ'].map((family) => ({
          use: 'old' as const,
          extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }],
          family,
          given: ['ハナコ'],
        })),
      ],
    };
    expect(featuresOf(many).formerFamilyKana).toHaveLength(3);
  });
  it('is taken over a merely similar current name: an exact former name says more', () => {
    // タカハラ against the current タカハシ is only similar; against her former タカハラ it agrees.
    const q = patient({ ...noContact(daughter), kana: ['タカハラ', 'ハナコ'], kanji: ['高原', '花子'] });
    const c = withFormer(patient(married), 'タカハラ', '高原');
    expect(compare(featuresOf(q), featuresOf(patient(married))).familyKana).toBe('similar');
    expect(total(q, c).cmp.familyKana).toBe('former');
  });
  it('keeps its default weight under an estimate: EM sees too few former names among blocked pairs to weigh them', () => {
    const cmp = { ...compare(featuresOf(registered), featuresOf(registered)), familyKana: 'former' as const };
    const estimated = { ...DEFAULT_WEIGHTS, m: { ...DEFAULT_WEIGHTS.m, familyKana: { ...DEFAULT_WEIGHTS.m.familyKana, former: 1e-7 } } };
    const w = (weights: typeof DEFAULT_WEIGHTS) => fieldWeights(cmp, weights).find((f) => f.field === 'familyKana')?.weight;
    expect(w(estimated)).toBe(w(DEFAULT_WEIGHTS));
  });
});
