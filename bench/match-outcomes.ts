/**
 * The labelled `$match` results `bench:match` writes (bench/results/match-outcomes-<persons>-<seed>.json)
 * and `bench:match-refit` reads, and the one rule both use to grade a result under other thresholds.
 */
export interface MatchResult {
  id: string;
  grade: string;
  weight: number;
  score: number;
  byIdentifier: boolean;
  /** A rule kept the result below probable whatever its weight. */
  held: boolean;
  /** The explanation's rows: field or evidence row → weight in bits. */
  fields?: Record<string, number>;
}

export interface MatchOutcome<K extends string = string> {
  kind: K;
  truth: string | null | undefined;
  /** In the order returned. */
  results: MatchResult[];
}

/** The grade a result would get at these thresholds: identifier evidence keeps the server's grade; a hold caps at possible. */
export function gradeAt(r: MatchResult, t: { certain: number; probable: number }): string {
  if (r.byIdentifier) return r.grade;
  if (r.held) return 'possible';
  return r.weight >= t.certain ? 'certain' : r.weight >= t.probable ? 'probable' : 'possible';
}

export const STRONG_GRADES: ReadonlySet<string> = new Set(['certain', 'probable']);
