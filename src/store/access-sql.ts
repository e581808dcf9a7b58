/**
 * The access policy in SQL: a RowAccess (core/access.ts) compiled into a predicate over a row's
 * resource type and patient compartment, so a row the caller may not see is never read and
 * never counted. The consent decision lives here, once, over privacy.consent_rule:
 *
 *   visible(person) = btg OR (NOT deny(actor) AND (permit(actor) OR (relationship AND NOT deny(anyone))))
 *
 * (compiled as one look at the person's rules — deny, permit or neither — then the relationship).
 *
 * An actor-specific rule outweighs a rule for everyone (a permit naming a network opens an
 * opted-out record to it); between the two effects on one actor, deny wins; break-the-glass
 * outweighs every deny (the person is told, and the access is flagged). A rule applies when
 * its purposes (none = all) include the request's, its classes (none = all) the row's type,
 * and its period today.
 */
import type { PersonReach, RowAccess } from '../core/access.ts';
import type { Sql } from './sql.ts';

/** The predicate for rows whose type is `typeExpr` and patient compartment `compExpr` (text[]): rows of mixed types. */
export function accessSql(b: Sql, a: RowAccess, typeExpr: string, compExpr: string): string {
  if (a.kind === 'all') return 'TRUE';
  const anyTypes = b.p(a.anyTypes, 'text[]');
  const personTypes = b.p(a.personTypes, 'text[]');
  return `(${typeExpr} = ANY(${anyTypes}) OR (${typeExpr} = ANY(${personTypes}) AND ${personsSql(b, a.person, () => typeExpr, compExpr)}))`;
}

/**
 * The same for rows of one known type (reads, searches): the type rule is decided here, so the
 * statement the database plans is small — a read runs it every time, and planning a predicate
 * over ninety type names costs more than executing it.
 */
export function accessSqlForType(b: Sql, a: RowAccess, type: string, compExpr: string): string {
  if (a.kind === 'all' || a.anyTypes.includes(type)) return 'TRUE';
  if (!a.personTypes.includes(type)) return 'FALSE';
  return personsSql(b, a.person, () => b.p(type, 'text'), compExpr);
}

/** Every person of the compartment is within reach (and there is at least one). */
function personsSql(b: Sql, r: PersonReach, typeExpr: () => string, compExpr: string): string {
  return `(cardinality(${compExpr}) > 0 AND NOT EXISTS (SELECT 1 FROM unnest(${compExpr}) AS ap(pid) WHERE NOT ${personSql(b, r, 'ap.pid', typeExpr)}))`;
}

/**
 * Whether the person `pid` (a Patient id expression) is within reach for a row of type
 * `typeExpr` (asked for only when the decision depends on the type: a statement parameter nothing
 * reads has no type PostgreSQL can infer): one look at the person's consent rules decides deny, permit or neither, then the
 * relationship decides.
 */
export function personSql(b: Sql, r: PersonReach, pid: string, typeExpr: () => string): string {
  // A person's own records: their Consents govern what others see, never what they see of themselves.
  if (r.relationship === 'self') return `(${pid} = ${b.p(r.code, 'text')})`;
  const actor = b.p(r.actor, 'text');
  const today = b.p(r.today, 'date');
  // The rule that decides, if any: the organization's own deny, then its own permit, then a deny
  // for everyone (a permit for everyone changes nothing: the relationship still decides).
  const verdict =
    `(SELECT c.effect FROM privacy.consent_rule c WHERE c.patient_id = ${pid} AND (c.actor = ${actor} OR (c.actor IS NULL AND c.effect = 'deny'))` +
    ` AND (cardinality(c.purposes) = 0 OR ${b.p(r.purpose, 'text')} = ANY(c.purposes)) AND (cardinality(c.classes) = 0 OR ${typeExpr()} = ANY(c.classes))` +
    ` AND (c.period_start IS NULL OR c.period_start <= ${today}) AND (c.period_end IS NULL OR c.period_end >= ${today})` +
    ` ORDER BY c.actor IS NULL, c.effect = 'permit' LIMIT 1)`;
  const consented = `(CASE ${verdict} WHEN 'permit' THEN TRUE WHEN 'deny' THEN FALSE ELSE ${relationshipSql(b, r, pid)} END)`;
  if (!r.breakTheGlass) return consented;
  const grant = probe(
    'privacy.btg_grant g',
    `g.patient_id = ${pid} AND g.actor = ${actor} AND g.expires_at > ${b.p(r.now, 'timestamptz')}`,
  );
  return `(${grant} OR ${consented})`;
}

/**
 * A one-row probe: `true` when a row matches, else NULL. Written as a scalar subquery, not
 * EXISTS, because PostgreSQL may turn an EXISTS into a hashed subplan that reads every row the
 * organization has (a hospital's thousands of care relationships) for each query; a scalar
 * subquery is always a per-person index probe.
 */
const probe = (from: string, where: string): string => `COALESCE((SELECT true FROM ${from} WHERE ${where} LIMIT 1), false)`;

function relationshipSql(b: Sql, r: PersonReach, pid: string): string {
  switch (r.relationship) {
    case 'care':
      return probe(
        'registry.service_use s',
        `s.patient_id = ${pid} AND s.org_code = ${b.p(r.code)} AND s.last_day >= ${b.p(r.since, 'date')}`,
      );
    case 'membership':
      return probe(
        'registry.person p JOIN registry.person_identifier i ON i.kid = p.kid',
        `p.patient_id = ${pid} AND i.payer = ${b.p(r.code)} AND (i.period_end IS NULL OR i.period_end >= ${b.p(r.since, 'date')})`,
      );
    case 'consent':
      return 'FALSE';
    case 'research':
      return 'TRUE';
    case 'self':
      return `(${pid} = ${b.p(r.code, 'text')})`;
  }
}
