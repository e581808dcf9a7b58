/**
 * The access policy (R13–R20, R24), written as data in one place: for each organization kind,
 * how a person comes within its reach, which purposes its clients may use, how far it reaches
 * into each resource type for reading and for writing, and which operations it may call. The
 * README's and the IG's policy tables are generated from ACCESS_POLICY (so they cannot drift),
 * the matrix test iterates it, and `accessFor` turns it into the RowAccess every query compiles.
 *
 * Reach: `all` — every row; `related` — rows about persons within reach (every person the row
 * concerns, after the person's Consents); `own` — what the caller's own client did (its
 * AuditEvents); `none` — refused up front (403, naming the rule).
 * A hidden row answers 404, never 403: a 403 would tell the caller the row exists.
 */
import type { PersonReach, Relationship, RowAccess } from '../core/access.ts';
import { ALL_ROWS } from '../core/access.ts';
import { errors } from '../core/outcome.ts';
import type { CallerKind, Principal } from '../core/principal.ts';

export type Reach = 'all' | 'related' | 'own' | 'none';

/** Resource types grouped the way the policy speaks of them. */
export type TypeClass = 'registry' | 'personal' | 'directory' | 'other';

export interface TypeRule {
  read: Reach;
  write: Reach;
}

export interface KindPolicy {
  /** How a person comes within reach; undefined: the authority reaches everyone. */
  relationship: Relationship | undefined;
  /** Purposes of use its clients may be registered for; the first is the default. */
  purposes: readonly string[];
  /** Purposes that may break the glass (a registration must also list BTG). */
  breakTheGlass: boolean;
  /** Per type class, overridden per type by `types`. */
  classes: Record<TypeClass, TypeRule>;
  types: Readonly<Record<string, TypeRule>>;
  /** Operations (`$match`) it may call; the operation's own rules still apply. */
  operations: readonly string[];
  /** Whose Patients $match and $ihe-pix may name (a network identifies its enrolled persons, and reads nothing). */
  identify: Reach;
  /** How $match answers it (absent: as any search — persons within reach only, whole). */
  match?: MatchRule;
  /**
   * Types it reads pseudonymized only, through the pseudonymized view (api/interactions/
   * pseudonymized.ts: by its own pseudonyms, rebuilt from an allow-list, and Bulk $export after
   * the small-cell guard) — never through the generic interactions, whose rule stays `none`.
   */
  pseudonymized?: readonly string[];
}

/** $match for a kind that may look beyond its reach (a medical institution identifying a new patient). */
export interface MatchRule {
  /** Purposes it must run under. */
  purposes: ReadonlySet<string>;
  /** The most matches returned. */
  maxCount: number;
  /** Matches graded below this are not returned. */
  minGrade: 'certain' | 'probable';
  /** Persons outside its reach come back reduced to what confirms identity: no address, no telecom. */
  outsideReach: 'minimal';
}

/** Purposes that count as treatment (record location, $match for medical institutions). */
export const TREATMENT_PURPOSES: ReadonlySet<string> = new Set(['TREAT', 'ETREAT', 'CAREMGT', 'BTG']);

/** Reference data every kind reads whole: who and where, and the published conformance resources. */
export const DIRECTORY_TYPES: readonly string[] = [
  'Organization',
  'OrganizationAffiliation',
  'Endpoint',
  'Location',
  'HealthcareService',
  'Practitioner',
  'PractitionerRole',
  'CapabilityStatement',
  'StructureDefinition',
  'ImplementationGuide',
  'SearchParameter',
  'OperationDefinition',
  'CompartmentDefinition',
  'CodeSystem',
  'ValueSet',
  'ConceptMap',
  'NamingSystem',
  'Measure',
];

const R = (read: Reach, write: Reach): TypeRule => ({ read, write });

