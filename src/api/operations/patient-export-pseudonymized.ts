/**
 * Patient/$export for a utilizing database (issue 16 items 3–4), after the FHIR Bulk Data
 * kick-off: every person within its reach, as Patient and Coverage NDJSON under its own
 * pseudonyms, after the small-cell guard (MEDID_EXPORT_K). The manifest's `extension` reports
 * k and how many persons were generalized and suppressed. The registry keeps the job and its
 * files (registry/export-jobs.ts), the pseudonymization service renders them
 * (pseudonym/research-export.ts); this handler composes the two. Status, files and cancel are
 * the insurer export's routes, authorized by the view's rule (patient-export-status.ts).
 */
import { errors } from '../../core/outcome.ts';
import type { PseudonymService } from '../../pseudonym/service.ts';
import { RESEARCH_TYPES, writeResearchExport } from '../../pseudonym/research-export.ts';
import type { ResearchPerson, ResearchType } from '../../pseudonym/research-export.ts';
import type { ExportJobs } from '../../registry/export-jobs.ts';
import { LINES_PER_FILE } from '../../registry/export.ts';
import { researchRows } from '../../registry/research-source.ts';
import type { RowAccess } from '../../core/access.ts';
import type { Principal } from '../../core/principal.ts';
import type { FhirContext } from '../context.ts';
import { header, preferences, rowsFor } from '../request.ts';
import type { FhirRequest, FhirResponse } from '../request.ts';
import type { Route } from '../router.ts';
import { domainOf } from '../interactions/pseudonymized.ts';

export interface PseudonymizedExportDeps {
  jobs: ExportJobs;
  pseudonyms: PseudonymService;
  isViewer: (p: Principal | undefined) => boolean;
  /** MEDID_EXPORT_K. */
  k: number;
}

const NDJSON = ['application/fhir+ndjson', 'application/ndjson', 'ndjson'];
const PAGE = 5000;

/** The parameters, from the query (GET) or a Parameters body (POST). */
function paramsOf(req: FhirRequest): Map<string, string> {
  const out = new Map<string, string>(req.query);
  const body = req.body as { resourceType?: string; parameter?: { name?: string; valueString?: string }[] } | undefined;
  if (req.method === 'POST' && body && typeof body === 'object' && body.resourceType === 'Parameters')
    for (const p of body.parameter ?? []) if (p.name && typeof p.valueString === 'string') out.set(p.name, p.valueString);
  return out;
}

async function* pages(ctx: FhirContext, access: RowAccess): AsyncGenerator<ResearchPerson[]> {
  let after = '';
  for (;;) {
    const page = await researchRows(ctx.uow.db, access, after, PAGE);
    if (page.length > 0) yield page;
    if (page.length < PAGE) return;
    after = (page[page.length - 1] as ResearchPerson).patientId;
  }
}

export function pseudonymizedExportRoutes(ctx: FhirContext, d: PseudonymizedExportDeps): Route[] {
  const handler = async (req: FhirRequest): Promise<FhirResponse> => {
    if (preferences(req)['respond-async'] === undefined)
      throw errors.badRequest('$export is asynchronous: send Prefer: respond-async', 'invalid-parameter', 'Prefer');
    const accept = header(req, 'accept');
    if (accept && !/application\/fhir\+json|application\/json|\*\/\*/.test(accept))
      throw errors.notAcceptable('$export answers with application/fhir+json (the files are NDJSON)');
    const params = paramsOf(req);
    for (const name of params.keys())
      if (!['_type', '_outputFormat', '_format', '_pretty'].includes(name))
        throw errors.badRequest(
          `Parameter ${name} is not available to a pseudonymized export (_type, _outputFormat; rule database.pseudonymized)`,
          'invalid-parameter',
          name,
        );
    const format = params.get('_outputFormat');
    if (format && !NDJSON.includes(format))
      throw errors.badRequest(`_outputFormat ${format} is not supported (application/fhir+ndjson)`, 'invalid-parameter', '_outputFormat');
    const asked = (params.get('_type') ?? RESEARCH_TYPES.join(',')).split(',').map((t) => t.trim());
    for (const t of asked)
      if (!RESEARCH_TYPES.includes(t as ResearchType))
        throw errors.badRequest(`_type: a pseudonymized export lists ${RESEARCH_TYPES.join(' and ')} only`, 'invalid-parameter', '_type');
    const domain = await domainOf(d, req);
    const access = rowsFor(req, 'read');
    const now = ctx.clock.now();
    const query = new URLSearchParams(req.query).toString();
    const id = await d.jobs.startWith(
      {
        clientId: req.principal?.clientId ?? 'internal',
        domain: domain.code,
        request: `${ctx.baseUrl}/Patient/$export${query ? `?${query}` : ''}`,
      },
      async (sink) => ({
        ...(await writeResearchExport(
          pages(ctx, access),
          d.pseudonyms,
          {
            domain,
            k: d.k,
            types: RESEARCH_TYPES.filter((t) => asked.includes(t)),
            today: now.toISOString().slice(0, 10),
            linesPerFile: LINES_PER_FILE,
          },
          sink,
        )),
      }),
    );
    return { status: 202, headers: { 'Content-Location': `${ctx.baseUrl}/_export/${id}` } };
  };
  const route = (method: 'GET' | 'POST'): Route => ({
    method,
    pattern: '/Patient/$export',
    name: '$export',
    type: 'Patient',
    view: 'pseudonymized',
    when: (req) => d.isViewer(req.principal),
    selfCommitting: true,
    access: () => [{ type: 'Patient', permission: 'r' }],
    handler,
  });
  return [route('GET'), route('POST')];
}
