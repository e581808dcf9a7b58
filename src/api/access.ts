/**
 * The access policy at the door of every route (the router's authorization step): a kind of
 * organization that may never read or write a type, or call an operation, is refused here with
 * the rule named; everything else carries on with the rows it may see and write (req.access),
 * which every query then compiles in.
 */
import type { Need } from '../auth/guard.ts';
import type { AccessPolicy } from '../privacy/access-policy.ts';
import { NO_ROWS } from './request.ts';
import type { FhirRequest } from './request.ts';
import type { Route } from './router.ts';

/** Routes that serve an operation's later steps under the operation's own name. */
const OPERATION_OF: Readonly<Record<string, string>> = { '$export-file': '$export' };

export function authorizeByPolicy(policy: AccessPolicy, req: FhirRequest, route: Route, needs: readonly Need[], now: Date): void {
  const p = req.principal;
  if (!p) return;
  if (route.view === 'pseudonymized') {
    // Reads only: the view's own rule decides, and nothing is written or identified through it.
    if (route.name.startsWith('$')) policy.assertOperation(p, OPERATION_OF[route.name] ?? route.name);
    const read = policy.pseudonymizedAccess(p, route.type ?? '', now);
    req.access = { read, write: NO_ROWS, identify: NO_ROWS };
    return;
  }
  if (route.name.startsWith('$')) policy.assertOperation(p, OPERATION_OF[route.name] ?? route.name);
  else
    for (const n of needs) if (n.type !== '*') policy.assertMay(p, n.type, n.permission === 'r' || n.permission === 's' ? 'read' : 'write');
  req.access = policy.accessFor(p, now);
}