export const ACCESS_POLICY: Readonly<Record<CallerKind, KindPolicy>> = {
  authority: {
    relationship: undefined,
    purposes: ['HOPERAT', 'HSYSADMIN', 'TREAT', 'HPAYMT', 'HRESCH', 'PUBHLTH', 'HLEGAL', 'PATRQT'],
    breakTheGlass: false,
    classes: { registry: R('all', 'all'), personal: R('all', 'all'), directory: R('all', 'all'), other: R('all', 'all') },
    types: {},
    identify: 'all',
    operations: [
      '$register',
      '$resolve',
      '$register-card',
      '$change-medical-id',
      '$record-death',
      '$merge',
      '$unmerge',
      '$export',
      '$match',
      '$ihe-pix',
      '$feed-network-id',
      '$submit',
      '$record-locations',
      '$validate',
      '$linkage-order',
      '$approve',
      '$close',
      '$evaluate-measure',
    ],
  },
  'medical-institution': {
    relationship: 'care',
    purposes: ['TREAT', 'ETREAT', 'CAREMGT', 'HPAYMT', 'BTG'],
    breakTheGlass: true,
    classes: { registry: R('related', 'none'), personal: R('related', 'related'), directory: R('all', 'none'), other: R('none', 'none') },
    // Coverage is the insurer's; a Consent naming a hospital is the person's (or the authority's) to write.
    types: { Coverage: R('related', 'none'), Consent: R('related', 'none'), AuditEvent: R('own', 'none') },
    identify: 'related',
    operations: ['$match', '$ihe-pix', '$submit', '$record-locations', '$break-the-glass', '$validate', '$evaluate-measure'],
    match: { purposes: TREATMENT_PURPOSES, maxCount: 5, minGrade: 'probable', outsideReach: 'minimal' },
  },
  insurer: {
    relationship: 'membership',
    purposes: ['HPAYMT', 'COVERAGE', 'ELIGDTRM', 'ELIGVER', 'CLMATTCH', 'HOPERAT'],
    breakTheGlass: false,
    classes: { registry: R('related', 'none'), personal: R('none', 'none'), directory: R('all', 'none'), other: R('none', 'none') },
    // Its members' Coverages (writes to them too), and the registry's Tasks and notices about them.
    types: {
      Coverage: R('related', 'related'),
      Task: R('related', 'none'),
      Communication: R('related', 'none'),
      AuditEvent: R('own', 'none'),
    },
    identify: 'related',
    // $submit: an insurer may confirm a card; the answer withholds the person (eligibility/).
    // $resolve: its own held registrations (registry/registrar.ts resolve).
    operations: ['$register', '$resolve', '$export', '$match', '$ihe-pix', '$submit', '$validate', '$evaluate-measure'],
  },
  database: {
    // No identified data at all: persons only as the pseudonymized view shows them, in its own
    // domain. Not even its own AuditEvents: they name the persons' Patient ids, which every
    // other organization knows too (a join key across databases).
    relationship: 'research',
    purposes: ['HRESCH', 'CLINTRCH', 'PUBHLTH'],
    breakTheGlass: false,
    classes: { registry: R('none', 'none'), personal: R('none', 'none'), directory: R('all', 'none'), other: R('none', 'none') },
    types: {},
    identify: 'none',
    // $pseudonymize: sealed envelopes forwarded from providers, answered with its own pseudonyms (R18).
    operations: ['$export', '$pseudonymize', '$link', '$validate', '$evaluate-measure'],
    pseudonymized: ['Patient', 'Coverage', 'EpisodeOfCare'],
  },
  'regional-network': {
    relationship: 'consent',
    purposes: ['TREAT', 'CAREMGT'],
    breakTheGlass: false,
    classes: { registry: R('none', 'none'), personal: R('none', 'none'), directory: R('all', 'none'), other: R('none', 'none') },
    types: { AuditEvent: R('own', 'none') },
    identify: 'related',
    // $feed-network-id: its own local ids, for its enrolled persons (privacy/network-ids.ts).
    operations: ['$match', '$ihe-pix', '$feed-network-id', '$validate', '$evaluate-measure'],
  },
  person: {
    // A person signed in (SMART standalone patient launch, issue 17 item 5): their own records,
    // who accessed them (AuditEvents about them), their notices; the only writes are their own
    // Consents (deny or permit an organization, opt out, opt in to a network).
    relationship: 'self',
    purposes: ['PATRQT'],
    breakTheGlass: false,
    classes: { registry: R('related', 'none'), personal: R('related', 'none'), directory: R('all', 'none'), other: R('none', 'none') },
    types: { Consent: R('related', 'related'), AuditEvent: R('related', 'none') },
    identify: 'none',
    operations: [],
  },
};

/** Settings the policy reads (config). */
export interface AccessSettings {
  /** Days an eligibility confirmation keeps a care relationship (MEDID_CARE_RELATIONSHIP_DAYS). */
  careRelationshipDays: number;
  /** Days an insurer keeps reach of a member whose coverage ended (MEDID_MEMBERSHIP_RETENTION_DAYS). */
  membershipRetentionDays: number;
}

export class AccessPolicy {
  private readonly personal: ReadonlySet<string>;
  private readonly settings: AccessSettings;

  /** `personalTypes`: the types of the Patient compartment (fhir/compartment.ts), Patient aside. */
  constructor(personalTypes: readonly string[], settings: AccessSettings) {
    this.personal = new Set(personalTypes.filter((t) => t !== 'Patient'));
    this.settings = settings;
  }

  classOf(type: string): TypeClass {
    if (type === 'Patient') return 'registry';
    if (this.personal.has(type)) return 'personal';
    return DIRECTORY_TYPES.includes(type) ? 'directory' : 'other';
  }

  rule(kind: CallerKind, type: string): TypeRule {
    const k = ACCESS_POLICY[kind];
    return k.types[type] ?? k.classes[this.classOf(type)];
  }

  /** Refuses (403, naming the rule) what the caller's kind may never do on a type. */
  assertMay(p: Principal, type: string, what: 'read' | 'write'): void {
    const kind = kindOf(p);
    if (this.rule(kind, type)[what] === 'none') {
      throw errors.forbidden(`Access policy: ${kind} clients may not ${what} ${type} (rule ${kind}.${type}.${what} = none)`);
    }
  }

