/**
 * The registrar's use of the match engine (registry/matching.ts): which candidates hold a
 * record, which records of a batch must wait for an earlier one, and the review reason that
 * bench/registry.ts reads the weight back from.
 */
import { describe, expect, it } from 'vitest';
import { ID_SYSTEMS } from '../../../src/core/systems.ts';
import {
  alikeInScreen,
  asksMatchEngine,
  heavyCandidates,
  matchQuery,
  matchReviewReason,
  sharesAName,
} from '../../../src/registry/matching.ts';
import { patientFromRecord } from '../../../src/registry/patient.ts';
import type { MatchCandidate } from '../../../src/registry/matching.ts';
import type { RegistrationRecord } from '../../../src/registry/record.ts';

const cand = (patientId: string, weight: number, grade: MatchCandidate['grade'] = 'probable'): MatchCandidate => ({
  patientId,
  grade,
  weight,
  identifiers: [],
});

const record = (o: Partial<RegistrationRecord> = {}): RegistrationRecord =>
  ({
    record: 'r1',
    familyKana: 'サトウ',
    givenKana: 'ユウキ',
    birthDate: '1990-05-05',
    gender: 'female',
    provisional: false,
    myNumber: '123456789018',
    ...o,
  }) as RegistrationRecord;

describe('the registrar and the match engine', () => {
  it('holds on candidates at or above the threshold only, best first as the engine ranked them', () => {
    const cs = [cand('a', 30.5), cand('b', 21), cand('c', 20.99, 'possible'), cand('d', 8.01, 'possible')];
    expect(heavyCandidates(cs, 21).map((c) => c.patientId)).toEqual(['a', 'b']);
    expect(heavyCandidates(cs, 31)).toEqual([]);
  });

  it('sends a batch record the per-record way when it is like a registered person or an earlier record of its batch', () => {
    expect(alikeInScreen({ candidates: [cand('a', 22)], earlier: [] }, 21)).toBe(true);
    expect(alikeInScreen({ candidates: [], earlier: [cand('3', 25)] }, 21)).toBe(true);
    // A household member (held at the foot of possible) and a weak namesake do not hold it.
    expect(alikeInScreen({ candidates: [cand('a', 8.01, 'possible')], earlier: [cand('3', 12, 'possible')] }, 21)).toBe(false);
    expect(alikeInScreen({ candidates: [], earlier: [] }, 21)).toBe(false);
  });

  it('asks about named records; a provisional name is left to the exact rule', () => {
    expect(asksMatchEngine(record())).toBe(true);
    expect(asksMatchEngine(record({ provisional: true, givenKana: undefined }))).toBe(false);
  });

  it('queries with My Number only when asked to (the screen reads no identifiers)', () => {
    const systems = (p: ReturnType<typeof matchQuery>) => (p.identifier ?? []).map((i) => i.system);
    expect(systems(matchQuery(record(), { myNumber: true }))).toContain(ID_SYSTEMS.myNumber);
    expect(systems(matchQuery(record(), { myNumber: false }))).not.toContain(ID_SYSTEMS.myNumber);
  });

  it('names the best weight in the review reason, in a form the benchmark reads back', () => {
    expect(matchReviewReason(cand('a', 32.346), 1)).toMatch(/a registered person like this record \(best: probable, 32\.35 bits\)/);
    expect(matchReviewReason(cand('a', 25), 3)).toMatch(/3 registered persons like this record \(best: probable, 25\.00 bits\)/);
  });

  it('needs the engine only when the record shares no current name with the person in a script', () => {
    const yuki = patientFromRecord(record({ familyKanji: '佐藤', givenKanji: '優希' }));
    expect(sharesAName(record({ familyKanji: '佐藤', givenKanji: '優希' }), yuki)).toBe(true);
    // Married: the family name changed, the given name is hers.
    expect(sharesAName(record({ familyKana: 'タナカ', familyKanji: '田中', givenKanji: '優希' }), yuki)).toBe(true);
    // No kanji on the record: the kana decide.
    expect(sharesAName(record({ givenKana: 'ユキ' }), yuki)).toBe(true);
    // Another person's names, in kana or in kanji.
    expect(sharesAName(record({ familyKana: 'タナカ', givenKana: 'ハナコ' }), yuki)).toBe(false);
    expect(sharesAName(record({ familyKanji: '田中', givenKanji: '花子' }), yuki)).toBe(false);
    // A person with no current name in either script (only former ones): nothing contradicts.
    const renamed = { ...yuki, name: (yuki.name ?? []).map((n) => ({ ...n, use: 'old' as const })) };
    expect(sharesAName(record(), renamed)).toBe(true);
  });
});
