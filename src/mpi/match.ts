/**
 * The matcher behind Patient/$match: deterministic evidence (medical ID, insured numbers current
 * or past, My Number by its MAC, public-payer and facility-local ids) and Fellegi–Sunter scoring
 * of candidates from the blocking keys. Each result says which fields agreed, disagreed or were
 * missing and what each weighed, so a person at the desk can see why.
 *
 * The total weight counts each fact once (mpi/evidence.ts: a name in two scripts, one home,
 * one household) and an agreeing identifier as a field of its own. Grades (thresholds in bits of
 * total weight, configurable):
 * - certain: an identifier agrees and the demographics do not contradict it; or, without an
 *   identifier, a total weight ≥ `certain` with the birth date exact;
 * - probable / possible: total weight ≥ `probable` / ≥ `possible`; without an identifier, a
 *   given name that disagrees or a birth date that disagrees with no contact data agreeing
 *   holds a candidate at possible (a family member, a namesake);
 * - an identifier that agrees with contradicting demographics (another birth date, another sex,
 *   no name in common) is never certain: it is graded by its weight, at best probable.
 * Results are ranked certain first, then by total weight — the score, a calibrated probability,
 * rises with it — then identifier evidence first, then by id, so both databases give one order.
 */
import type { Patient } from '@medplum/fhirtypes';
import { errors } from '../core/outcome.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import { parseMyNumber } from '../identifiers/my-number.ts';
import type { UnitOfWork } from '../repo/unit-of-work.ts';
import type { Db } from '../store/db.ts';
import { blockedCandidates, blockedCandidatesMany, patientsByIdentifiers, VALUE_COUNT_FIELDS } from '../store/mpi.ts';
import type { CandidateRow } from '../store/mpi.ts';
import { compare, namesSwapped } from './compare.ts';
import type { Comparison } from './compare.ts';
import { evidenceRows, heldBelowProbable } from './evidence.ts';
import { blockingKeys, featuresOf } from './features.ts';
import type { MatchFeatures } from './features.ts';
import { calibratedScore, fieldWeights } from './weights.ts';
import type { FieldWeight, ValueCounts, Weights } from './weights.ts';

export type MatchGrade = 'certain' | 'probable' | 'possible';

export interface MatchThresholds {
  certain: number;
  probable: number;
  possible: number;
}

export interface MatchResult {
  patientId: string;
  grade: MatchGrade;
  score: number;
  weight: number;
  fields: FieldWeight[];
  /** Identifier systems that agreed (deterministic evidence). */
  identifiers: string[];
  notes: string[];
}

export interface MatchOutcome {
  results: MatchResult[];
  /** Blocking keys too common to use, said so rather than silently dropped. */
  oversized: { key: string; size: number }[];
  /** onlyCertainMatches withheld an answer: why. */
  withheld?: string;
}

export interface MatcherDeps {
  /** The keyed MAC of 12 validated My Number digits (privacy/my-number, passed in). */
  myNumberMac: (digits: string) => Buffer;
  /** The weights in force, read (when not cached) on the caller's connection. */
  weights: (db: Db) => Promise<Weights>;
  thresholds: MatchThresholds;
  /** Blocks larger than this are not used (and reported). */
  blockLimit: number;
  normalizeIdentifier: (system: string, value: string) => string;
}

/** The demographics contradict an agreeing identifier. */
function contradiction(c: Comparison): string | undefined {
  if (c.birthDate !== 'exact' && c.birthDate !== 'missing')
    return `birth date ${c.birthDate === 'disagree' ? 'disagrees' : `differs (${c.birthDate})`}`;
  if (c.sex === 'disagree') return 'sex disagrees';
  // A former family name is no name in common now.
  const kanaNone = (c.familyKana === 'disagree' || c.familyKana === 'former') && c.givenKana === 'disagree';
  const kanjiNone = (c.familyKanji === 'disagree' || c.familyKanji === 'former') && c.givenKanji === 'disagree';
  if (kanaNone || kanjiNone) return 'no name in common';
  return undefined;
}

