/**
 * Patient/$export for insurers (R3), after the FHIR Bulk Data Access pattern: the kick-off
 * (`Prefer: respond-async`) answers 202 with a status URL; the status answers 202 while the job
 * runs and then 200 with the manifest; each NDJSON file is fetched with the same token and is
 * audited when it leaves (one AuditEvent per person in it). A job belongs to the client that
 * started it; an insurer exports only persons holding one of its own numbers.
 */
import crypto from 'node:crypto';
import type { Db } from '../../store/db.ts';
import { deleteExportJob, insertExportJob, readExportFile, readExportJob } from '../../store/exports.ts';
import type { ExportJob } from '../../store/exports.ts';
import { runExportJob } from '../../registry/export.ts';
import { MEDID_CANONICAL } from '../canonical.ts';
import { errors } from '../outcome.ts';
import { header, preferences } from '../request.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import type { Route } from '../router.ts';
import type { OperationHandler } from './registry.ts';

export interface ExportDeps {
  db: Db;
  baseUrl: string;
  medicalIdSystem: string;
  /** How long finished files stay downloadable. */
  retentionMs: number;
  now: () => Date;
  /** Started jobs, so shutdown and tests can wait for them. */
  running: Set<Promise<void>>;
}

const PAYER_RE = /^(\d{6}|\d{8})$/;

function ownJob(job: ExportJob | undefined, req: FhirRequest, id: string): ExportJob {
  // Someone else's job is as unknown as a missing one: no hint that it exists.
  if (!job || job.clientId !== req.principal?.clientId) throw errors.notFound(`Export job ${id} is not known (or has expired)`);
  return job;
}

export function exportOperation(d: ExportDeps): OperationHandler {
  return {
    url: `${MEDID_CANONICAL}/OperationDefinition/Patient-export`,
    async handle(_ctx, call) {
      const principal = call.req.principal;
      if (preferences(call.req)['respond-async'] === undefined) {
        throw errors.badRequest('$export is asynchronous: send Prefer: respond-async', 'invalid-parameter', 'Prefer');
      }
      const accept = header(call.req, 'accept');
      if (accept && !/application\/fhir\+json|application\/json|\*\/\*/.test(accept)) throw errors.notAcceptable('$export answers with application/fhir+json (the files are NDJSON)');
      const format = call.input.string('_outputFormat');
      if (format && !['application/fhir+ndjson', 'application/ndjson', 'ndjson'].includes(format)) {
        throw errors.badRequest(`_outputFormat ${format} is not supported (application/fhir+ndjson)`, 'invalid-parameter', '_outputFormat');
      }
      const type = call.input.string('_type');
      if (type && type !== 'Patient') throw errors.badRequest('_type: this export lists Patient resources only', 'invalid-parameter', '_type');
      const org = principal?.org;
      let payer = call.input.string('insurer');
      if (org?.kind === 'insurer') {
        if (payer !== undefined && payer !== org.code) throw errors.forbidden(`Insurer ${org.code} may export only its own persons`);
        payer = org.code;
      } else if (org && org.kind !== 'authority') {
        throw errors.forbidden('Only insurers (and the authority) export persons with their medical IDs');
      }
      if (!payer || !PAYER_RE.test(payer)) throw errors.badRequest('Parameter insurer: the insurer or public payer number (6 or 8 digits) is required for the authority', 'invalid-parameter', 'insurer');
      const sinceRaw = call.input.string('_since');
      const since = sinceRaw === undefined ? undefined : Date.parse(sinceRaw);
      if (since !== undefined && Number.isNaN(since)) throw errors.badRequest(`_since "${sinceRaw ?? ''}" is not an instant`, 'invalid-parameter', '_since');
      const id = crypto.randomUUID();
      const now = d.now();
      const query = new URLSearchParams(call.req.query).toString();
      await insertExportJob(d.db, {
        id, clientId: principal?.clientId ?? 'internal', payer, request: `${d.baseUrl}/Patient/$export${query ? `?${query}` : ''}`,
        since: since === undefined ? undefined : new Date(since).toISOString(), at: now.toISOString(), expiresAt: new Date(now.getTime() + d.retentionMs).toISOString(),
      });
      const job = runExportJob(d.db, id, payer, since === undefined ? null : new Date(since).toISOString(), d.medicalIdSystem);
      d.running.add(job);
      void job.finally(() => d.running.delete(job));
      return { status: 202, headers: { 'Content-Location': `${d.baseUrl}/_export/${id}` } };
    },
  };
}

/** Status, manifest, cancel and file download. */
export function exportRoutes(d: ExportDeps): Route[] {
  const access = (): { type: string; permission: 'r' }[] => [{ type: 'Patient', permission: 'r' }];
  return [
    {
      method: 'GET', pattern: '/_export/:id', name: 'export-status', access,
      handler: async (req, params): Promise<FhirResponse> => {
        const id = params['id'];
        const job = ownJob(await readExportJob(d.db, id, d.now()), req, id);
        if (job.status === 'in-progress') return { status: 202, headers: { 'X-Progress': `${job.files.length} file(s) written`, 'Retry-After': '2' } };
        if (job.status === 'error') throw errors.badRequest(`Export ${id} failed: ${job.error ?? 'unknown error'}`, 'internal', undefined, 'exception');
        const manifest = {
          transactionTime: job.transactionTime.toISOString(), request: job.request, requiresAccessToken: true,
          output: job.files.map((f) => ({ type: 'Patient', url: `${d.baseUrl}/_export/${id}/${f.n}`, count: f.lines })), error: [],
        };
        return { status: 200, headers: { Expires: job.expiresAt.toUTCString() }, body: { json: JSON.stringify(manifest) } };
      },
    },
    {
      method: 'DELETE', pattern: '/_export/:id', name: 'export-delete', access,
      handler: async (req, params) => {
        const id = params['id'];
        ownJob(await readExportJob(d.db, id, d.now()), req, id);
        await deleteExportJob(d.db, id);
        return { status: 202 };
      },
    },
    {
      method: 'GET', pattern: '/_export/:id/:n', name: '$export-file', access,
      handler: async (req, params) => {
        const id = params['id'];
        ownJob(await readExportJob(d.db, id, d.now()), req, id);
        const n = /^\d{1,6}$/.test(params['n'] ?? '') ? Number(params['n']) : -1;
        const content = n >= 0 ? await readExportFile(d.db, id, n) : undefined;
        if (content === undefined) throw errors.notFound(`Export ${id} has no file ${params['n'] ?? ''}`);
        const ids = content.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);
        return { status: 200, body: { ndjson: content }, disclosed: ids.map((pid) => ({ resourceType: 'Patient', id: pid, patients: [pid] })) };
      },
    },
  ];
}