  /** How $match answers this caller: whole rows of the persons in reach, or a MatchRule. */
  matchRule(p: Principal): MatchRule | undefined {
    return ACCESS_POLICY[kindOf(p)].match;
  }

  /** Refuses (403) an operation the caller's kind may not call. */
  assertOperation(p: Principal, operation: string): void {
    const kind = kindOf(p);
    if (!ACCESS_POLICY[kind].operations.includes(operation)) {
      throw errors.forbidden(`Access policy: ${operation} is not available to ${kind} clients (rule ${kind}.operations)`);
    }
  }

  /** The rows a caller reads, writes and identifies, at `now` (one reach of persons shared by the three). */
  accessFor(p: Principal, now: Date): Record<'read' | 'write' | 'identify', RowAccess> {
    const kind = kindOf(p);
    const policy = ACCESS_POLICY[kind];
    if (policy.relationship === undefined) return { read: ALL_ROWS, write: ALL_ROWS, identify: ALL_ROWS };
    const person = this.personReach(p, policy.relationship, now);
    const limited = (what: 'read' | 'write' | 'identify'): RowAccess => ({ kind: 'limited', ...this.typesFor(kind, what), person });
    return { read: limited('read'), write: limited('write'), identify: limited('identify') };
  }

  /** The types the caller reads through the pseudonymized view only (none: it reads identified data, or nothing). */
  pseudonymizedTypes(p: Principal): readonly string[] {
    return ACCESS_POLICY[kindOf(p)].pseudonymized ?? [];
  }

  /**
   * The rows the pseudonymized view reads for the caller (before it rebuilds them): the persons
   * within its reach, for its pseudonymized types only. Refuses (403) a caller with no such view.
   */
  pseudonymizedAccess(p: Principal, type: string, now: Date): RowAccess {
    const kind = kindOf(p);
    const policy = ACCESS_POLICY[kind];
    const types = policy.pseudonymized ?? [];
    if (!types.includes(type) || policy.relationship === undefined)
      throw errors.forbidden(`Access policy: ${kind} clients have no pseudonymized view of ${type} (rule ${kind}.pseudonymized)`);
    return { kind: 'limited', anyTypes: [], personTypes: types, person: this.personReach(p, policy.relationship, now) };
  }

  private personReach(p: Principal, relationship: Relationship, now: Date): PersonReach {
    const window = relationship === 'care' ? this.settings.careRelationshipDays : this.settings.membershipRetentionDays;
    const instant = now.toISOString();
    const today = instant.slice(0, 10);
    return {
      actor: actorOf(p),
      relationship,
      code: relationship === 'self' ? (p.person ?? '') : (p.org?.code ?? ''),
      since: this.dayBefore(today, window),
      today,
      now: instant,
      purpose: p.purposeOfUse,
      breakTheGlass: p.purposeOfUse === 'BTG' && ACCESS_POLICY[kindOf(p)].breakTheGlass,
    };
  }

  /** `days` before `day` (YYYY-MM-DD), remembered for the day (every request asks it). */
  private dayBefore(day: string, days: number): string {
    const key = `${day}/${days}`;
    let hit = this.days.get(key);
    if (hit === undefined) {
      if (this.days.size > 64) this.days.clear();
      hit = new Date(Date.parse(`${day}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
      this.days.set(key, hit);
    }
    return hit;
  }

  private readonly days = new Map<string, string>();

  /** The types a kind reaches whole and those it reaches by person, for `what` (computed once per kind). */
  private typesFor(kind: CallerKind, what: 'read' | 'write' | 'identify'): { anyTypes: readonly string[]; personTypes: readonly string[] } {
    const key = `${kind}/${what}`;
    const hit = this.types.get(key);
    if (hit) return hit;
    const policy = ACCESS_POLICY[kind];
    const anyTypes = new Set<string>();
    const personTypes = new Set<string>();
    const consider = (type: string): void => {
      const reach = what === 'identify' ? (type === 'Patient' ? policy.identify : 'none') : this.rule(kind, type)[what];
      if (reach === 'all') anyTypes.add(type);
      else if (reach === 'related') personTypes.add(type);
    };
    for (const t of [...DIRECTORY_TYPES, 'Patient', ...Object.keys(policy.types)]) consider(t);
    if (what !== 'identify' && policy.classes.personal[what] !== 'none') for (const t of this.personal) consider(t);
    const out = { anyTypes: [...anyTypes], personTypes: [...personTypes] };
    this.types.set(key, out);
    return out;
  }

  private readonly types = new Map<string, { anyTypes: readonly string[]; personTypes: readonly string[] }>();
}

/** A person's principal is `person`; one without an organization is treated as the most restricted kind. */
export function kindOf(p: Principal): CallerKind {
  return p.person !== undefined ? 'person' : (p.org?.kind ?? 'database');
}

/** How consent rules and grants name an organization. */
export function actorOf(p: Principal): string {
  return p.org ? `${p.org.kind}:${p.org.code}` : '';
}
