/**
 * Task/[id]/$link (R19): a utilizing database named by an active linkage order sends its own
 * pseudonyms and gets back the order's project pseudonyms — the same for a person in every
 * database's answer, so the analysis environment joins on them, and no database learns
 * another's pseudonyms. Persons the database may not see (unknown, retired, or whose Consents
 * shut it out) get none; the answer counts them without saying which. Each person converted
 * is audited under their Patient id (their access history shows the linkage); the batch is
 * recorded by counts only.
 */
import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import type { RowAccess } from '../../core/access.ts';
import { errors } from '../../core/outcome.ts';
import type { Principal } from '../../core/principal.ts';
import { operationUrl } from '../../core/systems.ts';
import type { LinkageOrders } from '../../pseudonym/linkage.ts';
import { researchKeys } from '../../registry/research-source.ts';
import { asLinkage } from './linkage-order.ts';
import { defineOperation } from './operation.ts';
import type { OperationHandler } from './operation.ts';

export function taskLink(orders: LinkageOrders, pseudonymizedAccess: (p: Principal) => RowAccess): OperationHandler {
  return defineOperation<{ id: string; pseudonyms: string[] }>({
    url: operationUrl('Task-link'),
    selfCommitting: true,
    input: (call) => ({
      id: call.id ?? '',
      pseudonyms: call.input.all('pseudonym').filter((p): p is string => typeof p === 'string'),
    }),
    async handle(ctx, { id, pseudonyms }, call) {
      const principal = call.req.principal;
      if (!principal?.org || principal.org.kind !== 'database')
        throw errors.forbidden('Linkage: only a utilizing database converts its pseudonyms (rule linkage.domain)');
      const domain = principal.org.code;
      const access = pseudonymizedAccess(principal);
      const { order, kids } = await asLinkage(() => orders.keysOf(ctx.uow.db, id, domain, pseudonyms));
      const known = kids.filter((k): k is Buffer => k !== undefined);
      const visible = await researchKeys(ctx.uow.db, access, known);
      const patientOf = new Map(visible.map((v) => [v.kid.toString('hex'), v.patientId]));
      const pairs = pseudonyms
        .map((p, i) => ({ pseudonym: p, kid: kids[i], patientId: kids[i] && patientOf.get(kids[i].toString('hex')) }))
        .filter((x): x is { pseudonym: string; kid: Buffer; patientId: string } => x.patientId !== undefined);
      const project = await asLinkage(() =>
        orders.convert(
          ctx.uow.db,
          order,
          domain,
          pseudonyms.length,
          pairs.map((x) => x.kid),
        ),
      );
      const parameter: ParametersParameter[] = pairs.map((x, i) => ({
        name: 'link',
        part: [
          { name: 'pseudonym', valueString: x.pseudonym },
          { name: 'projectPseudonym', valueString: project[i] },
        ],
      }));
      parameter.push({ name: 'notLinked', valueInteger: pseudonyms.length - pairs.length });
      const body: Parameters = { resourceType: 'Parameters', parameter };
      return {
        status: 200,
        body,
        disclosed: pairs.map((x) => ({ resourceType: 'Task', id, patients: [x.patientId] })),
        query: `order=${id}&domain=${domain}&submitted=${pseudonyms.length}&linked=${pairs.length}`,
      };
    },
  });
}
