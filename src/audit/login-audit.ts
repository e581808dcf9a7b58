/**
 * Token requests in the audit log (DCM 110114 User Authentication, subtype 110122 Login): the
 * token endpoint announces each attempt (auth/token-endpoint.ts), and app.ts hands it here.
 * Refusals name the failing step; the assertion itself is never recorded.
 */
import type { LoginAttempt } from '../core/events.ts';
import { DEFAULT_PURPOSE_OF_USE } from '../core/systems.ts';
import type { AuditRow } from '../store/audit.ts';
import { auditRow } from './balp.ts';

export function loginAuditRow(a: LoginAttempt): AuditRow {
  return auditRow({
    action: 'E',
    subtype: 'login',
    eventType: 'login',
    outcome: a.outcome,
    outcomeDesc: a.description,
    principal: undefined,
    claimedClientId: a.clientId,
    purposeOfUse: DEFAULT_PURPOSE_OF_USE,
    requestId: a.requestId,
    remoteAddress: a.remoteAddress,
    patientId: a.patientId,
    recorded: a.at,
  });
}
