/**
 * The checks a restored database must pass before it serves (issue 19 item 3), shared by
 * `medid backup` (recorded in the manifest), `medid restore` (compared with it) and `medid check`
 * (after a PostgreSQL point-in-time recovery): the registry's uniqueness rules read from the rows
 * (store/integrity.ts) and the whole access log as `medid log verify` checks it.
 */
import { verifyAccessLog } from '../audit/log-audit.ts';
import type { Db } from '../store/db.ts';
import { registryIntegrity } from '../store/integrity.ts';
import type { RegistryCounts, UniquenessRule } from '../store/integrity.ts';
import { parseCommand, UsageError } from './args.ts';
import { CHECK } from './commands.ts';

export interface IntegrityReport {
  ok: boolean;
  registry: { counts: RegistryCounts; rules: UniquenessRule[]; ok: boolean };
  log: { ok: boolean; size: number; root: string | null; problemCount: number; problems: string[]; latestHead: number | null };
}

export async function integrityReport(db: Db): Promise<IntegrityReport> {
  const registry = await registryIntegrity(db);
  const log = await verifyAccessLog(db, { maxProblems: 20 });
  return {
    ok: registry.ok && log.ok,
    registry,
    log: {
      ok: log.ok,
      size: log.size,
      root: log.root,
      problemCount: log.problemCount,
      problems: log.problems.map((p) => `${p.kind}: ${p.message}`),
      latestHead: log.heads.latest?.size ?? null,
    },
  };
}

/** What must be equal between the database backed up and the one restored. */
export function differences(before: IntegrityReport, after: IntegrityReport): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(before.registry.counts)) {
    const now = after.registry.counts[k as keyof RegistryCounts];
    if (now !== v) out.push(`${k}: ${v} in the backup, ${now} restored`);
  }
  if (before.log.size !== after.log.size) out.push(`access log: ${before.log.size} leaves in the backup, ${after.log.size} restored`);
  else if (before.log.root !== after.log.root)
    out.push(`access log: root ${before.log.root ?? '-'} in the backup, ${after.log.root ?? '-'} restored`);
  return out;
}

export function formatIntegrity(r: IntegrityReport): string {
  const c = r.registry.counts;
  const lines = [
    `registry: ${c.persons} persons, ${c.medicalIds} medical IDs (${c.activeMedicalIds} active), ${c.patients} Patients, ${c.myNumbers} My Number MACs, ${c.insuredNumbers} insured numbers; ${c.resources} resources, ${c.auditEvents} audit events`,
    ...r.registry.rules.map((u) => `  ${u.violations === 0 ? 'ok  ' : 'FAIL'} ${u.rule}${u.violations ? `: ${u.violations} broken` : ''}`),
    `access log: ${r.log.size} leaves, root ${r.log.root ?? '(not computed)'}, latest signed head ${r.log.latestHead ?? 'none'}: ${
      r.log.ok ? 'every check holds' : `FAILED, ${r.log.problemCount} problems (run medid log verify)`
    }`,
    ...r.log.problems.slice(0, 5).map((p) => `  ${p}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** `medid check`: the same checks on the database the environment names (after a PostgreSQL recovery). */
export async function checkCommand(args: string[]): Promise<number> {
  const opts = parseCommand(CHECK, args);
  const format = opts.string('format') ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError('--format must be text or json', CHECK.name);
  const [{ loadConfig }, { openDb }, { migrate }] = await Promise.all([
    import('../config.ts'),
    import('../store/open.ts'),
    import('../store/migrate.ts'),
  ]);
  const config = loadConfig();
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  let report: IntegrityReport;
  try {
    await migrate(db);
    report = await integrityReport(db);
  } finally {
    await db.close();
  }
  process.stdout.write(
    format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : `${formatIntegrity(report)}${report.ok ? 'OK' : 'FAILED'}\n`,
  );
  return report.ok ? 0 : 1;
}
