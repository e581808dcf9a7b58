/**
 * Registrations held for review (R1): the Task the authority's staff (or the insurer) work from,
 * and what its resolution (Task/[id]/$resolve) writes back on it. The Task holds the record as
 * a contained Patient without My Number — its MAC waits in registry.review — and the candidates
 * as inputs; resolved, it is `completed` with the person as its output.
 */
import type { Task } from '@medplum/fhirtypes';
import type { OperationOutcomeError } from '../core/outcome.ts';
import { errors } from '../core/outcome.ts';
import type { Organization } from '../core/principal.ts';
import { ID_SYSTEMS, SYSTEMS } from '../core/systems.ts';
import { DEFAULT_RULES } from '../identifiers/kind.ts';
import { japanDay } from '../jp/date.ts';
import type { PersonRow } from '../store/persons.ts';
import { patientFromRecord, recordFromPatient } from './patient.ts';
import type { RegistrationRecord } from './record.ts';

/** What the reviewer decided: the record is this person, or a new one. */
export type ReviewChoice =
  | {
      kind: 'person';
      patientId: string;
      /** record: the held record's facts become the person's (as a registration would); identifiers: only its numbers and My Number are bound. */
      apply: 'record' | 'identifiers';
    }
  | { kind: 'new-person' };

export const REVIEW_APPLY = ['record', 'identifiers'] as const;

/** The Task's input and output types (text, as the held Task has always written them). */
const PROPOSED = 'proposed';
const CANDIDATE = 'candidate';

/** The review Task for a held record (`mac`: whether a My Number came with it; its MAC stays in registry.review). */
export function reviewTask(o: {
  record: RegistrationRecord;
  recordKey: string;
  reason: string;
  candidates: readonly PersonRow[];
  hasMyNumber: boolean;
  org: Organization | undefined;
  now: string;
}): Task {
  const proposed = { ...patientFromRecord({ ...o.record, myNumber: undefined }), id: PROPOSED };
  const { org, candidates } = o;
  return {
    resourceType: 'Task',
    status: 'requested',
    intent: 'proposal',
    priority: 'routine',
    identifier: [{ system: ID_SYSTEMS.registrationReview, value: o.recordKey }],
    code: { coding: [{ system: SYSTEMS.registryTask, code: 'registration-review', display: 'Registration held for review' }] },
    description: o.reason,
    authoredOn: o.now,
    ...(org
      ? {
          requester: {
            identifier: { system: org.kind === 'insurer' ? ID_SYSTEMS.insurerNumber : ID_SYSTEMS.organization, value: org.code },
          },
        }
      : {}),
    ...(candidates.length === 1 && candidates[0] ? { for: { reference: `Patient/${candidates[0].patientId}` } } : {}),
    contained: [proposed],
    input: [
      { type: { text: PROPOSED }, valueReference: { reference: `#${PROPOSED}` } },
      ...(o.hasMyNumber ? [{ type: { text: 'my-number' }, valueString: 'given (kept as a keyed MAC with the review)' }] : []),
      ...candidates.map((c) => ({ type: { text: CANDIDATE }, valueReference: { reference: `Patient/${c.patientId}` } })),
    ],
  };
}

/** The Task resolved: completed, its output naming the person and how the record was bound. */
export function resolvedTask(task: Task, o: { patientId: string; resolution: 'person' | 'new-person'; at: string }): Task {
  return {
    ...task,
    status: 'completed',
    businessStatus: { text: o.resolution === 'person' ? 'bound to a registered person' : 'registered as a new person' },
    lastModified: o.at,
    output: [
      { type: { text: 'person' }, valueReference: { reference: `Patient/${o.patientId}` } },
      { type: { text: 'resolution' }, valueCode: o.resolution },
    ],
  };
}

/** The Patient ids the review offered as candidates. */
export function candidatesOf(task: Task): string[] {
  return (task.input ?? []).flatMap((i) =>
    i.type.text === CANDIDATE && i.valueReference?.reference?.startsWith('Patient/') ? [i.valueReference.reference.slice(8)] : [],
  );
}

/**
 * The held record, read back from the Task's contained Patient (the inverse of how it was
 * written). Read as on the day it was held: a newborn's provisional name stays valid while
 * the review waits. The identifier rules are the lenient defaults: the record passed the
 * deployment's own when it was held.
 */
export function heldRecord(task: Task): RegistrationRecord {
  const proposed = task.contained?.find((c) => c.resourceType === 'Patient' && c.id === PROPOSED);
  const held = task.authoredOn ? new Date(task.authoredOn) : undefined;
  const r =
    proposed?.resourceType === 'Patient' && held && !Number.isNaN(held.getTime())
      ? recordFromPatient(proposed, undefined, DEFAULT_RULES, japanDay(held))
      : undefined;
  if (!r?.ok) throw refusal('unprocessable', 'review.record', 'The held record in Task.contained cannot be read', 'Task.contained');
  return r.record;
}

type RefusalKind = 'not-found' | 'forbidden' | 'conflict' | 'unprocessable';

/**
 * A refusal of a resolution as an OperationOutcome naming the rule — in its text, and as a code
 * of medid-error-rule beside the medid error code — and the element, when there is one.
 */
export function refusal(kind: RefusalKind, rule: string, text: string, expression?: string): OperationOutcomeError {
  const said = `${text} (rule ${rule})`;
  const e =
    kind === 'not-found'
      ? errors.notFound(said)
      : kind === 'forbidden'
        ? errors.forbidden(said)
        : kind === 'conflict'
          ? errors.conflict(said, rule.startsWith('review.my-number') ? 'my-number-conflict' : 'business-rule')
          : errors.unprocessable(said, 'business-rule', expression);
  const i = e.outcome.issue?.[0];
  if (i) {
    if (expression !== undefined) i.expression = [expression];
    i.details = { ...i.details, coding: [...(i.details?.coding ?? []), { system: SYSTEMS.medidErrorRule, code: rule }] };
  }
  return e;
}
