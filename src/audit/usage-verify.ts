/**
 * `medid usage --verify`: the month's usage recounted from the AuditEvents themselves — each
 * event rendered as the AuditEvent API shows it (balp.ts `toAuditEvent`) and read back the way
 * an auditor outside medid would read it (the requesting organization's agent, the subtype
 * coding, the outcome, the Patient entity, the query entity's `grades`) — and compared with the
 * report's SQL figures, on one snapshot. Any difference is named by organization and metric.
 * Reads the month's events in pages of `PAGE` rows (by seq, between the month's first and last).
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import { ORG_KINDS } from '../core/principal.ts';
import { SYSTEMS } from '../core/systems.ts';
import type { Db } from '../store/db.ts';
import { onUsageSnapshot, usageEventsAfter, usageSeqRange } from '../store/usage.ts';
import { ORG_SYSTEM, toAuditEvent } from './balp.ts';
import { foldUsage, gradesCount, monthRange, orgKey, USAGE_METRICS, usageReport } from './usage.ts';
import type { OrgUsage, UsageFact, UsageReport } from './usage.ts';

const PAGE = 5000;
const KIND_OF_SYSTEM = new Map(ORG_KINDS.map((k) => [ORG_SYSTEM[k], k]));

/** What one AuditEvent says for metering: whose it is, and the fact it adds (undefined: no organization's). */
export function usageFactOf(e: AuditEvent): { org: OrgUsage['org']; fact: UsageFact } | undefined {
  const requestor = e.agent?.find((a) => a.requestor);
  const id = requestor?.who?.identifier;
  const kind = id?.system ? KIND_OF_SYSTEM.get(id.system) : undefined;
  if (!kind || !id?.value) return undefined;
  const login = e.type?.code === '110114';
  const st = e.subtype?.[0];
  const subtype = login ? 'login' : st?.code === 'operation' ? (st.display ?? '') : (st?.code ?? '');
  const ok = e.outcome === '0';
  const person = (e.entity ?? []).some((x) => x.role?.code === '1' && x.what?.reference?.startsWith('Patient/'));
  const query = (e.entity ?? []).find((x) => x.role?.system === SYSTEMS.objectRole && x.role.code === '24')?.query;
  const fact: UsageFact = { subtype, eventType: login ? 'login' : 'rest', ok, person, events: 1 };
  if (subtype === '$match' && ok)
    fact.matchPersons = gradesCount(new URLSearchParams(query ? Buffer.from(query, 'base64').toString('utf8') : '').get('grades'));
  return { org: { kind, code: id.value }, fact };
}

type ByOrg = Map<string, { org: OrgUsage['org']; facts: Map<string, UsageFact> }>;

/** Adds AuditEvents to a recount, one fact per kind of event (memory grows with kinds, not events). */
function addEvents(byOrg: ByOrg, events: Iterable<AuditEvent>): void {
  for (const e of events) {
    const f = usageFactOf(e);
    if (!f) continue;
    const key = orgKey(f.org.kind, f.org.code);
    let entry = byOrg.get(key);
    if (!entry) byOrg.set(key, (entry = { org: f.org, facts: new Map() }));
    const { subtype, eventType, ok, person, matchPersons } = f.fact;
    const sig = JSON.stringify([subtype, eventType, ok, person, matchPersons ?? null]);
    const seen = entry.facts.get(sig);
    if (seen) seen.events += 1;
    else entry.facts.set(sig, { ...f.fact });
  }
}

function recountOf(month: string, byOrg: ByOrg): UsageReport {
  const range = monthRange(month);
  if (!range) throw new Error(`"${month}" is not a month (YYYY-MM)`);
  const folded = new Map([...byOrg].map(([k, v]) => [k, { org: v.org, facts: [...v.facts.values()] }]));
  return { month, ...range, ...foldUsage(folded) };
}

/** The month's usage recounted from AuditEvents (every organization's). */
export function usageOfAuditEvents(month: string, events: Iterable<AuditEvent>): UsageReport {
  const byOrg: ByOrg = new Map();
  addEvents(byOrg, events);
  return recountOf(month, byOrg);
}

/** Differences between two reports of the same month, named by organization and metric (empty: they agree). */
export function usageDifferences(report: UsageReport, recount: UsageReport): string[] {
  const out: string[] = [];
  const other = new Map(recount.organizations.map((o) => [orgKey(o.org.kind, o.org.code), o]));
  const keys = new Set([...report.organizations.map((o) => orgKey(o.org.kind, o.org.code)), ...other.keys()]);
  const mine = new Map(report.organizations.map((o) => [orgKey(o.org.kind, o.org.code), o]));
  for (const key of [...keys].sort()) {
    const a = mine.get(key);
    const b = other.get(key);
    const name = key.replace('|', ' ');
    for (const m of USAGE_METRICS) {
      if ((a?.billable[m] ?? 0) !== (b?.billable[m] ?? 0))
        out.push(`${name}: ${m} ${a?.billable[m] ?? 0} in the report, ${b?.billable[m] ?? 0} in the AuditEvents`);
      if ((a?.refused[m] ?? 0) !== (b?.refused[m] ?? 0))
        out.push(`${name}: refused ${m} ${a?.refused[m] ?? 0} in the report, ${b?.refused[m] ?? 0} in the AuditEvents`);
    }
    if ((a?.events ?? 0) !== (b?.events ?? 0)) out.push(`${name}: ${a?.events ?? 0} events in the report, ${b?.events ?? 0} AuditEvents`);
  }
  return out;
}

export interface UsageVerification {
  report: UsageReport;
  /** AuditEvents of the month read (every one, an organization's or not). */
  auditEvents: number;
  /** Differences and broken invariants, of the report and of the recount; empty when all holds. */
  problems: string[];
}

/** The month's report and its recount from the AuditEvents, on one snapshot. */
export function verifyUsage(db: Db, month: string, baseUrl: string): Promise<UsageVerification> {
  const range = monthRange(month);
  if (!range) throw new Error(`"${month}" is not a month (YYYY-MM)`);
  return onUsageSnapshot(db, async (t) => {
    const report = await usageReport(t, month);
    const byOrg: ByOrg = new Map();
    let auditEvents = 0;
    const seqs = await usageSeqRange(t, range.from, range.to);
    if (seqs) {
      for (let after = seqs.first - 1; ;) {
        const page = await usageEventsAfter(t, range.from, range.to, after, seqs.last, PAGE);
        addEvents(
          byOrg,
          page.map((row) => toAuditEvent(row, { baseUrl })),
        );
        auditEvents += page.length;
        if (page.length < PAGE) break;
        after = page[page.length - 1]?.seq ?? seqs.last;
      }
    }
    const recount = recountOf(month, byOrg);
    const problems = [...report.problems, ...recount.problems.map((p) => `AuditEvents: ${p}`), ...usageDifferences(report, recount)];
    return { report, auditEvents, problems };
  });
}
