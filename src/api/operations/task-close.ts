/**
 * Task/[id]/$close (R19): the authority ends a linkage order — `completed` (the study has its
 * data) or `revoked` (before or during) — and its salt is destroyed: its project pseudonyms can
 * never be made again, by anyone. An order also ends by itself when its period is over.
 */
import { errors } from '../../core/outcome.ts';
import { operationUrl } from '../../core/systems.ts';
import { assertAuthorityStaff } from '../../privacy/access-rules.ts';
import type { LinkageOrder, LinkageOrders } from '../../pseudonym/linkage.ts';
import { asLinkage, linkageTask } from './linkage-order.ts';
import { defineOperation } from './operation.ts';
import type { OperationHandler } from './operation.ts';

export function taskClose(orders: LinkageOrders): OperationHandler {
  return defineOperation<{ id: string; how: 'closed' | 'revoked' }>({
    url: operationUrl('Task-close'),
    selfCommitting: true,
    input: (call) => {
      const reason = call.input.string('reason') ?? 'completed';
      if (reason !== 'completed' && reason !== 'revoked')
        throw errors.badRequest('Parameter reason: completed or revoked', 'invalid-parameter', 'reason');
      return { id: call.id ?? '', how: reason === 'completed' ? 'closed' : 'revoked' };
    },
    async handle(ctx, { id, how }, call) {
      assertAuthorityStaff(call.req.principal?.org, '$close');
      await asLinkage(() => orders.end(ctx.uow.db, id, how));
      const row = await asLinkage(() => orders.read(ctx.uow.db, id));
      const order = JSON.parse(row.canonical) as LinkageOrder;
      const { stored } = await ctx.uow.transaction((tx) =>
        tx.resources.update('Task', id, linkageTask(order, row.canonical, row), { trusted: true }),
      );
      return { status: 200, body: { json: stored.content as string } };
    },
  });
}
