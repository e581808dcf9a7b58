/**
 * The access policy in SQL: a RowAccess (core/access.ts) compiled into a predicate over a row's
 * resource type and patient compartment, so a row the caller may not see is never read and
 * never counted. The consent decision lives here, once, over privacy.consent_rule:
 *
 *   visible(person) = btg OR (NOT deny(actor) AND (permit(actor) OR (relationship AND NOT deny(anyone))))
 *
 * An actor-specific rule outweighs a rule for everyone (a permit naming a network opens an
 * opted-out record to it); between the two effects on one actor, deny wins; break-the-glass
 * outweighs every deny (the person is told, and the access is flagged). A rule applies when
 * its purposes (none = all) include the request's, its classes (none = all) the row's type,
 * and its period today.
 */
import type { PersonReach, RowAccess } from '../core/access.ts';
import type { Sql } from './sql.ts';

/** The predicate for rows whose type is `typeExpr` and patient compartment `compExpr` (text[]). */
export function accessSql(b: Sql, a: RowAccess, typeExpr: string, compExpr: string): string {
  if (a.kind === 'all') return 'TRUE';
  const anyTypes = b.p(a.anyTypes, 'text[]');
  const personTypes = b.p(a.personTypes, 'text[]');
  const visible = personSql(b, a.person, 'ap.pid', typeExpr);
  return `(${typeExpr} = ANY(${anyTypes}) OR (${typeExpr} = ANY(${personTypes}) AND cardinality(${compExpr}) > 0 AND NOT EXISTS (SELECT 1 FROM unnest(${compExpr}) AS ap(pid) WHERE NOT ${visible})))`;
}

/** Whether the person `pid` (a Patient id expression) is within reach for a row of type `typeExpr`. */
export function personSql(b: Sql, r: PersonReach, pid: string, typeExpr: string): string {
  const actor = b.p(r.actor);
  const today = b.p(r.today, 'date');
  const purpose = b.p(r.purpose);
  const rule = (effect: 'permit' | 'deny', actorCond: string): string =>
    `EXISTS (SELECT 1 FROM privacy.consent_rule c WHERE c.patient_id = ${pid} AND ${actorCond} AND c.effect = '${effect}'` +
    ` AND (cardinality(c.purposes) = 0 OR ${purpose} = ANY(c.purposes)) AND (cardinality(c.classes) = 0 OR ${typeExpr} = ANY(c.classes))` +
    ` AND (c.period_start IS NULL OR c.period_start <= ${today}) AND (c.period_end IS NULL OR c.period_end >= ${today}))`;
  const own = (effect: 'permit' | 'deny'): string => rule(effect, `c.actor = ${actor}`);
  const relationship = relationshipSql(b, r, pid);
  const consented = `(NOT ${own('deny')} AND (${own('permit')} OR (${relationship} AND NOT ${rule('deny', 'c.actor IS NULL')})))`;
  if (!r.breakTheGlass) return consented;
  const grant = `EXISTS (SELECT 1 FROM privacy.btg_grant g WHERE g.patient_id = ${pid} AND g.actor = ${actor} AND g.expires_at > ${b.p(r.now, 'timestamptz')})`;
  return `(${grant} OR ${consented})`;
}

function relationshipSql(b: Sql, r: PersonReach, pid: string): string {
  switch (r.relationship) {
    case 'care':
      return `EXISTS (SELECT 1 FROM registry.service_use s WHERE s.patient_id = ${pid} AND s.org_code = ${b.p(r.code)} AND s.last_day >= ${b.p(r.since, 'date')})`;
    case 'membership':
      return `EXISTS (SELECT 1 FROM registry.person p JOIN registry.person_identifier i ON i.kid = p.kid WHERE p.patient_id = ${pid} AND i.payer = ${b.p(r.code)} AND (i.period_end IS NULL OR i.period_end >= ${b.p(r.since, 'date')}))`;
    case 'consent':
      return 'FALSE';
  }
}
