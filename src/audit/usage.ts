/**
 * Usage metering (issue 19 item 1, R26): what each organization used in a month, so that the
 * authority can share its costs by use. Derived from the audit log at report time — never
 * counted beside it:
 *
 * - "counted with the audit record (same transaction)": an event is written in the same
 *   statement (or transaction) as the disclosure it records; a use that left no event did not
 *   happen, and one whose event committed is counted. Counting from the events themselves
 *   keeps that exactly, with no second source of truth to drift and no work on the audit hot
 *   path (no counter row to update per request, no extra index: see README "Usage metering").
 * - "reconciled exactly with the AuditEvents": the figures are a function of the month's
 *   events; `verifyUsage` (audit/usage-verify.ts) recounts them from the FHIR AuditEvents as
 *   the API renders them and names any difference.
 *
 * The counting rules (which events count, and as how many) are this file's METRIC_OF and
 * `tally`; README "Usage metering" states them in words. A month is a calendar month in Japan
 * Standard Time, as the authority bills.
 */
import type { Db } from '../store/db.ts';
import { usageGroups } from '../store/usage.ts';
import type { UsageGroup } from '../store/usage.ts';

/** Japan Standard Time: UTC+9 all year. */
const JST_OFFSET = '+09:00';

/** What is metered, in report order. */
export const USAGE_METRICS = [
  'eligibility-confirmations',
  'match-calls',
  'persons-read',
  'export-records',
  'pseudonym-conversions',
] as const;
export type UsageMetric = (typeof USAGE_METRICS)[number];

/** The metric an event's subtype (restful interaction or operation) belongs to; others are not metered. */
export const METRIC_OF: Readonly<Record<string, UsageMetric>> = {
  // CoverageEligibilityRequest/$submit: one event per confirmation, whatever it answered.
  $submit: 'eligibility-confirmations',
  // Patient/$match (ITI-119): one event per person returned, one when none is.
  $match: 'match-calls',
  // Reads, searches and history: one event per person disclosed (one without a person when none is).
  read: 'persons-read',
  vread: 'persons-read',
  'search-type': 'persons-read',
  'search-system': 'persons-read',
  'history-instance': 'persons-read',
  'history-type': 'persons-read',
  'history-system': 'persons-read',
  // Bulk export files as they leave (an insurer's, a database's pseudonymized one), and `medid export`: one event per person in it.
  '$export-file': 'export-records',
  $export: 'export-records',
  // $pseudonymize (per person and providing organization) and Task/$link (per person converted).
  $pseudonymize: 'pseudonym-conversions',
  $link: 'pseudonym-conversions',
};

export interface Counts {
  'eligibility-confirmations': number;
  'match-calls': number;
  'persons-read': number;
  'export-records': number;
  'pseudonym-conversions': number;
}

export interface OrgUsage {
  org: { kind: string; code: string };
  /** Billable use, per metric. */
  billable: Counts;
  /** Refused or failed requests (outcome 4, 8 or 12), per metric: reported, never billed. */
  refused: Counts;
  /** Every audit event of the organization in the month, metered or not (writes, logins, other operations too). */
  events: number;
}

export interface UsageReport {
  /** YYYY-MM */
  month: string;
  /** The month's bounds, ISO 8601 in JST (`from` included, `to` excluded). */
  from: string;
  to: string;
  organizations: OrgUsage[];
  /** Events that break a counting invariant (a $match whose events do not come in whole calls); empty when all holds. */
  problems: string[];
}

export const zeroCounts = (): Counts => ({
  'eligibility-confirmations': 0,
  'match-calls': 0,
  'persons-read': 0,
  'export-records': 0,
  'pseudonym-conversions': 0,
});

/** A month (YYYY-MM) as its bounds in Japan Standard Time; undefined when it is no month. */
export function monthRange(month: string): { from: string; to: string } | undefined {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const next = mo === 12 ? `${y + 1}-01` : `${y}-${String(mo + 1).padStart(2, '0')}`;
  return { from: `${month}-01T00:00:00${JST_OFFSET}`, to: `${next}-01T00:00:00${JST_OFFSET}` };
}

