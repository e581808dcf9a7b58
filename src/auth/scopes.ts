/**
 * SMART on FHIR scopes (App Launch 2.2, scopes-and-launch-context):
 *   v2  (patient|user|system)/(Type|*).(c?r?u?d?s?)[?param=value&…]
 *   v1  (patient|user|system)/(Type|*).(read|write|*)  → .rs, .cud, .cruds
 * Parsing, the granted = requested ∩ registered rule of the token endpoint, and the checks
 * the resource server makes on every interaction.
 */
import type { Permission, Scope, ScopeContext } from '../core/principal.ts';

const ORDER: readonly Permission[] = ['c', 'r', 'u', 'd', 's'];
const V1: Record<string, Permission[]> = { read: ['r', 's'], write: ['c', 'u', 'd'], '*': ['c', 'r', 'u', 'd', 's'] };
/** Permissions a fine-grained constraint may limit (medid filters reads and searches). */
const CONSTRAINABLE: ReadonlySet<Permission> = new Set(['r', 's']);
const SCOPE_RE = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]+)\.([a-z*]+)(?:\?(.+))?$/;

/** Parses one scope; undefined for anything that is not a resource scope (openid, launch…). */
export function parseScope(text: string, isResourceType: (t: string) => boolean = () => true): Scope | undefined {
  const m = SCOPE_RE.exec(text);
  if (!m) return undefined;
  const [, context, type, perms, query] = m as unknown as [string, ScopeContext, string, string, string | undefined];
  if (type !== '*' && !isResourceType(type)) return undefined;
  let permissions: Permission[];
  let v1 = false;
  const v1perms = V1[perms];
  if (v1perms) {
    permissions = v1perms;
    v1 = true;
  } else {
    // v2: letters in c r u d s order, each at most once.
    const letters = perms.split(''); // ASCII letters only (the regex allows [a-z*])
    if (
      letters.some(
        (l, i) =>
          !ORDER.includes(l as Permission) || (i > 0 && ORDER.indexOf(l as Permission) <= ORDER.indexOf(letters[i - 1] as Permission)),
      )
    ) {
      return undefined;
    }
    permissions = letters as Permission[];
  }
  if (v1 && query) return undefined;
  const constraints = query ? [...new URLSearchParams(query)] : [];
  return { context, type, permissions: new Set(permissions), constraints, v1, text };
}

export function parseScopes(text: string, isResourceType?: (t: string) => boolean): Scope[] {
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map((s) => parseScope(s, isResourceType))
    .filter((s): s is Scope => s !== undefined);
}

export function formatScope(s: Omit<Scope, 'text'>): string {
  const perms = ORDER.filter((p) => s.permissions.has(p)).join('');
  const q = s.constraints.length > 0 ? `?${new URLSearchParams(s.constraints as [string, string][]).toString()}` : '';
  return `${s.context}/${s.type}.${perms}${q}`;
}

/** The part of `requested` that `registered` allows, or undefined when nothing is. */
function intersect(requested: Scope, registered: Scope): Scope | undefined {
  if (requested.context !== registered.context) return undefined;
  let type: string;
  if (registered.type === '*' || registered.type === requested.type) type = requested.type;
  else if (requested.type === '*') type = registered.type;
  else return undefined;
  const constraints = [
    ...registered.constraints,
    ...requested.constraints.filter(([k, v]) => !registered.constraints.some(([k2, v2]) => k === k2 && v === v2)),
  ];
  // medid enforces constraints on reads and searches only; a constrained write is never granted.
  const permissions = new Set(
    ORDER.filter(
      (p) => requested.permissions.has(p) && registered.permissions.has(p) && (constraints.length === 0 || CONSTRAINABLE.has(p)),
    ),
  );
  if (permissions.size === 0) return undefined;
  const whole =
    type === requested.type && permissions.size === requested.permissions.size && constraints.length === requested.constraints.length;
  const out = { context: requested.context, type, permissions, constraints, v1: requested.v1 && whole };
  return { ...out, text: out.v1 ? requested.text : formatScope(out) };
}

/**
 * Granted scopes = requested ∩ registered (SMART: a backend client is clipped to its
 * pre-authorized set). Each requested scope keeps what any registered scope allows of it.
 */
export function grantScopes(requested: readonly Scope[], registered: readonly Scope[]): Scope[] {
  const out = new Map<string, Scope>();
  for (const r of requested) {
    for (const g of registered) {
      const s = intersect(r, g);
      if (s) out.set(s.text, s);
    }
  }
  return [...out.values()];
}

/** The scopes that give `permission` on `type` (any context the token carries). */
export function scopesFor(scopes: readonly Scope[], type: string, permission: Permission): Scope[] {
  // A constrained scope cannot grant a write: medid enforces constraints on reads and searches.
  return scopes.filter(
    (s) =>
      (s.type === '*' || s.type === type) && s.permissions.has(permission) && (s.constraints.length === 0 || CONSTRAINABLE.has(permission)),
  );
}

export function allows(scopes: readonly Scope[], type: string, permission: Permission): boolean {
  return scopesFor(scopes, type, permission).length > 0;
}
