/**
 * `medid mpi reindex`: (re)builds the match index (features and blocking keys) of every Patient
 * — after an upgrade that added it, or a change of the normalization rules.
 * `medid mpi estimate`: re-estimates the $match weights from the registry (value frequencies,
 * u from random pairs, m by EM over blocked pairs; see src/mpi/estimate.ts) and stores them;
 * running servers pick them up within a minute.
 */
import type { Patient } from '@medplum/fhirtypes';
import { loadConfig } from '../config.ts';
import { estimate } from '../mpi/estimate.ts';
import { isReplaced, matchRowsOf } from '../mpi/index-hook.ts';
import type { Db } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { birthDateCollision, patientsAfter, rebuildValueCounts, replaceMatchRows, samplePairs, saveWeights } from '../store/mpi.ts';
import { openDb } from '../store/open.ts';
import { parseCommand, UsageError } from './args.ts';
import { MPI_ESTIMATE, MPI_REINDEX } from './commands.ts';

async function withDb(fn: (db: Db) => Promise<number>): Promise<number> {
  const config = loadConfig();
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}

export async function mpiReindexCommand(args: string[]): Promise<number> {
  const quiet = parseCommand(MPI_REINDEX, args).flag('quiet');
  return withDb(async (db) => {
    let seq = 0;
    let n = 0;
    for (;;) {
      const page = await patientsAfter(db, seq, 1000);
      if (page.length === 0) break;
      const patients = page.map((r) => JSON.parse(r.content) as Patient & { id: string });
      await db.tx((t) =>
        replaceMatchRows(
          t,
          patients.filter((p) => !isReplaced(p)).map(matchRowsOf),
          patients.filter(isReplaced).map((p) => p.id),
        ),
      );
      seq = (page.at(-1) as (typeof page)[number]).seq;
      n += page.length;
      if (!quiet) process.stderr.write(`\rreindexed ${n} patients`);
    }
    process.stdout.write(`${JSON.stringify({ reindexed: n })}\n`);
    return 0;
  });
}

export async function mpiEstimateCommand(args: string[]): Promise<number> {
  const sample = Number(parseCommand(MPI_ESTIMATE, args).string('sample') ?? 20_000);
  if (!Number.isInteger(sample) || sample < 100)
    throw new UsageError('--sample must be an integer ≥ 100 (pairs sampled of each kind)', MPI_ESTIMATE.name);
  return withDb(async (db) => {
    const persons = await rebuildValueCounts(db);
    const { random, blocked } = await samplePairs(db, sample);
    const report = estimate(random, blocked, persons, await birthDateCollision(db));
    await saveWeights(db, report.weights);
    process.stdout.write(
      `${JSON.stringify({ persons, randomPairs: report.randomPairs, blockedPairs: report.blockedPairs, mEstimated: report.mEstimated, prior: report.weights.prior, note: report.note })}\n`,
    );
    return 0;
  });
}
