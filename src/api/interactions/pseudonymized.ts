/**
 * The pseudonymized view (issue 16 item 3): what a utilizing database reads. It composes the
 * registry (who a person key is, within the database's reach) with the pseudonymization
 * service (the database's pseudonyms), so neither holds the other's keys.
 *
 * A database names persons only by its own domain's pseudonyms and gets back resources rebuilt
 * from allow-lists (pseudonym/pseudonymized-*.ts):
 *   GET Patient/[pseudonym]
 *   GET Patient?identifier=[its domain's system]|[pseudonym],…  (or _id=[pseudonym],…)
 *   GET Coverage?beneficiary=Patient/[pseudonym]   (or patient=)
 *   GET EpisodeOfCare?patient=Patient/[pseudonym]
 * Any other parameter is a 400 naming it; another identifier system a 403 naming the rule;
 * anything else a database asks (history, includes, other types, $match, $ihe-pix…) falls to
 * the generic routes, whose rule for a database is `none`. An unknown pseudonym, a person out of
 * reach (a Consent that shuts the database out) and a retired person are the same 404, whose
 * text repeats no value. Each answer is audited by the persons' Patient ids (the person's
 * access history), which the database never sees.
 */
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import crypto from 'node:crypto';
import { errors } from '../../core/outcome.ts';
import type { Principal } from '../../core/principal.ts';
import type { PseudonymDomain } from '../../pseudonym/domains.ts';
import { currentInsurerKind, pseudonymizedCoverage } from '../../pseudonym/pseudonymized-coverage.ts';
import { pseudonymizedEpisodes } from '../../pseudonym/pseudonymized-episode.ts';
import { pseudonymizedPatient, pseudonymSystem } from '../../pseudonym/pseudonymized-patient.ts';
import type { PseudonymService } from '../../pseudonym/service.ts';
import { researchRowOf, serviceUsesOf } from '../../registry/research-source.ts';
import type { ResearchRow } from '../../registry/research-source.ts';
import type { Patient } from '@medplum/fhirtypes';
import type { FhirContext } from '../context.ts';
import { rowsFor } from '../request.ts';
import type { Disclosure, FhirRequest, FhirResponse } from '../request.ts';
import type { Route } from '../router.ts';

export interface PseudonymizedViewDeps {
  pseudonyms: PseudonymService;
  /** Whether the caller reads through this view (the access policy's `pseudonymized` types). */
  isViewer: (p: Principal | undefined) => boolean;
}

const NOT_FOUND = 'No person of this database has that pseudonym (or the person is out of its reach)';
/** Parameters every search accepts, which select nothing. */
const FORMAT = new Set(['_format', '_pretty', '_count', '_total']);

/** The caller's domain: its organization code (the client directory admits no database without one). */
export async function domainOf(d: Pick<PseudonymizedViewDeps, 'pseudonyms'>, req: FhirRequest): Promise<PseudonymDomain> {
  const code = req.principal?.org?.code ?? '';
  const domain = await d.pseudonyms.domains.get(code);
  if (!domain) throw errors.forbidden(`Access policy: the client's organization code is no pseudonym domain (rule database.domain)`);
  return domain;
}

/** The person behind one of the domain's pseudonyms, within the caller's reach. */
async function personOf(
  ctx: FhirContext,
  d: PseudonymizedViewDeps,
  req: FhirRequest,
  domain: string,
  pseudonym: string,
): Promise<ResearchRow | undefined> {
  let kid: Buffer | undefined;
  try {
    kid = await d.pseudonyms.kidOf(pseudonym, domain);
  } catch {
    return undefined; // a key version this deployment does not hold names nobody
  }
  return kid && researchRowOf(ctx.uow.db, rowsFor(req, 'read'), kid);
}

/** The values of one search parameter, split on unescaped commas (FHIR search OR). */
const values = (v: string): string[] => v.split(/(?<!\\),/).map((x) => x.replace(/\\,/g, ','));

