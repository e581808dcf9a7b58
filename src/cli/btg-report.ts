/**
 * `medid btg-report --date YYYY-MM-DD [--format tsv|json]`: the break-the-glass grants of one
 * day (Japan Standard Time), for the authority's daily review (R24): when, which organization
 * and client, which person (Patient id), until when, and the reason given.
 */
import { loadConfig } from '../config.ts';
import { grantsOn } from '../privacy/break-the-glass.ts';
import { migrate } from '../store/migrate.ts';
import { openDb } from '../store/open.ts';
import { parseCommand, UsageError } from './args.ts';
import { BTG_REPORT } from './commands.ts';

export async function btgReportCommand(args: string[]): Promise<number> {
  const opts = parseCommand(BTG_REPORT, args);
  const day = opts.string('date') ?? new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new UsageError('--date must be YYYY-MM-DD', BTG_REPORT.name);
  const format = opts.string('format') ?? 'tsv';
  if (format !== 'tsv' && format !== 'json') throw new UsageError('--format must be tsv or json', BTG_REPORT.name);
  const config = loadConfig();
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrate(db);
    const grants = await grantsOn(db, day);
    if (format === 'json') {
      process.stdout.write(`${JSON.stringify({ date: day, grants }, null, 2)}\n`);
    } else {
      process.stdout.write('granted_at\torganization\tclient_id\tpatient\texpires_at\treason\n');
      for (const g of grants) {
        const reason = g.reason.replace(/[\t\r\n]+/g, ' ');
        process.stdout.write(`${g.grantedAt}\t${g.actor}\t${g.clientId}\tPatient/${g.patientId}\t${g.expiresAt}\t${reason}\n`);
      }
    }
    return 0;
  } finally {
    await db.close();
  }
}
