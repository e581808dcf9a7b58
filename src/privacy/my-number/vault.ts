/**
 * My Number on the FHIR API: accepted as input only. A Patient written with an identifier in
 * medid's My Number system (`…/sid/my-number`) has that identifier removed before anything is
 * stored; its keyed MAC is bound to the patient in registry.my_number, in the same transaction.
 * `Patient?identifier=…/sid/my-number|<12 digits>` finds the patient through the MAC. The
 * digits never reach a table, a log line, an audit record or a response.
 */
import type { Resource } from '@medplum/fhirtypes';
import { errors, issue } from '../../core/outcome.ts';
import { parseMyNumber } from '../../identifiers/my-number.ts';
import { ID_SYSTEMS } from '../../core/systems.ts';
import type { WriteChange } from '../../repo/repository.ts';
import type { Db } from '../../store/db.ts';
import { bindMyNumber } from '../../store/my-number.ts';
import type { KeyedMac } from './mac.ts';

/** Symbol-keyed, so JSON.stringify never writes it anywhere and object spreads carry it. */
export const PENDING_MY_NUMBER = Symbol('medid.pendingMyNumberMac');

type WithPending = Resource & { [PENDING_MY_NUMBER]?: Buffer };

function containsMyNumber(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(containsMyNumber);
  if (typeof node !== 'object' || node === null) return false;
  const o = node as Record<string, unknown>;
  if (o['system'] === ID_SYSTEMS.myNumber) return true;
  return Object.values(o).some(containsMyNumber);
}

export class MyNumberVault {
  private readonly mac: KeyedMac;

  constructor(mac: KeyedMac) {
    this.mac = mac;
  }

  /** Write hook (before validation): strips My Number from a Patient and remembers its MAC. */
  readonly beforeWrite = (r: Resource): Resource => {
    if (r.resourceType !== 'Patient') {
      if (containsMyNumber(r)) {
        throw errors.invalid(
          [
            issue({
              code: 'business-rule',
              medid: 'invalid-identifier',
              text: 'My Number may only be given as a Patient identifier',
              expression: r.resourceType,
            }),
          ],
          422,
        );
      }
      return r;
    }
    // Not yet validated: a malformed identifier list is left for validation to refuse (400).
    const ids = Array.isArray(r.identifier) ? r.identifier.filter((x) => typeof x === 'object' && x !== null) : [];
    const mine = ids.map((id, i) => ({ id, i })).filter(({ id }) => id.system === ID_SYSTEMS.myNumber);
    if (mine.length === 0) return r;
    if (mine.length > 1) {
      throw errors.invalid(
        [
          issue({
            code: 'business-rule',
            medid: 'invalid-identifier',
            text: 'A person has one My Number; several were given',
            expression: 'Patient.identifier',
          }),
        ],
        422,
      );
    }
    const { id, i } = mine[0];
    const parsed = parseMyNumber(id.value ?? '');
    if (!parsed.ok) {
      throw errors.invalid(
        [issue({ code: 'value', medid: 'invalid-identifier', text: parsed.message, expression: `Patient.identifier[${i}].value` })],
        422,
      );
    }
    const rest = ids.filter((x) => x.system !== ID_SYSTEMS.myNumber);
    const out: WithPending = { ...r, identifier: rest.length > 0 ? rest : undefined };
    if (rest.length === 0) delete (out as { identifier?: unknown }).identifier;
    out[PENDING_MY_NUMBER] = this.mac.mac(parsed.value);
    return out;
  };

  /** Write hook (inside the write's transaction): binds each MAC to its patient. */
  readonly afterWrite = async (db: Db, changes: readonly WriteChange[]): Promise<void> => {
    for (const change of changes) {
      const written: WithPending | undefined = change.resource;
      const pending = written?.[PENDING_MY_NUMBER];
      if (!pending || change.action === 'delete') continue;
      const owner = await bindMyNumber(db, pending, this.mac.version, change.stored.id);
      if (owner !== change.stored.id) {
        throw errors.conflict('This My Number is already registered to another person', 'my-number-conflict');
      }
    }
  };

  /** Search: the MAC (hex) that identifies a searched My Number; 400 when it cannot be one. */
  searchKey(value: string): string {
    if (/^[0-9a-f]{64}$/.test(value)) return value; // already a key (a server-made paging link)
    const parsed = parseMyNumber(value);
    if (!parsed.ok) throw errors.badRequest(`Search parameter identifier: ${parsed.message}`, 'invalid-search-value', 'identifier');
    return this.mac.hex(parsed.value);
  }
}
