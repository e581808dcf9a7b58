/**
 * `medid import <file>`: an insurer's file of registrations, through the same registrar as
 * Patient/$register — over the API of a running server (`--server`, `--token`), or straight into
 * the database (DATABASE_URL, or the embedded one with the server stopped). Records are checked
 * locally first; bad ones go to `<file>.errors.ndjson` with their line, element and rule, and
 * the rest load. Re-running a file (also after an interruption) ends in the same state:
 * every record is decided by its numbers, so one already loaded is `unchanged`.
 */
import fs from 'node:fs';
import type { Bundle, Parameters, Resource } from '@medplum/fhirtypes';
import { isOutcomeError } from '../core/outcome.ts';
import { createApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { loadDefinitions } from '../fhir/definitions/index.ts';
import { DEFAULT_RULES } from '../identifiers/kind.ts';
import type { IdentifierRules } from '../identifiers/kind.ts';
import { createLogger } from '../core/logger.ts';
import { loadKeys } from '../key-setup.ts';
import { patientFromRecord, recordFromPatient } from '../registry/patient.ts';
import { recordFromFlat } from '../registry/record.ts';
import type { RecordResult, RegistrationResult, RegistrationStatus } from '../registry/record.ts';
import { countLines, formatOf, readSource } from '../registry/source-file.ts';
import { runWithRequestContext } from '../core/request-context.ts';
import { analyzeAfterBulkLoad } from '../store/health.ts';
import { migrate } from '../store/migrate.ts';
import { openDb } from '../store/open.ts';
import { parseCommand, UsageError } from './args.ts';
import { IMPORT } from './commands.ts';
import { cliPrincipal } from './principal.ts';
import { PROFILES_DIR } from './paths.ts';
import { Progress } from './progress.ts';
import { ImportMetricsFile } from './import-metrics.ts';

type Sink = {
  send(batch: RecordResult[]): Promise<RegistrationResult[]>;
  /** Upserts a directory or coverage resource (by identifier, else by id). */
  put(resource: Resource): Promise<'created' | 'updated' | 'unchanged'>;
  /** The ids of the Patients a search (`identifier=system|value`) finds (at most two: enough to tell one from many). */
  patients(criteria: string): Promise<string[]>;
  close(written: number): Promise<void>;
  /** Told the running count of records written, after each batch. */
  wrote?(written: number): void;
  parallel?: boolean;
};

/** The conditional-update criteria for a resource: its first identifier, else none (update by id). */
function criteriaOf(r: Resource): string | undefined {
  const id = (r as { identifier?: { system?: string; value?: string }[] }).identifier?.find((i) => i.system && i.value);
  return id ? new URLSearchParams({ identifier: `${id.system ?? ''}|${id.value ?? ''}` }).toString() : undefined;
}

/**
 * A Coverage line may name its beneficiary by an identifier of the person (the insured or
 * public-payer member id the file's registrations carry: `beneficiary.identifier`), since an
 * insurer's file cannot know medid's Patient ids; it is resolved to the one registry Patient
 * holding it before the write. Eligibility finds a coverage by its beneficiary's reference.
 */
async function withBeneficiary(resource: Resource, sink: Pick<Sink, 'patients'>): Promise<Resource> {
  if (resource.resourceType !== 'Coverage') return resource;
  const b = resource.beneficiary as { reference?: string; identifier?: { system?: string; value?: string } } | undefined;
  if (b?.reference || !b?.identifier?.system || !b.identifier.value) return resource;
  const found = await sink.patients(new URLSearchParams({ identifier: `${b.identifier.system}|${b.identifier.value}` }).toString());
  // The value stays out of the message: it goes to the error report (and may be shown anywhere).
  if (found.length !== 1)
    throw new Error(`Coverage.beneficiary.identifier names ${found.length === 0 ? 'no registered person' : 'several persons'}`);
  return { ...resource, beneficiary: { reference: `Patient/${found[0] ?? ''}`, identifier: b.identifier } };
}

/** Over HTTP: Patient/$register, a batch per call. */
function apiSink(server: string, token: string): Sink {
  return {
    async send(batch) {
      const body: Parameters = {
        resourceType: 'Parameters',
        parameter: batch.map((r, i) => ({
          name: 'registration',
          part: [
            { name: 'record', valueString: String(i) },
            { name: 'patient', resource: r.ok ? patientFromRecord(r.record) : { resourceType: 'Patient' } },
          ],
        })),
      };
      const res = await fetch(`${server.replace(/\/+$/, '')}/Patient/$register`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`server answered ${res.status}: ${text.slice(0, 500)}`);
      const out = (JSON.parse(text) as Parameters).parameter?.filter((p) => p.name === 'result') ?? [];
      return out.map((p, i) => {
        const get = (n: string) => p.part?.find((x) => x.name === n);
        const issues =
          (
            get('issues')?.resource as
              { issue?: { expression?: string[]; details?: { text?: string; coding?: { code?: string }[] } }[] } | undefined
          )?.issue ?? [];
        return {
          record: batch[i]?.ok ? batch[i].record.record : undefined,
          status: get('status')?.valueCode as RegistrationStatus,
          patientId: get('patient')?.valueReference?.reference?.slice('Patient/'.length),
          medicalId: get('medicalId')?.valueIdentifier?.value,
          taskId: get('task')?.valueReference?.reference?.slice('Task/'.length),
          issues: issues.map((x) => ({
            expression: x.expression?.[0] ?? 'record',
            rule: x.details?.coding?.at(-1)?.code ?? 'error',
            text: x.details?.text ?? '',
          })),
        };
      });
    },
    async put(resource) {
      const criteria = criteriaOf(resource);
      const url = `${server.replace(/\/+$/, '')}/${resource.resourceType}${criteria ? `?${criteria}` : `/${resource.id ?? ''}`}`;
      const res = await fetch(url, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify(resource),
      });
      if (!res.ok) throw new Error(`${resource.resourceType}: server answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      return res.status === 201 ? 'created' : 'updated';
    },
    async patients(criteria) {
      const res = await fetch(`${server.replace(/\/+$/, '')}/Patient?${criteria}&_elements=id&_count=2`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' },
      });
      if (!res.ok) throw new Error(`Patient search: server answered ${res.status} (the token needs system/Patient.rs)`);
      return ((JSON.parse(await res.text()) as Bundle).entry ?? []).flatMap((e) => (e.resource?.id ? [e.resource.id] : []));
    },
    close: () => Promise.resolve(),
  };
}

/** Straight into the database, through the same registrar the server uses. */
async function directSink(concurrency: number): Promise<Sink & { rules: IdentifierRules }> {
  const config = loadConfig();
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: Math.max(2, concurrency) });
  await migrate(db);
  // The server's keys from the same key store (core/keys), the production guard included.
  const logger = createLogger('warn');
  const keys = await loadKeys(config, logger);
  const app = createApp({
    config,
    db,
    defs: await loadDefinitions(PROFILES_DIR),
    logger,
    keys: keys.tokenKeys,
    myNumberMac: keys.myNumberMac,
    certificateMac: keys.certificateMac,
    pseudonymKeys: keys.pseudonymKeys,
  });
  const principal = cliPrincipal('import', 'system/Patient.cu');
  // A load into a young database refreshes the statistics each time it has doubled the data
  // (from 5,000 records written on). Statements are prepared with generic plans, made when the
  // tables were near empty — sequential scans that grew with every batch (a 1M import fell
  // from 1,700 to 650 records/s by 250k, reading mpi.block 2 billion rows) — and autovacuum's
  // ANALYZE lagged behind the load. ANALYZE invalidates those plans, so the next batch replans.
  let nextAnalyze = 5000;
  let analyzing: Promise<void> | undefined;
  return {
    rules: app.identifiers.rules,
    wrote(written) {
      if (written < nextAnalyze || analyzing) return;
      nextAnalyze = written * 2;
      analyzing = analyzeAfterBulkLoad(db)
        .catch((e: unknown) => {
          process.stderr.write(`ANALYZE during the import failed (the load goes on): ${(e as Error).message}\n`);
        })
        .finally(() => {
          analyzing = undefined;
        });
    },
    // Each batch's audit events take their place in the access log before the next batch (as a
    // request's do before its response), so the queue never grows with the load.
    send: (batch) =>
      runWithRequestContext(
        { requestId: `import-${process.pid}`, principal, purposeOfUse: 'HOPERAT', remoteAddress: undefined },
        async () => {
          const results = await app.registrar.registerAll(batch, undefined);
          await app.auditLog.settle();
          return results;
        },
      ),
    put: (resource) =>
      runWithRequestContext(
        { requestId: `import-${process.pid}`, principal, purposeOfUse: 'HOPERAT', remoteAddress: undefined },
        async () => {
          const repo = app.context.uow.resources;
          const criteria = criteriaOf(resource);
          const before = criteria ? (await repo.findMatches(resource.resourceType, criteria))[0]?.versionId : undefined;
          const r = criteria
            ? await repo.conditionalUpdate(resource.resourceType, criteria, resource)
            : await repo.update(resource.resourceType, resource.id ?? '', resource);
          await app.auditLog.settle();
          return r.created ? 'created' : r.stored.versionId === before ? 'unchanged' : 'updated';
        },
      ),
    patients: (criteria) =>
      runWithRequestContext(
        { requestId: `import-${process.pid}`, principal, purposeOfUse: 'HOPERAT', remoteAddress: undefined },
        async () => (await app.context.uow.resources.findMatches('Patient', criteria)).map((r) => r.id),
      ),
    parallel: db.driver === 'pg',
    // Audit records are committed before record() resolves, with their places in the access log;
    // their leaves are hashed before the run ends. After a large load the planner's statistics are
    // refreshed, so the server plans for the new size.
    close: async (written) => {
      try {
        await app.auditLog.settle(true);
        await analyzing;
        if (written >= 1000) await analyzeAfterBulkLoad(db);
      } finally {
        keys.store.close();
        await db.close();
      }
    },
  };
}

export async function importCommand(args: string[]): Promise<number> {
  const opts = parseCommand(IMPORT, args);
  const usage = (m: string): UsageError => new UsageError(m, IMPORT.name);
  const file = opts.positionals[0];
  if (!file) throw usage('needs a file: medid import <file.ndjson|file.csv>');
  const batchSize = Number(opts.string('batch') ?? 500);
  const concurrency = Number(opts.string('concurrency') ?? 4);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1000) throw usage('--batch must be 1–1000');
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw usage('--concurrency must be 1–64');
  const formatArg = opts.string('format');
  if (formatArg !== undefined && formatArg !== 'csv' && formatArg !== 'ndjson') throw usage('--format must be csv or ndjson');
  const progressArg = opts.string('progress');
  const every = progressArg === undefined ? undefined : Number(progressArg);
  if (every !== undefined && !(every >= 0)) throw usage('--progress must be a number of seconds (0: every batch)');
  const server = opts.string('server') ?? process.env['MEDID_SERVER'];
  const token = opts.string('token') ?? process.env['MEDID_TOKEN'];
  if (server && !token) throw usage('--server needs --token (or MEDID_TOKEN): an access token with system/Patient.cu');
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const format = formatOf(file, formatArg);
  const sink = server ? { ...apiSink(server, token as string), rules: DEFAULT_RULES } : await directSink(concurrency);
  const errorsFile = `${file}.errors.ndjson`;
  const report = fs.createWriteStream(errorsFile);
  const counts: Record<RegistrationStatus, number> = { created: 0, updated: 0, unchanged: 0, review: 0, error: 0 };
  const expected = (await countLines(file)) - (format === 'csv' ? 1 : 0);
  const progress = new Progress(expected, !opts.flag('quiet'), every);
  // Progress for Prometheus, through node_exporter's textfile collector (import-metrics.ts).
  const metricsFile = opts.string('metrics-file');
  const textfile = metricsFile ? new ImportMetricsFile(metricsFile, { expected, counts: () => counts }) : undefined;
  textfile?.start(every || 5);
  const note = (line: number, r: RegistrationResult): void => {
    counts[r.status]++;
    if (r.status === 'error' || r.status === 'review')
      report.write(`${JSON.stringify({ line, record: r.record, status: r.status, task: r.taskId, issues: r.issues })}\n`);
  };
  // Batches go out `concurrency` at a time, over HTTP (one request each) or straight into
  // PostgreSQL (one set-based transaction each); the embedded database has one connection.
  const inFlight = new Set<Promise<void>>();
  const parallel = server || sink.parallel ? concurrency : 1;
  let batch: { line: number; r: RecordResult }[] = [];
  const flush = async (): Promise<void> => {
    const items = batch;
    batch = [];
    if (items.length === 0) return;
    const p = sink.send(items.map((x) => x.r)).then((results) => {
      results.forEach((r, i) => note(items[i]?.line ?? 0, r));
      progress.tick(items.length);
      sink.wrote?.(counts.created + counts.updated);
    });
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= parallel) await Promise.race(inFlight);
  };
  try {
    for await (const src of readSource(file, format)) {
      if ('resource' in src) {
        // Directory and coverage lines: written one by one, in file order (an Endpoint after its
        // Organization), after every registration before them (a Coverage after its person).
        await flush();
        await Promise.all(inFlight);
        try {
          counts[await sink.put(await withBeneficiary(src.resource, sink))]++;
        } catch (e) {
          note(src.line, {
            record: `${src.resource.resourceType}/${src.resource.id ?? ''}`,
            status: 'error',
            issues: [
              {
                expression: src.resource.resourceType,
                rule: 'import.resource',
                text: isOutcomeError(e) ? (e.outcome.issue?.[0]?.details?.text ?? 'refused') : (e as Error).message,
              },
            ],
          });
        }
        progress.tick(1);
        continue;
      }
      const r: RecordResult =
        'error' in src
          ? { ok: false, record: undefined, issues: [{ expression: `line ${src.line}`, rule: 'import.syntax', text: src.error }] }
          : 'patient' in src
            ? recordFromPatient(src.patient, src.patient.id, sink.rules)
            : recordFromFlat(src.flat, sink.rules);
      if (!r.ok) {
        note(src.line, { record: r.record, status: 'error', issues: r.issues });
        progress.tick(1);
        continue;
      }
      batch.push({ line: src.line, r });
      if (batch.length >= batchSize) await flush();
    }
    await flush();
    await Promise.all(inFlight);
  } finally {
    progress.done();
    await textfile?.finish();
    await new Promise<void>((resolve) => report.end(resolve));
    await sink.close(counts.created + counts.updated);
  }
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  process.stdout.write(
    `${JSON.stringify({ file, records: total, ...counts, seconds: progress.seconds(), recordsPerSecond: Math.round(total / Math.max(progress.seconds(), 0.001)), errors: counts.error + counts.review > 0 ? errorsFile : null })}\n`,
  );
  if (counts.error + counts.review === 0) fs.rmSync(errorsFile, { force: true });
  return counts.error > 0 ? 1 : 0;
}