/** The pseudonyms a search names, checked against the parameters its type accepts. */
function pseudonymsOf(ctx: FhirContext, req: FhirRequest, type: string, domain: string): string[] {
  const accepted: Record<string, readonly string[]> = {
    Patient: ['identifier', '_id'],
    Coverage: ['beneficiary', 'patient'],
    EpisodeOfCare: ['patient'],
  };
  const own = pseudonymSystem(domain);
  const out: string[] = [];
  for (const [name, value] of req.query) {
    if (FORMAT.has(name)) continue;
    if (!(accepted[type] ?? []).includes(name))
      throw errors.badRequest(
        `A database searches ${type} by its own pseudonyms only (${(accepted[type] ?? []).join(', ')}); parameter ${name} is not available (rule database.pseudonymized)`,
        'invalid-parameter',
        name,
      );
    for (const v of values(value)) {
      if (name === 'identifier' && v.includes('|')) {
        const bar = v.indexOf('|');
        if (v.slice(0, bar) !== own)
          throw errors.forbidden(
            `Access policy: a database searches by its own domain's pseudonyms only (system ${own}; rule database.identifier)`,
          );
        out.push(v.slice(bar + 1));
      } else if (name === 'beneficiary' || name === 'patient') {
        out.push(v.startsWith('Patient/') ? v.slice('Patient/'.length) : v);
      } else out.push(v);
    }
  }
  if (out.length === 0)
    throw errors.badRequest(`A database searches ${type} by pseudonym: give ${(accepted[type] ?? []).join(' or ')}`, 'invalid-parameter');
  if (out.length > ctx.maxCount) throw errors.badRequest(`At most ${ctx.maxCount} pseudonyms per search`, 'invalid-parameter');
  return [...new Set(out)];
}

function bundle(ctx: FhirContext, req: FhirRequest, type: string, resources: readonly Resource[]): string {
  const qs = new URLSearchParams(req.query).toString();
  const entry: BundleEntry[] = resources.map((r) => ({
    fullUrl: `${ctx.baseUrl}/${r.resourceType}/${r.id ?? ''}`,
    resource: r,
    search: { mode: 'match' },
  }));
  const b: Bundle = {
    resourceType: 'Bundle',
    id: crypto.randomUUID(),
    meta: { lastUpdated: ctx.clock.now().toISOString() },
    type: 'searchset',
    total: resources.length,
    link: [{ relation: 'self', url: `${ctx.baseUrl}/${type}${qs ? `?${qs}` : ''}` }],
    ...(entry.length > 0 ? { entry } : {}),
  };
  return JSON.stringify(b);
}

const disclosure = (type: string, row: ResearchRow): Disclosure => ({ resourceType: type, id: row.patientId, patients: [row.patientId] });

export function pseudonymizedRoutes(ctx: FhirContext, d: PseudonymizedViewDeps): Route[] {
  const when = (req: FhirRequest): boolean => d.isViewer(req.principal);
  const today = (): string => ctx.clock.now().toISOString().slice(0, 10);

  /** The resources of `type` for one person, as the domain sees them. */
  async function render(type: string, domain: PseudonymDomain, pseudonym: string, row: ResearchRow): Promise<Resource[]> {
    const precision = domain.birthDate ?? 'year-month';
    if (type === 'Patient')
      return [pseudonymizedPatient(JSON.parse(row.content) as Patient, { domain: domain.code, pseudonym, birthDatePrecision: precision })];
    if (type === 'Coverage') {
      const kind = currentInsurerKind(row.numbers, today());
      return kind ? [pseudonymizedCoverage(kind, pseudonym)] : [];
    }
    const uses = await serviceUsesOf(ctx.uow.db, row.patientId);
    return pseudonymizedEpisodes(uses, { pseudonym, precision, today: today() });
  }

  const search = (type: string): Route => ({
    method: 'GET',
    pattern: `/${type}`,
    name: 'search-type',
    type,
    view: 'pseudonymized',
    when,
    access: () => [{ type, permission: 's' }],
    handler: async (req): Promise<FhirResponse> => {
      const domain = await domainOf(d, req);
      const out: Resource[] = [];
      const disclosed: Disclosure[] = [];
      for (const pseudonym of pseudonymsOf(ctx, req, type, domain.code)) {
        const row = await personOf(ctx, d, req, domain.code, pseudonym);
        if (!row) continue;
        out.push(...(await render(type, domain, pseudonym, row)));
        disclosed.push(disclosure(type, row));
      }
      return { status: 200, body: { json: bundle(ctx, req, type, out) }, disclosed };
    },
  });

  return [
    {
      method: 'GET',
      pattern: '/Patient/:id',
      name: 'read',
      type: 'Patient',
      view: 'pseudonymized',
      when,
      access: () => [{ type: 'Patient', permission: 'r' }],
      handler: async (req, params): Promise<FhirResponse> => {
        const domain = await domainOf(d, req);
        const pseudonym = params['id'] ?? '';
        const row = await personOf(ctx, d, req, domain.code, pseudonym);
        if (!row) throw errors.notFound(NOT_FOUND);
        const [patient] = await render('Patient', domain, pseudonym, row);
        return { status: 200, body: patient as Patient, disclosed: [disclosure('Patient', row)] };
      },
    },
    search('Patient'),
    search('Coverage'),
    search('EpisodeOfCare'),
  ];
}