/** Each name field's frequency the weights need for the query's value, and for the swapped one (compare() may swap). */
function nameFrequencyPairs(q: MatchFeatures): [string, string][] {
  return (
    [
      ['familyKana', q.familyKana],
      ['familyKana', q.givenKana],
      ['givenKana', q.givenKana],
      ['givenKana', q.familyKana],
      ['familyKanji', q.familyKanji],
      ['familyKanji', q.givenKanji],
      ['givenKanji', q.givenKanji],
      ['givenKanji', q.familyKanji],
    ] as const
  ).flatMap(([field, v]) => (v === undefined ? [] : [[field, v] as [string, string]]));
}

export class Matcher {
  private readonly d: MatcherDeps;

  constructor(d: MatcherDeps) {
    this.d = d;
  }

  /** Identifiers of the query as indexed (system, normalized value), and My Number MACs. */
  private identifiersOf(p: Patient): { ids: { system: string; value: string }[]; macs: Buffer[] } {
    const ids: { system: string; value: string }[] = [];
    const macs: Buffer[] = [];
    (p.identifier ?? []).forEach((id, i) => {
      if (!id.system || !id.value) return;
      if (id.system === ID_SYSTEMS.myNumber) {
        const mn = parseMyNumber(id.value);
        if (!mn.ok)
          throw errors.badRequest(`Patient.identifier[${i}]: ${mn.message}`, 'invalid-identifier', `Patient.identifier[${i}].value`);
        macs.push(this.d.myNumberMac(mn.value));
      } else {
        ids.push({ system: id.system, value: this.d.normalizeIdentifier(id.system, id.value) });
      }
    });
    return { ids, macs };
  }

  /**
   * For registration (registry/registrar.ts, wired in app.ts): each Patient's candidates from
   * the blocking index, graded and ranked as `match` grades them, for many Patients in one round
   * trip; and each one against the batch's earlier records that share a blocking key with it
   * (`earlier`, by position), which the index cannot show until the batch is written.
   * Identifiers are not consulted: the registrar has already found whoever a number names.
   * Blocks over the limit are skipped, as `match` skips them.
   */
  async screen(uow: UnitOfWork, patients: readonly Patient[]): Promise<{ results: MatchResult[]; earlier: MatchResult[] }[]> {
    const qs = patients.map((p) => featuresOf(p));
    const keyed = qs.map((q, i) => ({ i, keys: [...new Set([...blockingKeys(q), ...blockingKeys(q, true)])] }));
    const names = new Map<string, [string, string]>();
    for (const q of qs) for (const n of nameFrequencyPairs(q)) names.set(`${n[0]}|${n[1]}`, n);
    const found = await blockedCandidatesMany(uow.db, keyed, this.d.blockLimit, [...names.values()]);
    const w = await this.d.weights(uow.db);
    const none = new Map<string, string[]>();
    // The batch's own earlier records, under the keys they will be stored with: scored as
    // candidates too (their patientId is their position in the batch).
    const byKey = new Map<string, number[]>();
    return qs.map((q, i) => {
      const earlier = new Set<number>();
      for (const k of keyed[i].keys) for (const j of byKey.get(k) ?? []) earlier.add(j);
      for (const k of blockingKeys(q)) byKey.set(k, [...(byKey.get(k) ?? []), i]);
      return {
        results: this.scored(q, found.candidates.get(i) ?? [], found.counts, none, w),
        earlier: this.scored(
          q,
          [...earlier].map((j) => ({ patientId: String(j), features: qs[j] })),
          found.counts,
          none,
          w,
        ),
      };
    });
  }

