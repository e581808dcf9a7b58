/**
 * SQL for matching (migration 0005): features and blocking keys per Patient, candidate
 * retrieval by blocking key (with each key's size, so an oversized block is reported, never
 * silently cut), identifier lookups, value frequencies and estimated weights.
 */
import type { Db } from './db.ts';

/**
 * How match features are stored (mpi.features.features, jsonb): one short key per feature, so a
 * national registry's rows stay small (≈80 bytes a row less than the names; ~10 GB at 120
 * million persons). This map is the storage format's only definition: SQL here and in
 * coverages.ts reads these keys, and the matcher works with the names (mpi/features.ts).
 */
export const STORED_FEATURE_KEYS = {
  familyKana: 'fk',
  givenKana: 'gk',
  familyKanaLoose: 'fl',
  givenKanaLoose: 'gl',
  familyKanji: 'fj',
  givenKanji: 'gj',
  birthDate: 'b',
  sex: 's',
  postalCode: 'z',
  address: 'a',
  phones: 'p',
  formerFamilyKana: 'ok',
  formerFamilyKanji: 'oj',
  provisionalName: 'pn',
} as const;

export type FeatureName = keyof typeof STORED_FEATURE_KEYS;
export type StoredFeatures = Partial<Record<FeatureName, unknown>>;

function encodeFeatures(f: StoredFeatures): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(f)) if (v !== undefined) out[STORED_FEATURE_KEYS[name as FeatureName]] = v;
  return out;
}

/**
 * Stored form → names. Written out rather than looped: $match decodes every candidate of every
 * query (hundreds), and one object shape for all of them keeps scoring fast.
 */
function decodeFeatures(o: Record<string, unknown> | null): StoredFeatures {
  const f = o ?? {};
  return {
    familyKana: f['fk'],
    givenKana: f['gk'],
    familyKanaLoose: f['fl'],
    givenKanaLoose: f['gl'],
    familyKanji: f['fj'],
    givenKanji: f['gj'],
    birthDate: f['b'],
    sex: f['s'],
    postalCode: f['z'],
    address: f['a'],
    phones: f['p'],
    formerFamilyKana: f['ok'],
    formerFamilyKanji: f['oj'],
    provisionalName: f['pn'],
  } satisfies Record<FeatureName, unknown>;
}

/** The name features whose value frequencies are counted (mpi.value_count.field): frequency-aware name weights. */
export const VALUE_COUNT_FIELDS = ['familyKana', 'givenKana', 'familyKanji', 'givenKanji'] as const satisfies readonly FeatureName[];

export interface IndexedPatient {
  patientId: string;
  features: StoredFeatures;
  keys: string[];
}

/** Replaces the match rows of these patients; `removed` patients (deleted, merged away) lose theirs. */
export async function replaceMatchRows(db: Db, rows: readonly IndexedPatient[], removed: readonly string[] = []): Promise<void> {
  if (rows.length === 0 && removed.length === 0) return;
  // One statement whose parts touch disjoint rows (sub-statements share one snapshot, so a row
  // must not be deleted and re-inserted by the same statement): stale keys are deleted, new
  // keys inserted, features upserted, removed patients' rows deleted. The patients are an
  // array compared with `= ANY`, which the planner answers from the patient_id index whatever
  // its statistics; a join against a set-returning function (estimated at 100 rows) made it
  // scan all of mpi.block on every Patient write.
  const keys = rows.flatMap((r) => [...new Set(r.keys)].map((k) => ({ k, p: r.patientId })));
  await db.query(
    `WITH nk AS (SELECT * FROM unnest($3::text[], $4::text[]) AS u(k, p)),
          d1 AS (DELETE FROM mpi.block b WHERE b.patient_id = ANY($1::text[])
                 AND NOT EXISTS (SELECT 1 FROM nk WHERE nk.k = b.key AND nk.p = b.patient_id)),
          d2 AS (DELETE FROM mpi.features f WHERE f.patient_id = ANY($5::text[])),
          f AS (INSERT INTO mpi.features (patient_id, features)
                SELECT u.p, u.f FROM json_to_recordset($2::json) AS u(p text, f jsonb)
                ON CONFLICT (patient_id) DO UPDATE SET features = EXCLUDED.features)
     INSERT INTO mpi.block (key, patient_id) SELECT nk.k, nk.p FROM nk ON CONFLICT DO NOTHING`,
    [
      [...rows.map((r) => r.patientId), ...removed],
      JSON.stringify(rows.map((r) => ({ p: r.patientId, f: encodeFeatures(r.features) }))),
      keys.map((x) => x.k),
      keys.map((x) => x.p),
      [...removed],
    ],
    'mpi_replace_rows',
  );
}

export interface CandidateRow {
  patientId: string;
  features: StoredFeatures;
}

export interface BlockedCandidates {
  candidates: CandidateRow[];
  /** Keys over the limit, with their size: not used, and said so. */
  oversized: { key: string; size: number }[];
  /** How many persons carry each of the query's name values. */
  counts: Record<string, number>;
}

