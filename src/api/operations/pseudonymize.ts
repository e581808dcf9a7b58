/**
 * $pseudonymize (system level; R18, privacy-design.md §4 "Delivery"): a utilizing database
 * forwards the sealed envelopes providers sent with their data and gets, per envelope, the work
 * number and its own pseudonym of the person — as a JWE to its registered encryption key. Named
 * after the operations of gPAS and the TTP-FHIR gateway so users recognise it; unlike theirs,
 * the input is never an identifier in clear: the database cannot read what it forwards.
 *
 * The services meet here and nowhere else: the registry opens each envelope and names the person
 * (registry/envelope.ts), the pseudonymization service turns the person key into the database's
 * pseudonym (pseudonym/service.ts), and auth seals the answer to the database's own key
 * (auth/client-encryption.ts). One AuditEvent per person resolved names the database (the
 * requesting agent), the provider that sealed the envelope, and the purpose (R21); it never
 * holds an identifier or a work number.
 */
import type { OperationOutcome, ParametersParameter } from '@medplum/fhirtypes';
import type { Sealer } from '../../auth/client-encryption.ts';
import type { Logger } from '../../core/logger.ts';
import { errors, issue } from '../../core/outcome.ts';
import type { MedidErrorCode } from '../../core/outcome.ts';
import { operationUrl, SYSTEMS } from '../../core/systems.ts';
import type { PseudonymService } from '../../pseudonym/service.ts';
import type { EnvelopeDesk, EnvelopeRule } from '../../registry/envelope.ts';
import type { Disclosure } from '../request.ts';
import { defineOperation } from './operation.ts';
import type { OperationHandler } from './operation.ts';

/** Envelopes per call (the OperationDefinition's `max` says the same; the parser refuses more with 400). */
export const MAX_ENVELOPES = 100;

type IssueCode = NonNullable<OperationOutcome['issue']>[number]['code'];

/** How a refusal reads in the result's OperationOutcome. */
function issueKind(rule: EnvelopeRule): { code: IssueCode; medid: MedidErrorCode } {
  switch (rule) {
    case 'envelope.replay':
      return { code: 'duplicate', medid: 'duplicate' };
    case 'envelope.person-unknown':
      return { code: 'not-found', medid: 'not-found' };
    case 'envelope.person-not-visible':
      return { code: 'business-rule', medid: 'business-rule' };
    case 'envelope.key':
    case 'envelope.decrypt':
    case 'envelope.sealer':
    case 'envelope.sealer-disabled':
    case 'envelope.sealer-kind':
    case 'envelope.jwks_uri':
    case 'envelope.signing-key':
    case 'envelope.signature':
    case 'envelope.aud':
      return { code: 'security', medid: 'forbidden' };
    default:
      return { code: 'invalid', medid: 'invalid-parameter' };
  }
}

export interface PseudonymizeDeps {
  desk: EnvelopeDesk;
  pseudonyms: PseudonymService;
  /** The calling client's answer sealer (its registered `use: "enc"` key). */
  answerSealer(clientId: string): Promise<Sealer>;
  logger: Logger;
}

export function pseudonymize(o: PseudonymizeDeps): OperationHandler {
  return defineOperation<{ envelopes: readonly unknown[] }>({
    url: operationUrl('pseudonymize'),
    // It records the work numbers it redeems, on its own connection: never inside a transaction Bundle.
    selfCommitting: true,
    input: (call) => ({ envelopes: call.input.all('envelope') }),
    async handle(_ctx, input, call) {
      const p = call.req.principal;
      if (p?.org?.kind !== 'database') throw errors.forbidden('$pseudonymize answers utilizing databases only (rule database.operations)');
      const domain = p.org.code;
      if (input.envelopes.length === 0)
        throw errors.badRequest(
          '$pseudonymize needs at least one envelope',
          'invalid-parameter',
          "Parameters.parameter.where(name='envelope')",
          'required',
        );
      if (input.envelopes.length > MAX_ENVELOPES)
        throw errors.payloadTooLarge(`$pseudonymize takes at most ${MAX_ENVELOPES} envelopes per call`);
      // Before any envelope is opened (and its work number spent): the database's domain, and its own key for the answer.
      if (!(await o.pseudonyms.domains.has(domain)))
        throw errors.forbidden(`the calling database's code is no pseudonym domain (rule database.domain)`);
      const sealer = await o.answerSealer(p.clientId);
      if (!sealer.ok)
        throw errors.forbidden(
          `$pseudonymize answers only to the database's registered encryption key: ${sealer.text} (rule pseudonymize.encryption-key)`,
        );

      const results: ParametersParameter[] = [];
      const disclosed: Disclosure[] = [];
      for (const [i, envelope] of input.envelopes.entries()) {
        const r = await o.desk.open(envelope, domain);
        const work: ParametersParameter[] = r.work === undefined ? [] : [{ name: 'work', valueString: r.work }];
        if (!r.ok) {
          o.logger.info(
            { requestId: call.req.requestId, rule: r.rule, database: domain, provider: r.sealer?.org.code },
            'sealed envelope refused',
          );
          const kind = issueKind(r.rule);
          const x = issue({ ...kind, text: r.text, expression: `Parameters.parameter.where(name='envelope')[${i}]` });
          x.details?.coding?.push({ system: SYSTEMS.medidErrorRule, code: r.rule });
          results.push({
            name: 'result',
            part: [
              ...work,
              { name: 'status', valueCode: 'refused' },
              { name: 'issues', resource: { resourceType: 'OperationOutcome', issue: [x] } },
            ],
          });
          continue;
        }
        const pseudonym = await o.pseudonyms.pseudonymOf(r.person.kid, domain);
        // The work number and the domain travel inside the encryption too: a stored answer says what it answers.
        const sealed = await sealer.seal(JSON.stringify({ pseudonym, target: domain, work: r.work }));
        results.push({
          name: 'result',
          part: [
            ...work,
            { name: 'status', valueCode: 'pseudonymized' },
            { name: 'target', valueCode: domain },
            { name: 'pseudonym', valueString: sealed },
          ],
        });
        disclosed.push({ resourceType: 'Patient', id: r.person.patientId, patients: [r.person.patientId], provider: r.sealer.org });
      }
      return {
        status: 200,
        body: { resourceType: 'Parameters', parameter: results },
        disclosed,
        // Counts only: the audit record never holds an envelope, a work number or an identifier.
        query: `envelopes=${input.envelopes.length}&pseudonymized=${disclosed.length}`,
      };
    },
  });
}
