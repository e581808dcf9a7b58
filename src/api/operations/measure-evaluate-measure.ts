/**
 * Measure/medid-usage/$evaluate-measure (R26, issue 19 item 1): an organization's usage in one
 * calendar month (Japan Standard Time) as a summary MeasureReport — FHIR's own operation on
 * medid's one Measure (profiles/Measure/medid-usage.json), whose groups are the metrics of
 * CodeSystem usage-metric. The figures are audit/usage.ts's, the same `medid usage` prints.
 *
 * R4's MeasureReport.subject cannot reference an Organization (R5's can): the organization is
 * named by R5's element through its cross-version extension, and by identifier (its code in the
 * AuditEvent agents' system), since an organization need not exist as a resource here. The
 * reporter is the authority's medid.
 *
 * Who may read it: an organization its own usage (any of its clients), the authority any
 * organization's; another organization's is refused with the rule named (403).
 */
import type { MeasureReport, MeasureReportGroup } from '@medplum/fhirtypes';
import { ORG_SYSTEM } from '../../audit/balp.ts';
import { monthRange, USAGE_METRICS, usageReport } from '../../audit/usage.ts';
import type { OrgUsage } from '../../audit/usage.ts';
import { errors } from '../../core/outcome.ts';
import { ORG_KINDS } from '../../core/principal.ts';
import type { Organization } from '../../core/principal.ts';
import { MEDID_CANONICAL } from '../../core/canonical.ts';
import { operationUrl, SYSTEMS } from '../../core/systems.ts';
import { defineOperation } from './operation.ts';
import type { OperationHandler } from './operation.ts';

export const USAGE_MEASURE_ID = 'medid-usage';
export const USAGE_MEASURE_URL = `${MEDID_CANONICAL}/Measure/${USAGE_MEASURE_ID}`;
/** R5's MeasureReport.subject (which may reference an Organization), as an R4 cross-version extension. */
export const R5_SUBJECT_EXTENSION = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-MeasureReport.subject';

const MEASURE_POPULATION = 'http://terminology.hl7.org/CodeSystem/measure-population';
const KIND_OF_SYSTEM = new Map(ORG_KINDS.map((k) => [ORG_SYSTEM[k], k]));

interface UsageInput {
  month: string;
  subject: Organization | undefined;
}

/** The month that periodStart and periodEnd name: YYYY-MM both, or its first and last day. */
export function monthOfPeriod(start: string, end: string): string | undefined {
  const month = start.slice(0, 7);
  const range = monthRange(month);
  if (!range) return undefined;
  if (start !== month && start !== `${month}-01`) return undefined;
  if (end === month) return month;
  const last = new Date(Date.parse(`${range.to.slice(0, 10)}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  return end === last ? month : undefined;
}

/** An organization named as system|code, in the AuditEvent agents' systems. */
function subjectOf(text: string): Organization {
  const bar = text.indexOf('|');
  const kind = bar > 0 ? KIND_OF_SYSTEM.get(text.slice(0, bar)) : undefined;
  const code = text.slice(bar + 1);
  if (!kind || !/^[A-Za-z0-9._:-]{1,64}$/.test(code))
    throw errors.badRequest(
      `Parameter subject: an organization as system|code, the system one of ${ORG_KINDS.map((k) => ORG_SYSTEM[k]).join(', ')}`,
      'invalid-parameter',
      'subject',
    );
  return { kind, code };
}

/** One group per metric: the billable count as the initial population, refused requests beside it. */
function groupOf(u: OrgUsage, metric: (typeof USAGE_METRICS)[number]): MeasureReportGroup {
  return {
    id: metric,
    code: { coding: [{ system: SYSTEMS.usageMetric, code: metric }] },
    population: [
      { code: { coding: [{ system: MEASURE_POPULATION, code: 'initial-population' }] }, count: u.billable[metric] },
      { code: { coding: [{ system: SYSTEMS.usageMetric, code: 'refused' }] }, count: u.refused[metric] },
    ],
  };
}

export function usageMeasureReport(u: OrgUsage, month: string, from: string, to: string, now: Date): MeasureReport {
  const lastDay = new Date(Date.parse(`${to.slice(0, 10)}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  const org = { identifier: { system: ORG_SYSTEM[u.org.kind as Organization['kind']], value: u.org.code }, type: 'Organization' as const };
  return {
    resourceType: 'MeasureReport',
    extension: [{ url: R5_SUBJECT_EXTENSION, valueReference: org }],
    identifier: [{ system: `${USAGE_MEASURE_URL}/report`, value: `${u.org.kind}|${u.org.code}|${month}` }],
    status: 'complete',
    type: 'summary',
    measure: USAGE_MEASURE_URL,
    date: now.toISOString(),
    reporter: { display: 'medid (the medical-ID authority)' },
    // The month in Japan Standard Time: its first instant to its last second.
    period: { start: from, end: `${lastDay}T23:59:59+09:00` },
    group: USAGE_METRICS.map((m) => groupOf(u, m)),
  };
}

export function measureEvaluateMeasure(): OperationHandler {
  return defineOperation<UsageInput>({
    url: operationUrl('Measure-evaluate-measure'),
    input(call) {
      if (call.id !== USAGE_MEASURE_ID)
        throw errors.notFound(`Measure/${call.id ?? ''} is not a Measure medid evaluates (${USAGE_MEASURE_ID})`);
      const start = call.input.string('periodStart') ?? '';
      const end = call.input.string('periodEnd') ?? '';
      const month = monthOfPeriod(start, end);
      if (!month)
        throw errors.badRequest(
          'periodStart and periodEnd must name one calendar month (Japan Standard Time): 2026-11 and 2026-11, or 2026-11-01 and 2026-11-30',
          'invalid-parameter',
          'periodStart',
        );
      const subject = call.input.string('subject');
      return { month, subject: subject === undefined ? undefined : subjectOf(subject) };
    },
    async handle(ctx, { month, subject }, call) {
      const own = call.req.principal?.org;
      const org = subject ?? own;
      if (!org) throw errors.badRequest('Parameter subject: name the organization (system|code)', 'invalid-parameter', 'subject');
      if (own && own.kind !== 'authority' && (own.kind !== org.kind || own.code !== org.code))
        throw errors.forbidden(
          "Access policy: an organization reads its own usage only; the authority reads any organization's (rule usage.own-organization)",
        );
      const report = await usageReport(ctx.uow.db, month, org);
      const usage = report.organizations[0];
      if (!usage) throw new Error('usage report without its organization');
      return { status: 200, body: usageMeasureReport(usage, month, report.from, report.to, ctx.clock.now()) };
    },
  });
}
