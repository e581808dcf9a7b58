/**
 * `medid log verify [--key KEY|FILE] [--checkpoint FILE] [--persons] [--format text|json]`: the
 * whole access log checked straight from the database (DATABASE_URL, or the embedded one with the
 * server stopped) by audit/log-audit.ts. Exit status 0 when all holds, 1 when anything fails,
 * 2 on a usage error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseLogPublicKey, verifyAccessLog } from '../audit/log-audit.ts';
import type { LogPublicKey, LogVerifyOptions, LogVerifyReport } from '../audit/log-audit.ts';
import { loadConfig } from '../config.ts';
import { auditPersonOf } from '../pseudonym/audit-person.ts';
import { FilePseudonymKeys, loadPseudonymMaster } from '../pseudonym/file-keys.ts';
import { migrate } from '../store/migrate.ts';
import { openDb } from '../store/open.ts';
import { parseCommand, UsageError } from './args.ts';
import { LOG_VERIFY } from './commands.ts';

/** `--key`: the key itself, or a file holding it. */
async function keyOf(arg: string): Promise<LogPublicKey> {
  const text = fs.existsSync(arg) ? fs.readFileSync(arg, 'utf8') : arg;
  try {
    return await parseLogPublicKey(text);
  } catch (e) {
    throw new UsageError(`--key: ${(e as Error).message}`, LOG_VERIFY.name);
  }
}

export async function logVerifyCommand(args: string[]): Promise<number> {
  const opts = parseCommand(LOG_VERIFY, args);
  const format = opts.string('format') ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError('--format must be text or json', LOG_VERIFY.name);
  const config = loadConfig();
  const o: LogVerifyOptions = {};
  const key = opts.string('key');
  if (key !== undefined) o.key = await keyOf(key);
  const checkpoint = opts.string('checkpoint');
  if (checkpoint !== undefined) {
    if (!fs.existsSync(checkpoint)) throw new UsageError(`--checkpoint: no file ${checkpoint}`, LOG_VERIFY.name);
    o.checkpoints = [fs.readFileSync(checkpoint, 'utf8')];
  }
  if (opts.flag('persons')) {
    // The key is read, never made: a verifier that generated one would check against the wrong key.
    if (!config.pseudonymKeyFile && !fs.existsSync(path.join(config.dataDir, 'keys', 'pseudonym-master')))
      throw new UsageError(
        '--persons needs the pseudonym key: MEDID_PSEUDONYM_KEY_FILE, or the data directory the server uses',
        LOG_VERIFY.name,
      );
    const keys = new FilePseudonymKeys(loadPseudonymMaster({ file: config.pseudonymKeyFile, dataDir: config.dataDir }).master);
    o.personOf = (patientId) => auditPersonOf(keys, patientId);
  }
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  let report: LogVerifyReport;
  try {
    await migrate(db);
    report = await verifyAccessLog(db, o);
  } finally {
    await db.close();
  }
  process.stdout.write(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.ok ? 0 : 1;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The human summary. */
export function formatReport(r: LogVerifyReport): string {
  const lines: string[] = [];
  lines.push(`access log: ${plural(r.size, 'leaf', 'leaves')}, root ${r.root ?? '(not computed: leaves are missing)'}`);
  if (r.rootBase64) lines.push(`  root (base64, as checkpoints write it): ${r.rootBase64}`);
  lines.push(
    `  leaves   ${r.leaves.checked} read, ${r.leaves.badHashes} hashes changed${
      r.counts['leaf-gap'] ? '; indices have gaps' : r.size > 0 ? `; indices 0–${r.size - 1}, no gap` : ''
    }`,
  );
  lines.push(`  tree     ${plural(r.nodes.checked, 'stored subtree')} recomputed (${r.nodes.expected} expected)`);
  const sig =
    r.heads.signaturesVerified === null
      ? 'signatures NOT checked (no --key given)'
      : `${plural(r.heads.signaturesVerified, 'signature')} verified with the key given`;
  const latest = r.heads.latest
    ? `, latest of size ${r.heads.latest.size}${r.heads.latest.origin ? ` (${r.heads.latest.origin})` : ''}`
    : '';
  lines.push(
    `  heads    ${plural(r.heads.checked, 'stored head')} checked${latest}; ${r.heads.checked > 0 ? sig : 'no signature to check'}`,
  );
  for (const c of r.checkpoints) lines.push(`  checkpoint of size ${c.size} given: ${c.ok ? 'the log extends it' : 'NOT borne out'}`);
  lines.push(
    `  events   ${plural(r.events.checked, 'entry', 'entries')} rebuilt from their events and hashed again; ${r.events.unlogged} unlogged; ${r.events.pending} waiting in audit.log_pending; ${r.events.unhashed} placed, not hashed yet${
      r.personsFromPatients ? "; persons checked against their events' Patient" : ''
    }`,
  );
  lines.push(
    `  persons  ${plural(r.persons.checked, 'chain')} checked, ${r.persons.failedCount === 0 ? 'all intact' : `${r.persons.failedCount} broken: ${r.persons.failed.join(', ')}`}`,
  );
  lines.push(`  checked in ${r.seconds} s`);
  if (r.ok) {
    lines.push('OK: every check holds');
  } else {
    lines.push('', `problems (${r.problemCount}${r.problems.length < r.problemCount ? `, the first ${r.problems.length} shown` : ''}):`);
    for (const p of r.problems)
      lines.push(`  ${p.kind.padEnd(16)}${p.message}${p.person && !p.message.includes(p.person) ? ` [person ${p.person}]` : ''}`);
    const counts = Object.entries(r.counts)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    lines.push('', `FAILED: ${plural(r.problemCount, 'problem')} (${counts})`);
  }
  return `${lines.join('\n')}\n`;
}
