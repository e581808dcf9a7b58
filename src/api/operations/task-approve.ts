/**
 * Task/[id]/$approve (R19): one authority officer's approval of a linkage order — a compact JWS
 * (`typ` medid-linkage-approval+jwt) signed with the officer's own registered client key, whose
 * payload carries `iss` (the officer's client id) and `order`: the order exactly as its Task's
 * `canonical-order` input reads. Sent by that officer. At the k-th distinct approval the order
 * becomes active. Refusals name the rule: a signature that does not verify, a signer that is
 * no officer, the order's own filer, another text, a second approval by the same officer, an
 * order no longer pending.
 */
import { errors } from '../../core/outcome.ts';
import type { Organization } from '../../core/principal.ts';
import { operationUrl } from '../../core/systems.ts';
import type { LinkageOrders } from '../../pseudonym/linkage.ts';
import { asLinkage, linkageTask } from './linkage-order.ts';
import type { LinkageOrder } from '../../pseudonym/linkage.ts';
import { defineOperation } from './operation.ts';
import type { OperationHandler } from './operation.ts';

export const APPROVAL_TYP = 'medid-linkage-approval+jwt';

/** Verifies a JWS as signed by the registered client its `iss` names (auth/client-signature.ts). */
export type ApprovalVerifier = (
  jws: string,
  typ: string,
) => Promise<
  { ok: true; clientId: string; org: Organization; payload: Record<string, unknown> } | { ok: false; step: string; text: string }
>;

export function taskApprove(orders: LinkageOrders, verify: ApprovalVerifier): OperationHandler {
  return defineOperation<{ id: string; jws: string }>({
    url: operationUrl('Task-approve'),
    selfCommitting: true,
    input: (call) => {
      const jws = call.input.string('approval');
      if (!jws) throw errors.badRequest('Parameter approval (a compact JWS) is required', 'invalid-parameter', 'approval');
      return { id: call.id ?? '', jws };
    },
    async handle(ctx, { id, jws }, call) {
      const signed = await verify(jws, APPROVAL_TYP);
      if (!signed.ok)
        throw errors.forbidden(`Linkage: the approval's signature does not verify (${signed.text}; rule signature.${signed.step})`);
      const task = await asLinkage(() =>
        ctx.uow.transaction(async (tx) => {
          const r = await orders.approve(tx.db, id, {
            officer: signed.clientId,
            officerIsAuthority: signed.org.kind === 'authority',
            caller: call.req.principal?.clientId ?? '',
            signedOrder: signed.payload['order'],
            jws,
          });
          const row = await orders.read(tx.db, id);
          const order = JSON.parse(row.canonical) as LinkageOrder;
          const { stored } = await tx.resources.update('Task', id, linkageTask(order, row.canonical, row), { trusted: true });
          return { stored, r };
        }),
      );
      return { status: 200, body: { json: task.stored.content as string } };
    },
  });
}
