/**
 * `medid export --insurer <number>`: the insurer's persons with their medical IDs (R3), as
 * NDJSON on stdout or into --out — the same minimal Patients as Patient/$export, read straight
 * from the database (DATABASE_URL, or the embedded one with the server stopped). Recorded in
 * the audit log like a download: one AuditEvent per person.
 */
import fs from 'node:fs';
import { auditRow } from '../audit/balp.ts';
import { loadConfig } from '../config.ts';
import { exportLines } from '../registry/export.ts';
import { insertAuditEvents } from '../store/audit.ts';
import { AccessLog } from '../audit/access-log.ts';
import { FilePseudonymKeys, loadPseudonymMaster } from '../pseudonym/file-keys.ts';
import { auditPersonOf } from '../pseudonym/audit-person.ts';
import { migrate } from '../store/migrate.ts';
import { openDb } from '../store/open.ts';
import { parseCommand, UsageError } from './args.ts';
import { EXPORT } from './commands.ts';
import { cliPrincipal } from './principal.ts';

export async function exportCommand(args: string[]): Promise<number> {
  const opts = parseCommand(EXPORT, args);
  const insurer = opts.string('insurer') ?? '';
  if (!/^(\d{6}|\d{8})$/.test(insurer)) throw new UsageError('needs --insurer <6- or 8-digit insurer or public payer number>', EXPORT.name);
  const sinceArg = opts.string('since');
  const since = sinceArg === undefined ? null : new Date(sinceArg);
  if (since && Number.isNaN(since.getTime())) throw new UsageError(`--since "${sinceArg ?? ''}" is not a date`, EXPORT.name);
  const outFile = opts.string('out');
  const config = loadConfig();
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  const out = outFile ? fs.createWriteStream(outFile) : process.stdout;
  const principal = cliPrincipal('export', 'system/Patient.r');
  const { master } = loadPseudonymMaster({ file: config.pseudonymKeyFile, dataDir: config.dataDir });
  const keys = new FilePseudonymKeys(master);
  const accessLog = config.audit && config.accessLog ? new AccessLog({ db, personOf: (pid) => auditPersonOf(keys, pid) }) : undefined;
  let n = 0;
  try {
    await migrate(db);
    let ids: string[] = [];
    let buf: string[] = [];
    // Log before release: each chunk's audit records are committed before the chunk is written.
    const release = async (): Promise<void> => {
      if (ids.length === 0) return;
      const recorded = new Date();
      // Queued for the access log (each with its entry's nonce), then given their places, before the chunk is written.
      const rows = ids.map((patientId) =>
        auditRow({
          action: 'E',
          subtype: '$export',
          outcome: 0,
          principal,
          purposeOfUse: 'HOPERAT',
          requestId: `export-${process.pid}`,
          remoteAddress: undefined,
          patientId,
          query: `insurer=${insurer}`,
          recorded,
        }),
      );
      await insertAuditEvents(db, accessLog ? accessLog.stamped(rows) : rows, [], accessLog ? 'pending' : undefined);
      await accessLog?.drain();
      out.write(`${buf.join('\n')}\n`);
      n += ids.length;
      ids = [];
      buf = [];
    };
    for await (const { id, line } of exportLines(db, insurer, since?.toISOString() ?? null, config.medicalIdSystem)) {
      ids.push(id);
      buf.push(line);
      if (ids.length >= 1000) await release();
    }
    await release();
    // Each chunk left after its events' places committed; their leaves are hashed before the run ends.
    await accessLog?.caughtUp();
  } finally {
    if (out !== process.stdout) await new Promise<void>((resolve) => (out as fs.WriteStream).end(resolve));
    await db.close();
  }
  process.stderr.write(`medid export: ${n} person(s) of insurer ${insurer}\n`);
  return 0;
}