/**
 * Candidates under the blocking keys whose block holds at most `limit` patients, plus the
 * patients given by id (identifier evidence), in one round trip. `names` are [field, value]
 * pairs whose frequency the weights need.
 */
export async function blockedCandidates(
  db: Db,
  keys: readonly string[],
  ids: readonly string[],
  limit: number,
  names: readonly [string, string][],
): Promise<BlockedCandidates> {
  const { rows } = await db.query<{ kind: 'k' | 'c' | 'n'; key: string; n: number | null; features: Record<string, unknown> | null }>(
    `WITH k AS (SELECT key, count(*)::int AS n FROM mpi.block WHERE key = ANY($1::text[]) GROUP BY key),
          c AS (SELECT DISTINCT b.patient_id FROM mpi.block b JOIN k ON k.key = b.key AND k.n <= $3
                UNION SELECT unnest($2::text[]))
     SELECT 'k' AS kind, k.key, k.n, NULL::jsonb AS features FROM k WHERE k.n > $3
     UNION ALL SELECT 'c', c.patient_id, NULL, f.features FROM c JOIN mpi.features f ON f.patient_id = c.patient_id
     UNION ALL SELECT 'n', v.field || '|' || v.value, v.n, NULL FROM mpi.value_count v
       WHERE (v.field, v.value) IN (SELECT * FROM unnest($4::text[], $5::text[]))`,
    [[...keys], [...ids], limit, names.map((n) => n[0]), names.map((n) => n[1])],
    'mpi_candidates',
  );
  const out: BlockedCandidates = { candidates: [], oversized: [], counts: {} };
  for (const r of rows) {
    if (r.kind === 'k') out.oversized.push({ key: r.key, size: r.n ?? 0 });
    else if (r.kind === 'c') out.candidates.push({ patientId: r.key, features: decodeFeatures(r.features) });
    else out.counts[r.key] = r.n ?? 0;
  }
  return out;
}

/** One query's blocking keys, by its position in a batch. */
export interface BatchQueryKeys {
  i: number;
  keys: readonly string[];
}

export interface BatchCandidates {
  /** Candidates per query position (none: an empty list). */
  candidates: Map<number, CandidateRow[]>;
  /** How many persons carry each of the queries' name values. */
  counts: Record<string, number>;
}

/**
 * Candidates of many queries at once (a registration batch), in one round trip: for each query,
 * the patients under its blocking keys whose block holds at most `limit` patients (larger blocks
 * are skipped here: a registration is not held on a key too common to tell anyone apart), with
 * their features, plus the frequencies of the `names` pairs.
 */
export async function blockedCandidatesMany(
  db: Db,
  queries: readonly BatchQueryKeys[],
  limit: number,
  names: readonly [string, string][],
): Promise<BatchCandidates> {
  const out: BatchCandidates = { candidates: new Map(), counts: {} };
  const pairs = queries.flatMap((q) => [...new Set(q.keys)].map((k) => ({ i: q.i, k })));
  if (pairs.length === 0) return out;
  const { rows } = await db.query<{ i: number | null; key: string; n: number | null; features: Record<string, unknown> | null }>(
    `WITH q AS (SELECT * FROM json_to_recordset($1::json) AS q(i int4, k text)),
          k AS (SELECT b.key FROM mpi.block b WHERE b.key IN (SELECT DISTINCT k FROM q) GROUP BY b.key HAVING count(*) <= $2),
          c AS (SELECT DISTINCT q.i, b.patient_id FROM q JOIN k ON k.key = q.k JOIN mpi.block b ON b.key = q.k)
     SELECT c.i, c.patient_id AS key, NULL::int AS n, f.features FROM c JOIN mpi.features f ON f.patient_id = c.patient_id
     UNION ALL SELECT NULL, v.field || '|' || v.value, v.n, NULL FROM mpi.value_count v
       WHERE (v.field, v.value) IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
    [JSON.stringify(pairs), limit, names.map((n) => n[0]), names.map((n) => n[1])],
    'mpi_candidates_many',
  );
  for (const r of rows) {
    if (r.i === null) out.counts[r.key] = r.n ?? 0;
    else {
      const list = out.candidates.get(r.i) ?? [];
      list.push({ patientId: r.key, features: decodeFeatures(r.features) });
      out.candidates.set(r.i, list);
    }
  }
  return out;
}

/** Patients carrying any of these identifiers (system, value as indexed), or these My Number MACs. */
export async function patientsByIdentifiers(
  db: Db,
  ids: readonly { system: string; value: string }[],
  macs: readonly Buffer[],
): Promise<{ patientId: string; system: string }[]> {
  if (ids.length === 0 && macs.length === 0) return [];
  const { rows } = await db.query<{ id: string; system: string }>(
    `SELECT DISTINCT r.id, t.system FROM fhir.sp_token t JOIN fhir.resource r ON r.seq = t.res
       WHERE t.resource_type = 'Patient' AND t.param = 'identifier' AND NOT r.deleted
         AND (t.code, t.system) IN (SELECT * FROM unnest($2::text[], $1::text[]))
     UNION SELECT m.patient_id, 'my-number' FROM registry.my_number m WHERE m.mac = ANY($3::bytea[])`,
    [ids.map((i) => i.system), ids.map((i) => i.value), [...macs]],
    'mpi_by_identifiers',
  );
  return rows.map((r) => ({ patientId: r.id, system: r.system }));
}

/** The newest estimated weights, if any. */
export async function latestWeights(db: Db): Promise<{ weights: object; estimatedAt: Date } | undefined> {
  const { rows } = await db.query<{ weights: object; estimated_at: Date }>(
    `SELECT weights, estimated_at FROM mpi.weights ORDER BY id DESC LIMIT 1`,
  );
  return rows[0] ? { weights: rows[0].weights, estimatedAt: rows[0].estimated_at } : undefined;
}

export async function saveWeights(db: Db, weights: object): Promise<void> {
  await db.query(`INSERT INTO mpi.weights (weights) VALUES ($1::jsonb)`, [JSON.stringify(weights)]);
}

/** Rebuilds the value frequencies from the stored features; returns the number of persons. */
export async function rebuildValueCounts(db: Db): Promise<number> {
  await db.tx(async (t) => {
    await t.query(`DELETE FROM mpi.value_count`);
    await t.query(
      `INSERT INTO mpi.value_count (field, value, n)
       SELECT x.field, x.value, count(*)::int FROM mpi.features f
       CROSS JOIN LATERAL (VALUES ${VALUE_COUNT_FIELDS.map((n) => `('${n}', f.features->>'${STORED_FEATURE_KEYS[n]}')`).join(', ')}) AS x(field, value)
       WHERE x.value IS NOT NULL GROUP BY x.field, x.value`,
    );
  });
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM mpi.features`);
  return rows[0]?.n ?? 0;
}

