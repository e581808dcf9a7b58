/**
 * `medid usage --month YYYY-MM [--format csv|json] [--verify]`: the month's usage per
 * organization (R26), counted from the audit log (audit/usage.ts states the rules), for the
 * authority's cost sharing. `--verify` recounts from the AuditEvents on the same snapshot
 * (audit/usage-verify.ts); any difference, or a broken counting invariant, exits 1.
 */
import { loadConfig } from '../config.ts';
import { monthRange, USAGE_METRICS, usageReport } from '../audit/usage.ts';
import type { UsageReport } from '../audit/usage.ts';
import { verifyUsage } from '../audit/usage-verify.ts';
import type { Db } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { openDb } from '../store/open.ts';
import { parseCommand, UsageError } from './args.ts';
import { USAGE } from './commands.ts';

const column = (metric: string): string => metric.replaceAll('-', '_');

/** The CSV header: one row per organization, billable figures, then refused ones, then all its events. */
export const USAGE_CSV_HEADER = [
  'month',
  'organization_kind',
  'organization_code',
  ...USAGE_METRICS.map(column),
  ...USAGE_METRICS.map((m) => `refused_${column(m)}`),
  'audit_events',
].join(',');

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
const field = (v: string | number): string => {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

export function usageCsv(r: UsageReport): string {
  const lines = [USAGE_CSV_HEADER];
  for (const o of r.organizations)
    lines.push(
      [r.month, o.org.kind, o.org.code, ...USAGE_METRICS.map((m) => o.billable[m]), ...USAGE_METRICS.map((m) => o.refused[m]), o.events]
        .map(field)
        .join(','),
    );
  return `${lines.join('\r\n')}\r\n`;
}

/** The month before `now`'s month, in Japan Standard Time. */
export function lastMonth(now: Date): string {
  const jst = new Date(now.getTime() + 9 * 3_600_000);
  const y = jst.getUTCFullYear();
  const m = jst.getUTCMonth(); // 0-based: this month − 1, as 1-based
  return m === 0 ? `${y - 1}-12` : `${y}-${String(m).padStart(2, '0')}`;
}

export interface UsageOutput {
  text: string;
  problems: string[];
}

/** What the command prints for a database (the test calls this too, on its own database). */
export async function usageOutput(
  db: Db,
  o: { month: string; format: 'csv' | 'json'; verify: boolean; baseUrl: string },
): Promise<UsageOutput> {
  if (o.verify) {
    const v = await verifyUsage(db, o.month, o.baseUrl);
    const text =
      o.format === 'json'
        ? `${JSON.stringify({ ...v.report, verification: { auditEvents: v.auditEvents, problems: v.problems } }, null, 2)}\n`
        : usageCsv(v.report);
    return { text, problems: v.problems };
  }
  const r = await usageReport(db, o.month);
  return { text: o.format === 'json' ? `${JSON.stringify(r, null, 2)}\n` : usageCsv(r), problems: r.problems };
}

export async function usageCommand(args: string[]): Promise<number> {
  const opts = parseCommand(USAGE, args);
  const month = opts.string('month') ?? lastMonth(new Date());
  if (!monthRange(month)) throw new UsageError('--month must be YYYY-MM', USAGE.name);
  const format = opts.string('format') ?? 'csv';
  if (format !== 'csv' && format !== 'json') throw new UsageError('--format must be csv or json', USAGE.name);
  const config = loadConfig();
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrate(db);
    const out = await usageOutput(db, { month, format, verify: opts.flag('verify'), baseUrl: config.baseUrl });
    process.stdout.write(out.text);
    for (const p of out.problems) process.stderr.write(`medid usage: ${p}\n`);
    if (opts.flag('verify') && out.problems.length === 0) process.stderr.write(`medid usage: ${month} reconciles with its AuditEvents\n`);
    return out.problems.length === 0 ? 0 : 1;
  } finally {
    await db.close();
  }
}
