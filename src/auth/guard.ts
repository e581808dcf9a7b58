/**
 * Scope enforcement on the resource server: every route declares the permissions it needs
 * (read r, search s, create c, update u, delete d on a type); handlers ask for more where
 * the request reaches further (chained searches, _include, update-as-create). Fine-grained
 * scope constraints (`system/Observation.rs?category=laboratory`) become search criteria.
 */
import { errors } from '../core/outcome.ts';
import type { Permission, Principal } from '../core/principal.ts';
import { scopesFor } from './scopes.ts';

/** A permission on a resource type ('*' = every type): what a route or a step of it needs. */
export interface Need {
  type: string;
  permission: Permission;
}

function describe(n: Need): string {
  return `system/${n.type}.${n.permission}`;
}

/** Whether the principal holds `permission` on `type` ('*' needs a wildcard scope). */
export function can(p: Principal | undefined, type: string, permission: Permission): boolean {
  if (!p) return false;
  if (type === '*') return p.scopes.some((s) => s.type === '*' && s.permissions.has(permission));
  return scopesFor(p.scopes, type, permission).length > 0;
}

/** Throws 403 (insufficient_scope) unless every need is granted. */
export function assertAllowed(p: Principal | undefined, needs: readonly Need[]): void {
  if (!p) throw errors.unauthorized();
  const missing = needs.filter((n) => !can(p, n.type, n.permission));
  if (missing.length > 0) {
    throw errors.forbidden(`Insufficient scope: this request needs ${missing.map(describe).join(' and ')}`);
  }
}

/**
 * The constraint groups limiting `permission` on `type`: undefined when some granting scope
 * is unconstrained (no limit), otherwise one query-parameter group per constrained scope (any
 * one group must match).
 */
export function constraintsFor(p: Principal | undefined, type: string, permission: Permission): [string, string][][] | undefined {
  if (!p) return [];
  const granting = scopesFor(p.scopes, type, permission);
  if (granting.length === 0 || granting.some((s) => s.constraints.length === 0)) return undefined;
  return granting.map((s) => [...s.constraints]);
}