/** How many persons a successful $match returned, from the `grades` of its audit query (comma-separated; URL-encoded or not). */
export function gradesCount(grades: string | null | undefined): number {
  if (!grades) return 0;
  return decodeURIComponent(grades).split(',').filter(Boolean).length;
}

/** One group of events, as both the SQL path and the AuditEvent recount see it. */
export interface UsageFact {
  subtype: string;
  eventType: string;
  ok: boolean;
  person: boolean;
  /** For a successful $match: how many persons its call returned. */
  matchPersons?: number;
  events: number;
}

/**
 * Adds facts to an organization's usage: the counting rules.
 * - eligibility confirmations: each successful `$submit` event (one per call);
 * - `$match` calls: a successful call returning n persons wrote max(n, 1) events, so each such
 *   event counts 1/max(n, 1) — whole calls, exactly (an event count that is not a multiple of
 *   max(n, 1) is reported as a problem, never rounded away);
 * - persons read, export records, pseudonym conversions: each successful event naming a Patient;
 * - refused: each failed event of a metered kind (a refused or failed request writes one).
 * Returns the `$match` events that do not make whole calls, by n (for the problem list).
 */
export function tally(u: OrgUsage, facts: Iterable<UsageFact>): Map<number, number> {
  const matchEvents = new Map<number, number>();
  for (const f of facts) {
    u.events += f.events;
    if (f.eventType !== 'rest') continue;
    const metric = METRIC_OF[f.subtype];
    if (!metric) continue;
    if (!f.ok) {
      u.refused[metric] += f.events;
      continue;
    }
    if (metric === 'eligibility-confirmations') u.billable[metric] += f.events;
    else if (metric === 'match-calls') {
      const perCall = Math.max(1, f.matchPersons ?? 0);
      matchEvents.set(perCall, (matchEvents.get(perCall) ?? 0) + f.events);
    } else if (f.person) u.billable[metric] += f.events;
  }
  const broken = new Map<number, number>();
  for (const [perCall, events] of matchEvents) {
    u.billable['match-calls'] += Math.floor(events / perCall);
    if (events % perCall !== 0) broken.set(perCall, events);
  }
  return broken;
}

export const orgKey = (kind: string, code: string): string => `${kind}|${code}`;

/** Folds facts keyed by organization into a report's organizations (sorted by kind, then code) and problems. */
export function foldUsage(
  byOrg: Map<string, { org: OrgUsage['org']; facts: UsageFact[] }>,
): Pick<UsageReport, 'organizations' | 'problems'> {
  const organizations: OrgUsage[] = [];
  const problems: string[] = [];
  for (const { org, facts } of byOrg.values()) {
    const u: OrgUsage = { org, billable: zeroCounts(), refused: zeroCounts(), events: 0 };
    for (const [perCall, events] of tally(u, facts))
      problems.push(
        `${org.kind} ${org.code}: ${events} successful $match event(s) of calls returning ${perCall} person(s) do not make whole calls`,
      );
    organizations.push(u);
  }
  organizations.sort((a, b) => a.org.kind.localeCompare(b.org.kind) || a.org.code.localeCompare(b.org.code));
  return { organizations, problems };
}

function factOf(g: UsageGroup): UsageFact {
  return {
    subtype: g.subtype,
    eventType: g.eventType,
    ok: g.ok,
    person: g.person,
    ...(g.grades === null ? {} : { matchPersons: gradesCount(g.grades) }),
    events: g.events,
  };
}

/** The month's usage of every organization (or of one: then exactly one entry, zeros when it did nothing). */
export async function usageReport(db: Db, month: string, org?: { kind: string; code: string }): Promise<UsageReport> {
  const range = monthRange(month);
  if (!range) throw new Error(`"${month}" is not a month (YYYY-MM)`);
  const byOrg = new Map<string, { org: OrgUsage['org']; facts: UsageFact[] }>();
  if (org) byOrg.set(orgKey(org.kind, org.code), { org, facts: [] });
  for (const g of await usageGroups(db, range.from, range.to, org)) {
    const key = orgKey(g.orgKind, g.orgCode);
    let entry = byOrg.get(key);
    if (!entry) byOrg.set(key, (entry = { org: { kind: g.orgKind, code: g.orgCode }, facts: [] }));
    entry.facts.push(factOf(g));
  }
  return { month, ...range, ...foldUsage(byOrg) };
}
