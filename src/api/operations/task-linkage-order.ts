/**
 * Task/$linkage-order (R19): the authority files a linkage order between two or more utilizing
 * databases — project, purpose, legal basis, period. It is stored inert (no key exists for it)
 * and answered as a Task whose `canonical-order` input is the exact text officers sign.
 */
import crypto from 'node:crypto';
import { errors } from '../../core/outcome.ts';
import { operationUrl } from '../../core/systems.ts';
import { assertAuthorityStaff } from '../../privacy/access-rules.ts';
import type { LinkageOrders } from '../../pseudonym/linkage.ts';
import { asLinkage, linkageTask } from './linkage-order.ts';
import { defineOperation } from './operation.ts';
import type { OperationHandler } from './operation.ts';

interface Input {
  domains: string[];
  project: string;
  purpose: string;
  legalBasis: string;
  start: string;
  end: string;
}

const text = (v: string | undefined, name: string): string => {
  if (v === undefined) throw errors.badRequest(`Parameter ${name} is required`, 'invalid-parameter', name);
  return v;
};

export function taskLinkageOrder(orders: LinkageOrders): OperationHandler {
  return defineOperation<Input>({
    url: operationUrl('Task-linkage-order'),
    selfCommitting: true,
    input: (call) => ({
      domains: call.input.all('domain').filter((d): d is string => typeof d === 'string'),
      project: text(call.input.string('project'), 'project'),
      purpose: text(call.input.string('purpose'), 'purpose'),
      legalBasis: text(call.input.string('legalBasis'), 'legalBasis'),
      start: text(call.input.string('start'), 'start'),
      end: text(call.input.string('end'), 'end'),
    }),
    async handle(ctx, i, call) {
      assertAuthorityStaff(call.req.principal?.org, '$linkage-order');
      const id = crypto.randomUUID();
      const filed = await asLinkage(() =>
        orders.prepare(
          id,
          { domains: i.domains, project: i.project, purpose: i.purpose, legalBasis: i.legalBasis, period: { start: i.start, end: i.end } },
          call.req.principal?.clientId ?? 'internal',
        ),
      );
      const task = await ctx.uow.transaction(async (tx) => {
        await orders.store(tx.db, filed);
        const { stored } = await tx.resources.create('Task', linkageTask(filed.order, filed.canonical), {
          id,
          idMinted: true,
          trusted: true,
        });
        return stored;
      });
      return {
        status: 201,
        headers: { Location: `${ctx.baseUrl}/Task/${task.id}/_history/${task.versionId}` },
        body: { json: task.content as string },
      };
    },
  });
}
