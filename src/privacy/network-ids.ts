/**
 * Regional networks' local patient ids (R12, issue 16 item 7): a network — the Patient Identity
 * Source of IHE PIXm's Patient Identity Feed [ITI-104] — feeds the local id it gives a person
 * enrolled in it, moves the person to a new one, or removes one; `$ihe-pix` then
 * cross-references it (cross-reference.ts).
 *
 * Why an operation (Patient/$feed-network-id) and not ITI-104's conditional update
 * (`PUT Patient?identifier=<local id>` with the network's Patient): the Patient is the
 * registry's, which a network may neither read nor write; a conditional update that stored
 * nothing of its body would say one thing and do another. And why a table (store/network-ids.ts),
 * not an identifier on the Patient: a network's domain is seen by the authority and that network
 * only (identifier-domains.ts), while everyone who reads a Patient sees every identifier on it.
 *
 * The rules:
 * - the local id is in a network's own domain (`…/sid/network-patient-id/<code>`); a network
 *   feeds its own domain only, the authority any network's (corrections, migrations);
 * - the person is named by the medical ID or another registry identifier the caller may query
 *   (never a local id), and must be enrolled: within the network's reach, which for a network is
 *   a permit Consent naming it — also when the authority feeds for it;
 * - one local id names one person, and a person has one local id per network: feeding a new one
 *   moves the person to it (the answer gives the one replaced); feeding the same pair again
 *   changes nothing; an id fed for someone else is 409. The database keeps both (keys of
 *   privacy.network_patient_id);
 * - removing works whoever the id names, enrolled or not (a network cleans up after a person
 *   withdraws); removing an id that names nobody changes nothing;
 * - every change is audited in its own transaction, naming the person; refusals never repeat
 *   an identifier's value.
 */
import type { RowAccess } from '../core/access.ts';
import type { Clock } from '../core/clock.ts';
import { errors } from '../core/outcome.ts';
import type { Organization, Principal } from '../core/principal.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import type { Patient } from '@medplum/fhirtypes';
import { facilityCodeOf } from '../identifiers/facility-patient-id.ts';
import type { UnitOfWork } from '../repo/unit-of-work.ts';
import type { Db } from '../store/db.ts';
import { feedNetworkId, personOfNetworkId, removeNetworkId } from '../store/network-ids.ts';
import { personByPatientId } from '../store/persons.ts';
import { ACCESS_POLICY } from './access-policy.ts';
import type { AccessPolicy } from './access-policy.ts';
import { isPatientDomain, mayUseDomain, networkCodeOf } from './identifier-domains.ts';

/** A local id's value: 1–64 visible ASCII characters, none of `|`, `,` and `\` (search syntax). */
const LOCAL_VALUE = /^[\x21-\x2b\x2d-\x5b\x5d-\x7b\x7d\x7e]{1,64}$/;

export interface Identified {
  system: string;
  value: string;
}

/** What a feed did: `added`, `moved` (from `previous`), `unchanged`, `removed`, `absent` (nothing to remove). */
export type FeedOutcome = 'added' | 'moved' | 'unchanged' | 'removed' | 'absent';

export interface FeedResult {
  outcome: FeedOutcome;
  /** The person the local id names (not given for a removal: the person may be beyond reach). */
  patientId?: string;
  /** The person's former local id in the network (`moved`). */
  previous?: Identified;
}

/** A change to record in the audit log, in the change's own transaction. */
export interface NetworkIdChange {
  action: 'C' | 'U' | 'D';
  patientId: string;
}

export interface NetworkIdsDeps {
  medicalIdSystem: string;
  clock: Clock;
  /** For the network's reach when the authority feeds for it. */
  policy: AccessPolicy;
  /** Records the change's AuditEvent inside the change's transaction (audit/, wired in app.ts). */
  audit: (db: Db, change: NetworkIdChange) => Promise<void>;
}

/** The network code of `local`'s system; refuses a system that is not a network's, or not the caller's. */
export function assertFeedableLocalId(caller: Organization | undefined, local: Identified): string {
  const code = networkCodeOf(local.system);
  if (code === undefined) {
    throw errors.badRequest(
      `localIdentifier.system must be a regional network's local-ID system (${ID_SYSTEMS.networkPatientIdPrefix}<network code>)`,
      'invalid-parameter',
      'localIdentifier',
    );
  }
  if (caller?.kind !== 'authority' && !(caller?.kind === 'regional-network' && caller.code === code)) {
    throw errors.forbidden('A regional network feeds local ids in its own local-ID domain only (localIdentifier.system)');
  }
  if (!LOCAL_VALUE.test(local.value)) {
    throw errors.badRequest(
      'localIdentifier.value must be 1–64 visible ASCII characters, without "|", "," or "\\"',
      'invalid-parameter',
      'localIdentifier',
    );
  }
  return code;
}

