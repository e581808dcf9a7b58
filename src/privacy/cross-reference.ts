/**
 * Identifier cross-referencing (R12, IHE PIXm): from one identifier a caller knows, the person's
 * identifiers in the other domains it may see (identifier-domains.ts decides which). Refusals
 * carry PIXm's statuses: an unknown source domain 400, a target domain that is unknown or not
 * the caller's to see 403, an unknown identifier in a known domain 404. A person merged away
 * (`replaced-by`) answers only when no surviving person holds the identifier.
 *
 * A regional network's local ids are not on the Patient but in their own table (network-ids.ts,
 * fed by the network): a network-domain source is looked up there (following registry merges to
 * the survivor), and a caller that may see a network's domain (the authority, that network)
 * gets the person's local ids from there too. Other callers' answers never query it.
 */
import type { RowAccess } from '../core/access.ts';
import type { Identifier, Patient } from '@medplum/fhirtypes';
import { errors } from '../core/outcome.ts';
import type { Organization } from '../core/principal.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import type { StoredResource } from '../fhir/stored-resource.ts';
import type { UnitOfWork } from '../repo/unit-of-work.ts';
import { networkIdsOfPerson, personOfNetworkId } from '../store/network-ids.ts';
import { isPatientDomain, maySeeIdentifier, mayUseDomain, networkCodeOf } from './identifier-domains.ts';

export interface CrossReferenceQuery {
  system: string;
  value: string;
  /** Domains asked for; none: every domain the caller may see. */
  targets: readonly string[];
}

export interface CrossReference {
  patientId: string;
  versionId: number;
  identifiers: Identifier[];
}

const pixError = (status: 400 | 403 | 404, text: string, expression: string) =>
  status === 400
    ? errors.badRequest(text, 'invalid-parameter', expression, 'code-invalid')
    : status === 403
      ? errors.forbidden(text)
      : errors.notFound(text);

export async function crossReference(
  uow: UnitOfWork,
  q: CrossReferenceQuery,
  caller: Organization | undefined,
  o: { medicalIdSystem: string; normalizeIdentifier: (system: string, value: string) => string },
  access: RowAccess,
): Promise<CrossReference> {
  const { system, value } = q;
  if (!isPatientDomain(system, o.medicalIdSystem))
    throw pixError(400, 'sourceIdentifier Assigning Authority not found', 'sourceIdentifier');
  for (const t of q.targets) {
    if (!isPatientDomain(t, o.medicalIdSystem))
      throw pixError(403, `targetSystem ${t} is not a domain medid cross-references`, 'targetSystem');
    if (!mayUseDomain(caller, t, o.medicalIdSystem))
      throw pixError(403, `targetSystem ${t} is not a domain this client may see`, 'targetSystem');
  }
  if (!mayUseDomain(caller, system, o.medicalIdSystem))
    throw pixError(403, 'sourceIdentifier is in a domain this client may not query', 'sourceIdentifier');
  // Only persons within the caller's reach are cross-referenced; any other is "not found".
  let hit: StoredResource | undefined;
  if (networkCodeOf(system) !== undefined) {
    const bound = await personOfNetworkId(uow.db, system, value);
    hit = bound ? (await uow.resources.readMany('Patient', [bound.patientId], access))[0] : undefined;
  } else {
    const found = await uow.resources.findMatches('Patient', new URLSearchParams({ identifier: `${system}|${value}` }).toString(), access);
    const active = found.filter((r) => !((JSON.parse(r.content as string) as Patient).link ?? []).some((l) => l.type === 'replaced-by'));
    hit = active[0] ?? found[0];
  }
  if (!hit) throw pixError(404, 'sourceIdentifier Patient Identifier not found', 'sourceIdentifier');
  const patient = JSON.parse(hit.content as string) as Patient;
  const normalized = o.normalizeIdentifier(system, value);
  const networkSystems = networkSystemsFor(caller, q.targets);
  const local = networkSystems && networkSystems.length === 0 ? [] : await networkIdsOfPerson(uow.db, hit.id, networkSystems);
  const shown = [...(patient.identifier ?? []), ...local]
    .filter((id) => id.system && id.value && !(id.system === system && o.normalizeIdentifier(system, id.value) === normalized))
    .filter((id) => isPatientDomain(id.system as string, o.medicalIdSystem) && maySeeIdentifier(caller, id, o.medicalIdSystem))
    .filter((id) => q.targets.length === 0 || q.targets.includes(id.system as string));
  // Once each (a local id written on the Patient before the feed existed may be in the table too).
  const identifiers = shown.filter((id, i) => shown.findIndex((x) => x.system === id.system && x.value === id.value) === i);
  return { patientId: hit.id, versionId: hit.versionId, identifiers };
}

/**
 * The networks' local-ID systems whose ids the caller may receive: undefined for every network
 * (the authority asking for every domain), else a list — empty when the answer needs none.
 */
function networkSystemsFor(caller: Organization | undefined, targets: readonly string[]): readonly string[] | undefined {
  if (targets.length > 0) return targets.filter((t) => networkCodeOf(t) !== undefined); // each already allowed
  if (caller === undefined || caller.kind === 'authority') return undefined;
  return caller.kind === 'regional-network' ? [`${ID_SYSTEMS.networkPatientIdPrefix}${caller.code}`] : [];
}