  /** Scores and grades candidates against a query, best first (see the file's comment for the rules). */
  private scored(
    q: MatchFeatures,
    candidates: readonly CandidateRow[],
    allCounts: Record<string, number>,
    idSystems: ReadonlyMap<string, string[]>,
    w: Weights,
  ): MatchResult[] {
    const t = this.d.thresholds;
    const results: MatchResult[] = [];
    for (const cand of candidates) {
      const c = cand.features as MatchFeatures;
      const cmp = compare(q, c);
      const counts: ValueCounts = {};
      for (const field of VALUE_COUNT_FIELDS) {
        const v = c[field];
        if (v !== undefined) counts[field] = allCounts[`${field}|${v}`];
      }
      const agreeing = idSystems.get(cand.patientId) ?? [];
      const perField = fieldWeights(cmp, w, counts);
      const fields = [...perField, ...evidenceRows(perField, agreeing.length > 0)];
      let weight = fields.reduce((s, f) => s + f.weight, 0);
      const notes: string[] = [];
      let grade: MatchGrade | undefined =
        weight >= t.certain ? 'certain' : weight >= t.probable ? 'probable' : weight >= t.possible ? 'possible' : undefined;
      const why = agreeing.length > 0 ? contradiction(cmp) : undefined;
      if (agreeing.length > 0 && why === undefined) {
        grade = 'certain';
      } else {
        if (why !== undefined) {
          notes.push(`an identifier agrees, but ${why}: not certain`);
          grade = weight >= t.probable ? 'probable' : 'possible';
        } else if (grade === 'certain' && cmp.birthDate !== 'exact') {
          grade = 'probable';
        }
        const held = heldBelowProbable(cmp, agreeing.length > 0);
        if (held && weight >= t.probable) {
          // Held in the weight itself, at the foot of the possible band, so rank, grade and score
          // say the same thing: such candidates were almost never the person in the benchmark.
          notes.push(`held below probable: ${held.reason}`);
          const cut = t.possible + 0.01 - weight;
          fields.push({ field: 'held', level: held.level, weight: cut });
          weight += cut;
          grade = weight >= t.possible ? 'possible' : undefined;
        }
      }
      if (namesSwapped(q, c)) notes.push('family and given names were swapped on the query');
      if (grade === undefined) continue;
      const rounded = Math.round(weight * 100) / 100;
      // An identifier agreeing with consistent demographics was the person in every labelled case.
      const score = grade === 'certain' && agreeing.length > 0 ? Math.max(calibratedScore(rounded), 0.99) : calibratedScore(rounded);
      results.push({
        patientId: cand.patientId,
        grade,
        score: Math.round(score * 10_000) / 10_000,
        weight: rounded,
        fields,
        identifiers: agreeing,
        notes,
      });
    }
    results.sort(
      (a, b) =>
        Number(b.grade === 'certain') - Number(a.grade === 'certain') ||
        b.weight - a.weight ||
        Number(b.identifiers.length > 0) - Number(a.identifiers.length > 0) ||
        (a.patientId < b.patientId ? -1 : a.patientId > b.patientId ? 1 : 0),
    );
    return results;
  }

  /** Matches on the caller's unit of work (inside a transaction Bundle: its transaction). */
  async match(uow: UnitOfWork, p: Patient, o: { count: number; onlyCertain: boolean }): Promise<MatchOutcome> {
    const q = featuresOf(p);
    const { ids, macs } = this.identifiersOf(p);
    if (ids.length === 0 && macs.length === 0) {
      const missing = [
        ...(!q.familyKana && !q.familyKanji ? ['a family name (kana or kanji) in Patient.name'] : []),
        ...(!q.birthDate ? ['Patient.birthDate'] : []),
      ];
      if (missing.length > 0) {
        throw errors.badRequest(
          `$match needs an identifier, or a name with a birth date: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing`,
          'invalid-parameter',
          missing.includes('Patient.birthDate') ? 'Patient.birthDate' : 'Patient.name',
          'required',
        );
      }
    }
    const byId = await patientsByIdentifiers(uow.db, ids, macs);
    const idSystems = new Map<string, string[]>();
    for (const r of byId) idSystems.set(r.patientId, [...(idSystems.get(r.patientId) ?? []), r.system]);
    const keys = [...new Set([...blockingKeys(q), ...blockingKeys(q, true)])];
    const found = await blockedCandidates(uow.db, keys, [...idSystems.keys()], this.d.blockLimit, nameFrequencyPairs(q));
    const w = await this.d.weights(uow.db);
    const results = this.scored(q, found.candidates, found.counts, idSystems, w);
    if (o.onlyCertain) {
      const certain = results.filter((r) => r.grade === 'certain');
      if (found.oversized.length > 0)
        return {
          results: [],
          oversized: found.oversized,
          withheld: 'a blocking key was too common to search, so certainty cannot be claimed',
        };
      if (certain.length !== 1)
        return {
          results: [],
          oversized: [],
          withheld: certain.length === 0 ? 'no certain match' : `${certain.length} certain matches that may be different persons`,
        };
      return { results: certain, oversized: [] };
    }
    return { results: results.slice(0, o.count), oversized: found.oversized };
  }
}