export class NetworkIds {
  private readonly d: NetworkIdsDeps;

  constructor(d: NetworkIdsDeps) {
    this.d = d;
  }

  /**
   * Feeds `local` as the local id of the person `person` names, for the caller `p` whose
   * request may identify `identify` (the persons within its reach). Runs in one transaction
   * with its audit record.
   */
  async feed(uow: UnitOfWork, p: Principal | undefined, local: Identified, person: Identified, identify: RowAccess): Promise<FeedResult> {
    const caller = p?.org;
    const code = assertFeedableLocalId(caller, local);
    this.assertPersonDomain(caller, person.system);
    // The network's reach, whoever feeds: the authority, which reaches everyone, feeds for a
    // network only the persons enrolled in it (under the network's default purpose of use).
    const access =
      p && caller?.kind === 'authority'
        ? this.d.policy.accessFor(
            {
              ...p,
              org: { kind: 'regional-network', code },
              purposeOfUse: ACCESS_POLICY['regional-network'].purposes[0] ?? p.purposeOfUse,
            },
            this.d.clock.now(),
          ).identify
        : identify;
    return uow.transaction(async (tx) => {
      const patientId = await this.enrolledPerson(tx, person, access);
      // The person's row, locked: feeds for one person (and a merge of it) take turns, so the
      // second of two equal feeds sees the first and changes nothing.
      const row = await personByPatientId(tx.db, patientId, true);
      if (!row || row.status === 'merged') throw notEnrolled();
      const bound = await personOfNetworkId(tx.db, local.system, local.value);
      if (bound) {
        if (bound.patientId === patientId) return { outcome: 'unchanged', patientId };
        throw errors.conflict(
          'localIdentifier is already fed for another person; remove it first if it was fed for the wrong one',
          'duplicate',
        );
      }
      const { previous } = await feedNetworkId(tx.db, { ...local, patientId, at: this.d.clock.now().toISOString() });
      await this.d.audit(tx.db, { action: previous === undefined ? 'C' : 'U', patientId });
      return previous === undefined
        ? { outcome: 'added', patientId }
        : { outcome: 'moved', patientId, previous: { system: local.system, value: previous } };
    });
  }

  /** Removes `local` (ITI-104's remove), whoever it names. */
  async remove(uow: UnitOfWork, caller: Organization | undefined, local: Identified): Promise<FeedResult> {
    assertFeedableLocalId(caller, local);
    return uow.transaction(async (tx) => {
      const fedFor = await removeNetworkId(tx.db, local.system, local.value);
      if (fedFor === undefined) return { outcome: 'absent' };
      await this.d.audit(tx.db, { action: 'D', patientId: fedFor });
      return { outcome: 'removed' };
    });
  }

  /** The medical ID or another registry identifier the caller may query — never a local id. */
  private assertPersonDomain(caller: Organization | undefined, system: string): void {
    if (!isPatientDomain(system, this.d.medicalIdSystem) || facilityCodeOf(system) !== undefined || networkCodeOf(system) !== undefined) {
      throw errors.badRequest(
        'patientIdentifier must be the medical ID or another registry identifier of the person (not a local id)',
        'invalid-parameter',
        'patientIdentifier',
      );
    }
    if (!mayUseDomain(caller, system, this.d.medicalIdSystem)) {
      throw errors.forbidden('patientIdentifier is in a domain this client may not query');
    }
  }

  /** The registry person `person` names among those within `access`; a person merged away does not count. */
  private async enrolledPerson(tx: UnitOfWork, person: Identified, access: RowAccess): Promise<string> {
    const found = await tx.resources.findMatches(
      'Patient',
      new URLSearchParams({ identifier: `${person.system}|${person.value}` }).toString(),
      access,
    );
    const live = found.find((r) => !((JSON.parse(r.content as string) as Patient).link ?? []).some((l) => l.type === 'replaced-by'));
    if (!live) throw notEnrolled();
    return live.id;
  }
}

/** One answer for "no such person", "not enrolled" and "merged away": which it is, is not the caller's to learn. */
const notEnrolled = () => errors.notFound('patientIdentifier names no person enrolled in the network (within its reach)');
