/** Field comparisons, frequency-aware weights and the EM estimate. */
import type { Patient } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { compare, jaroWinkler } from '../../../src/mpi/compare.ts';
import { estimateM, estimateU } from '../../../src/mpi/estimate.ts';
import { blockingKeys, featuresOf } from '../../../src/mpi/features.ts';
import { DEFAULT_WEIGHTS, fieldWeights, posterior } from '../../../src/mpi/weights.ts';
import { NAME_REPRESENTATION } from '../../../src/core/systems.ts';

const person = (o: {
  kana?: [string, string];
  kanji?: [string, string];
  birthDate?: string;
  gender?: Patient['gender'];
  phone?: string;
  postal?: string;
  address?: string;
}): Patient => ({
  resourceType: 'Patient',
  name: [
    ...(o.kanji ? [{ extension: [{ url: NAME_REPRESENTATION, valueCode: 'IDE' }], family: o.kanji[0], given: [o.kanji[1]] }] : []),
    ...(o.kana ? [{ extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], family: o.kana[0], given: [o.kana[1]] }] : []),
  ],
  birthDate: o.birthDate,
  gender: o.gender,
  ...(o.phone ? { telecom: [{ system: 'phone' as const, value: o.phone }] } : {}),
  ...(o.postal || o.address ? { address: [{ postalCode: o.postal, text: o.address }] } : {}),
});

describe('features', () => {
  it('reads kana and kanji names by representation, or by script when unmarked, and a name given as text', () => {
    const f = featuresOf({ resourceType: 'Patient', name: [{ text: '山田　太郎' }, { text: 'やまだ たろう' }], birthDate: '1980-04-01' });
    expect(f).toMatchObject({ familyKanji: '山田', givenKanji: '太郎', familyKana: 'ヤマダ', givenKana: 'タロ', birthDate: '1980-04-01' });
  });
  it('blocks on loose kana + birth year-month, given + birth date, family + month-day + sex, kanji name + year, and phone', () => {
    const keys = blockingKeys(
      featuresOf(
        person({ kana: ['ヤマダ', 'タロウ'], kanji: ['山田', '太郎'], birthDate: '1980-04-01', gender: 'male', phone: '090-1234-5678' }),
      ),
    );
    expect(keys).toEqual(['f:ヤマタ|1980-04', 'fd:ヤマタ|04-01|male', 'g:タロ|1980-04-01', 'k:山田太郎|1980', 'p:09012345678']);
  });
});

describe('comparison levels', () => {
  const base = {
    kana: ['ヤマダ', 'タロウ'] as [string, string],
    kanji: ['山田', '太郎'] as [string, string],
    birthDate: '1980-04-03',
    gender: 'male' as const,
  };
  const cmp = (a: Parameters<typeof person>[0], b: Parameters<typeof person>[0]) => compare(featuresOf(person(a)), featuresOf(person(b)));
  it('grades birth dates: exact, day/month swapped, one digit, disagree', () => {
    expect(cmp(base, base).birthDate).toBe('exact');
    expect(cmp(base, { ...base, birthDate: '1980-03-04' }).birthDate).toBe('swapped');
    expect(cmp(base, { ...base, birthDate: '1981-04-03' }).birthDate).toBe('one-digit');
    expect(cmp(base, { ...base, birthDate: '1975-09-21' }).birthDate).toBe('disagree');
  });
  it('grades kana: exact after folding, loose (voicing), similar, disagree', () => {
    expect(cmp(base, { ...base, kana: ['やまだ', 'たろー'] }).familyKana).toBe('exact');
    expect(cmp(base, { ...base, kana: ['ヤマタ', 'タロウ'] }).familyKana).toBe('loose');
    expect(cmp({ ...base, kana: ['タカハシ', 'タロウ'] }, { ...base, kana: ['タカハツ', 'タロウ'] }).familyKana).toBe('similar');
    expect(cmp(base, { ...base, kana: ['スズキ', 'タロウ'] }).familyKana).toBe('disagree');
  });
  it('recognizes family and given swapped', () => {
    const c = cmp({ ...base, kana: ['タロウ', 'ヤマダ'], kanji: ['太郎', '山田'] }, base);
    expect([c.familyKana, c.givenKana, c.familyKanji, c.givenKanji]).toEqual(['exact', 'exact', 'exact', 'exact']);
  });
  it('jaro-winkler is 1 for equal strings and lower for different ones', () => {
    expect(jaroWinkler('ヤマダ', 'ヤマダ')).toBe(1);
    expect(jaroWinkler('ヤマザキ', 'ヤマサキ')).toBeGreaterThan(0.85);
    expect(jaroWinkler('スズキ', 'ヤマダ')).toBeLessThan(0.5);
  });
});

describe('weights', () => {
  it('weighs agreement on a common surname far less than on a rare one', () => {
    const w = { ...DEFAULT_WEIGHTS, persons: 1_000_000 };
    const c = compare(featuresOf(person({ kana: ['サトウ', 'ハナコ'] })), featuresOf(person({ kana: ['サトウ', 'ハナコ'] })));
    const common = fieldWeights(c, w, { familyKana: 15_000 }).find((f) => f.field === 'familyKana')?.weight ?? 0;
    const rare = fieldWeights(c, w, { familyKana: 40 }).find((f) => f.field === 'familyKana')?.weight ?? 0;
    expect(rare - common).toBeGreaterThan(8);
  });
  it('gives missing fields no weight and disagreement a negative one', () => {
    const c = compare(
      featuresOf(person({ kana: ['サトウ', 'ハナコ'], birthDate: '1980-01-01' })),
      featuresOf(person({ kana: ['サトウ', 'ユミ'] })),
    );
    const fw = fieldWeights(c, DEFAULT_WEIGHTS);
    expect(fw.find((f) => f.field === 'birthDate')).toMatchObject({ level: 'missing', weight: 0 });
    expect(fw.find((f) => f.field === 'givenKana')?.weight).toBeLessThan(0);
  });
  it('turns weight into a posterior between 0 and 1, increasing', () => {
    expect(posterior(0, 0.5)).toBeCloseTo(0.5);
    expect(posterior(40, 0.01)).toBeGreaterThan(0.999);
    expect(posterior(-10, 0.01)).toBeLessThan(0.001);
  });
});

describe('estimation', () => {
  it('recovers m and the share of matches from blocked pairs by EM, with u from random pairs', () => {
    const level = (p: number, r: number): 'exact' | 'disagree' => (r < p ? 'exact' : 'disagree');
    let seed = 42;
    const rnd = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const vec = (same: boolean) =>
      ({
        familyKana: level(same ? 0.95 : 0.05, rnd()),
        givenKana: level(same ? 0.9 : 0.02, rnd()),
        familyKanji: level(same ? 0.9 : 0.05, rnd()),
        givenKanji: level(same ? 0.9 : 0.02, rnd()),
        birthDate: level(same ? 0.97 : 0.01, rnd()),
        sex: 'missing',
        postalCode: 'missing',
        address: 'missing',
        phone: 'missing',
      }) as const;
    const random = Array.from({ length: 5000 }, () => vec(false));
    const blocked = Array.from({ length: 5000 }, (_v, i) => vec(i % 5 === 0));
    const u = estimateU(random);
    const em = estimateM(blocked, u, { m: DEFAULT_WEIGHTS.m, prior: 0.01 });
    expect(em.prior).toBeGreaterThan(0.15);
    expect(em.prior).toBeLessThan(0.25);
    expect(em.m.birthDate.exact).toBeGreaterThan(0.9);
    expect(u.birthDate.exact).toBeLessThan(0.03);
  });
});