/**
 * The chance that two distinct registered persons share a birth date, from the whole
 * distribution (Σ nᵢ(nᵢ−1) / N(N−1)); undefined with fewer than two persons with one.
 */
export async function birthDateCollision(db: Db): Promise<number | undefined> {
  const { rows } = await db.query<{ same: number | null; total: number | null }>(
    `SELECT sum(n * (n - 1))::float8 AS same, (sum(n) * (sum(n) - 1))::float8 AS total
     FROM (SELECT count(*)::float8 AS n FROM mpi.features WHERE features ? 'b' GROUP BY features->>'b') d`,
  );
  const { same, total } = rows[0] ?? { same: null, total: null };
  return same !== null && total !== null && total > 0 ? same / total : undefined;
}

/** Features of random pairs of persons, and of pairs sharing a blocking key (from sampled keys). */
export async function samplePairs(
  db: Db,
  pairs: number,
): Promise<{ random: [StoredFeatures, StoredFeatures][]; blocked: [StoredFeatures, StoredFeatures][] }> {
  const { rows: sample } = await db.query<{ features: Record<string, unknown> }>(
    `SELECT features FROM mpi.features TABLESAMPLE BERNOULLI (least(100, 100.0 * $1 / greatest(1, (SELECT count(*) FROM mpi.features)))) ORDER BY random() LIMIT $1`,
    [pairs * 2],
  );
  const random: [StoredFeatures, StoredFeatures][] = [];
  for (let i = 0; i + 1 < sample.length; i += 2) random.push([decodeFeatures(sample[i].features), decodeFeatures(sample[i + 1].features)]);
  const { rows } = await db.query<{ a: Record<string, unknown>; b: Record<string, unknown> }>(
    `WITH k AS (SELECT DISTINCT key FROM mpi.block TABLESAMPLE BERNOULLI (least(100, 100.0 * $1 / greatest(1, (SELECT count(*) FROM mpi.block))))),
          p AS (SELECT b1.patient_id AS a, b2.patient_id AS b FROM k JOIN mpi.block b1 ON b1.key = k.key
                JOIN mpi.block b2 ON b2.key = k.key AND b2.patient_id > b1.patient_id LIMIT $1)
     SELECT fa.features AS a, fb.features AS b FROM p JOIN mpi.features fa ON fa.patient_id = p.a JOIN mpi.features fb ON fb.patient_id = p.b`,
    [pairs],
  );
  return { random, blocked: rows.map((r) => [decodeFeatures(r.a), decodeFeatures(r.b)]) };
}

/** Current Patients after a seq, for re-indexing (keyset paging). */
export async function patientsAfter(db: Db, afterSeq: number, limit: number): Promise<{ seq: number; content: string }[]> {
  const { rows } = await db.query<{ seq: number; content: string }>(
    `SELECT seq, content FROM fhir.resource WHERE resource_type = 'Patient' AND NOT deleted AND seq > $1 ORDER BY seq LIMIT $2`,
    [afterSeq, limit],
  );
  return rows;
}
