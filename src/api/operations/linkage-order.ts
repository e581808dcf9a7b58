/**
 * What the linkage operations share ($linkage-order, $approve, $link, $close on Task): a
 * LinkageError as an OperationOutcome naming the rule, and the order's Task — the FHIR face of
 * pseudonym.linkage_order, which stays the truth (status, approvals, salt).
 */
import type { Task, TaskInput } from '@medplum/fhirtypes';
import { errors } from '../../core/outcome.ts';
import { SYSTEMS } from '../../core/systems.ts';
import { LinkageError } from '../../pseudonym/linkage.ts';
import type { LinkageOrder, LinkageOrderRow } from '../../pseudonym/linkage.ts';

/** A LinkageError as the OperationOutcome it answers (the step named), anything else unchanged. */
export function linkageOutcome(e: unknown): unknown {
  if (!(e instanceof LinkageError)) return e;
  switch (e.status) {
    case 400:
      return errors.badRequest(e.message, 'invalid-parameter');
    case 403:
      return errors.forbidden(`Linkage: ${e.message}`);
    case 404:
      return errors.notFound(e.message);
    case 409:
      return errors.conflict(e.message, 'business-rule');
    default:
      return errors.unprocessable(e.message);
  }
}

export async function asLinkage<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw linkageOutcome(e);
  }
}

const input = (code: string, value: Omit<TaskInput, 'type'>): TaskInput => ({
  type: { coding: [{ system: SYSTEMS.linkage, code }] },
  ...value,
});

const TASK_STATUS: Record<LinkageOrderRow['status'], Task['status']> = {
  requested: 'requested',
  active: 'in-progress',
  closed: 'completed',
  revoked: 'cancelled',
  expired: 'cancelled',
};

/** The order's Task: its terms as inputs (the canonical text among them, for officers to sign), its approvals as outputs. */
export function linkageTask(order: LinkageOrder, canonical: string, row?: Pick<LinkageOrderRow, 'status' | 'approvals'>): Task {
  const status = row?.status ?? 'requested';
  return {
    resourceType: 'Task',
    id: order.id,
    status: TASK_STATUS[status],
    ...(status === 'expired' || status === 'revoked' ? { statusReason: { text: status } } : {}),
    intent: 'order',
    code: { coding: [{ system: SYSTEMS.linkage, code: 'linkage-order', display: 'Linkage order between utilizing databases' }] },
    description: order.project,
    authoredOn: order.filed,
    requester: { identifier: { system: SYSTEMS.clientId, value: order.requestedBy } },
    restriction: { period: { start: order.period.start, end: order.period.end } },
    input: [
      ...order.domains.map((d) => input('domain', { valueCode: d })),
      input('project', { valueString: order.project }),
      input('purpose', { valueCoding: { system: SYSTEMS.actReason, code: order.purpose } }),
      input('legal-basis', { valueString: order.legalBasis }),
      input('period', { valuePeriod: { start: order.period.start, end: order.period.end } }),
      input('canonical-order', { valueString: canonical }),
    ],
    ...(row && row.approvals.length > 0
      ? {
          output: row.approvals.map((a) => ({
            type: { coding: [{ system: SYSTEMS.linkage, code: 'approval' }] },
            valueString: `${a.officer} ${a.approvedAt}`,
          })),
        }
      : {}),
  };
}
