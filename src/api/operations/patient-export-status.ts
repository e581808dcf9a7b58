/**
 * The Bulk Data status, manifest, cancel and file routes of Patient/$export: `[base]/_export/{id}`
 * answers 202 while the job runs and then the manifest; each NDJSON file is fetched with the
 * same token and audited when it leaves (one AuditEvent per person in it). A job exists only
 * for the client that started it.
 */
import { errors } from '../../core/outcome.ts';
import { EXTENSIONS } from '../../core/systems.ts';
import type { ExportJobs } from '../../registry/export-jobs.ts';
import type { FhirResponse } from '../request.ts';
import type { Route } from '../router.ts';

/**
 * The routes, for the generic interactions' callers, or (`only`) for the callers of the
 * pseudonymized view, whose jobs are pseudonymized exports (authorized by the view's rule).
 */
export function patientExportStatusRoutes(jobs: ExportJobs, baseUrl: string, only?: Pick<Route, 'when'>): Route[] {
  const access = (): { type: string; permission: 'r' }[] => [{ type: 'Patient', permission: 'r' }];
  const routes: Route[] = [
    {
      method: 'GET',
      pattern: '/_export/:id',
      name: 'export-status',
      access,
      selfCommitting: true,
      handler: async (req, params): Promise<FhirResponse> => {
        const id = params['id'];
        const job = await jobs.status(id, req.principal?.clientId);
        if (job.status === 'in-progress')
          return { status: 202, headers: { 'X-Progress': `${job.files.length} file(s) written`, 'Retry-After': '2' } };
        if (job.status === 'error')
          throw errors.badRequest(`Export ${id} failed: ${job.error ?? 'unknown error'}`, 'internal', undefined, 'exception');
        const manifest = {
          transactionTime: job.transactionTime.toISOString(),
          request: job.request,
          requiresAccessToken: true,
          output: job.files.map((f) => ({ type: f.type, url: `${baseUrl}/_export/${id}/${f.n}`, count: f.lines })),
          error: [],
          // Bulk Data manifests may carry an extension object: a pseudonymized export reports its small-cell guard.
          ...(job.summary ? { extension: { [EXTENSIONS.smallCellGuard]: job.summary } } : {}),
        };
        return { status: 200, headers: { Expires: job.expiresAt.toUTCString() }, body: { json: JSON.stringify(manifest) } };
      },
    },
    {
      method: 'DELETE',
      pattern: '/_export/:id',
      name: 'export-delete',
      access,
      selfCommitting: true,
      handler: async (req, params) => {
        await jobs.cancel(params['id'], req.principal?.clientId);
        return { status: 202 };
      },
    },
    {
      method: 'GET',
      pattern: '/_export/:id/:n',
      name: '$export-file',
      access,
      selfCommitting: true,
      handler: async (req, params) => {
        const file = await jobs.file(params['id'], req.principal?.clientId, params['n'] ?? '');
        return {
          status: 200,
          body: { ndjson: file.ndjson },
          disclosed: file.patientIds.map((pid) => ({ resourceType: 'Patient', id: pid, patients: [pid] })),
        };
      },
    },
  ];
  return only ? routes.map((r) => ({ ...r, ...only, type: 'Patient', view: 'pseudonymized' as const })) : routes;
}
