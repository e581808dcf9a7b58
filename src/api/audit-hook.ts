/**
 * What gets audited around a dispatch, decided in one place (the router's `after` hook):
 * - reads, searches, history and operations on the Patient compartment: after the handler,
 *   before the response leaves, one AuditEvent per patient disclosed (at least one per query),
 *   with the response's audited writes in the same statement;
 * - failures and denials of authenticated requests on the compartment: one event, outcome 4
 *   (client error, denial) or 8 (server error), with the reason.
 * Creates, updates and deletes are audited inside the write's own transaction instead
 * (audit/write-audit.ts, a repository hook). If recording fails, the data is not disclosed:
 * the error replaces the response.
 */
import type { AuditLog } from '../audit/audit-log.ts';
import { auditRow } from '../audit/balp.ts';
import type { AuditAction, AuditInput } from '../audit/balp.ts';
import type { Clock } from '../core/clock.ts';
import type { Organization } from '../core/principal.ts';
import type { Logger } from '../core/logger.ts';
import { errors, isOutcomeError, isUnavailable, statusOf } from '../core/outcome.ts';
import type { PatientCompartment } from '../fhir/compartment.ts';
import { shown } from '../fhir/search/parse-values.ts';
import type { UnitOfWork } from '../repo/unit-of-work.ts';
import type { FhirRequest, FhirResponse } from './request.ts';
import type { Route, RouteParams } from './router.ts';

const ACTIONS: Record<string, AuditAction> = {
  read: 'R',
  vread: 'R',
  'search-type': 'E',
  'history-instance': 'E',
  'history-type': 'E',
  'history-system': 'E',
  create: 'C',
  update: 'U',
  'conditional-update': 'U',
  patch: 'U',
  'conditional-patch': 'U',
  delete: 'D',
  'conditional-delete': 'D',
};
/** Writes are audited in their own transaction (audit/write-audit.ts), not here. */
const WRITES = new Set<AuditAction>(['C', 'U', 'D']);
const SUBTYPE: Record<string, string> = { 'conditional-update': 'update', 'conditional-patch': 'patch', 'conditional-delete': 'delete' };

export interface AuditDeps {
  auditLog: AuditLog;
  compartment: PatientCompartment;
  baseUrl: string;
  clock: Clock;
  logger: Logger;
}

function actionOf(route: Route): AuditAction | undefined {
  return route.name.startsWith('$') ? 'E' : ACTIONS[route.name];
}

function baseInput(d: AuditDeps, req: FhirRequest): Omit<AuditInput, 'action' | 'subtype' | 'outcome' | 'patientId'> {
  return {
    principal: req.principal,
    purposeOfUse: req.purposeOfUse,
    requestId: req.requestId,
    remoteAddress: req.remoteAddress,
    recorded: d.clock.now(),
  };
}

/** The request's query for the audit record, with any My Number redacted. */
function queryString(req: FhirRequest): string {
  return new URLSearchParams(req.query.map(([k, v]) => [k, shown(v)])).toString();
}

/** The router hook: audits every dispatched request that concerns a patient's record. */
export function auditAfter(d: AuditDeps, tx: UnitOfWork | undefined) {
  return async (
    req: FhirRequest,
    route: Route,
    params: RouteParams,
    outcome: { response: FhirResponse } | { error: unknown },
  ): Promise<void> => {
    // Events this request wrote inside its transactions take their place in the access log now,
    // before anything leaves (outside a transaction's own router: its caller settles).
    if (!tx) {
      try {
        await d.auditLog.settle();
      } catch (err) {
        d.logger.error({ requestId: req.requestId, err: (err as Error).message }, 'the access log could not take the events written');
        if ('response' in outcome) throw errors.auditFailed(isUnavailable(err));
      }
    }
    const action = actionOf(route);
    if (!action) return;
    if (!d.auditLog.isEnabled) {
      if ('response' in outcome) await d.auditLog.record([], tx?.db, outcome.response.auditedWrites);
      return;
    }
    const type = params['type'] ?? route.type;
    const subtype = SUBTYPE[route.name] ?? route.name;
    const entity = type && params['id'] ? `${type}/${params['id']}` : undefined;
    if ('error' in outcome) {
      if (!req.principal || !(type === undefined || d.compartment.has(type))) return;
      const e = outcome.error;
      const status = isOutcomeError(e) ? statusOf(e.outcome) : 500;
      const text = isOutcomeError(e) ? (e.outcome.issue?.[0]?.details?.text ?? 'failed') : 'internal error';
      const row = auditRow({
        ...baseInput(d, req),
        action,
        subtype,
        outcome: status >= 500 ? 8 : 4,
        // Control characters (a NUL cannot even be stored) never reach the append-only log.
        outcomeDesc: `${status}: ${text}`.replace(/\p{Cc}/gu, ' '),
        patientId: type === 'Patient' ? params['id'] : undefined,
        entity,
        query: action === 'E' ? (route.auditQuery?.(req) ?? queryString(req)) : undefined,
      });
      try {
        await d.auditLog.record([row], tx?.db);
      } catch (err) {
        // The request failed anyway; keep its own error, but say loudly that audit failed.
        d.logger.error({ requestId: req.requestId, err: (err as Error).message }, 'audit of a failed request could not be recorded');
      }
      return;
    }
    if (WRITES.has(action)) return; // recorded inside the write's transaction
    const disclosed = outcome.response.disclosed ?? [];
    const touches = (type !== undefined && d.compartment.has(type)) || disclosed.some((x) => d.compartment.has(x.resourceType));
    if (!touches) return;
    // One event per patient — and per providing organization, when a disclosure names one (R21).
    const seen = new Map<string, { patientId: string; provider: Organization | undefined }>();
    for (const x of disclosed)
      for (const patientId of x.patients) {
        const key = x.provider ? `${patientId}\u0000${x.provider.kind}:${x.provider.code}` : patientId;
        if (!seen.has(key)) seen.set(key, { patientId, provider: x.provider });
      }
    const patients = [...seen.values()];
    const single = disclosed.length === 1 && action === 'R' ? disclosed[0] : undefined;
    const input = {
      ...baseInput(d, req),
      action,
      subtype,
      outcome: 0 as const,
      subtypeIhe: outcome.response.iheEvent,
      entity: single ? `${single.resourceType}/${single.id}${single.versionId ? `/_history/${single.versionId}` : ''}` : entity,
      query: action === 'E' ? (outcome.response.query ?? route.auditQuery?.(req) ?? queryString(req)) : undefined,
    };
    const rows = (patients.length > 0 ? patients : [{ patientId: undefined, provider: undefined }]).map(({ patientId, provider }) =>
      auditRow({ ...input, patientId, provider }),
    );
    try {
      await d.auditLog.record(rows, tx?.db, outcome.response.auditedWrites);
    } catch (err) {
      d.logger.error({ requestId: req.requestId, err: (err as Error).message }, 'audit could not be recorded; response withheld');
      // A database that cannot answer now stays a 503 with Retry-After: the client may try again.
      throw errors.auditFailed(isUnavailable(err));
    }
  };
}
