/**
 * The weights $match scores with: the newest estimate in mpi.weights (written by
 * `medid mpi estimate`), re-read at most once a minute, or the defaults when none exists yet.
 */
import { latestWeights } from '../store/mpi.ts';
import type { Db } from '../store/db.ts';
import { DEFAULT_WEIGHTS } from './weights.ts';
import type { Weights } from './weights.ts';

const TTL_MS = 60_000;

export class WeightsStore {
  private cached: { weights: Weights; at: number } | undefined;
  private loading: Promise<Weights> | undefined;

  /** The weights, read on `db` (the caller's connection or transaction) when the cache is stale. */
  async get(db: Db): Promise<Weights> {
    if (this.cached && Date.now() - this.cached.at < TTL_MS) return this.cached.weights;
    this.loading ??= (async () => {
      try {
        const row = await latestWeights(db);
        const weights = row
          ? { ...DEFAULT_WEIGHTS, ...(row.weights as Partial<Weights>), source: row.estimatedAt.toISOString() }
          : DEFAULT_WEIGHTS;
        this.cached = { weights, at: Date.now() };
        return weights;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}
