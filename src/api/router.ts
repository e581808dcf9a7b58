/**
 * Framework-free routing: a table of (method, path pattern) → handler. Path segments are
 * literals, `:type` (an R4 resource type), `:id`, `:vid`, or `$op` (an operation name).
 */
import type { Need } from '../auth/guard.ts';
import { errors } from '../core/outcome.ts';
import type { FhirRequest, FhirResponse, HttpMethod } from './request.ts';

export type RouteParams = Record<string, string>;
export type Handler = (req: FhirRequest, params: RouteParams) => Promise<FhirResponse>;

export interface Route {
  method: HttpMethod;
  /** e.g. `/:type/:id/_history/:vid`, `/:type/$validate`, `/metadata`. */
  pattern: string;
  /** The interaction or operation name, for logs, scopes, audit and the CapabilityStatement. */
  name: string;
  handler: Handler;
  /** The resource type of a route with a literal type segment (`/AuditEvent/:id`). */
  type?: string;
  /** SMART permissions the route needs, checked before the handler runs. */
  access?: (req: FhirRequest, params: RouteParams) => Need[];
  /** Public routes (metadata) need no token; everything else does. */
  public?: boolean;
  /** Whether a `:type` segment also matches sealed types (operations such as $validate do). */
  anyType?: boolean;
  /**
   * The handler's work does not run in the request's unit of work: it commits its own
   * transactions, reads on its own connection, or starts background work. Such a route cannot
   * be an entry of a transaction Bundle (it would escape the Bundle's atomicity, run again when
   * the Bundle's transaction is retried, or, on the embedded database, wait on it forever).
   */
  selfCommitting?: boolean;
  /**
   * What the audit record keeps of the request's query when the response does not say (a
   * failure, say): default the query string with My Number redacted. A route whose query carries
   * personal data (GET Patient/$match) keeps only which kinds of data were given.
   */
  auditQuery?: (req: FhirRequest) => string;
  /**
   * A route for some callers only (the pseudonymized view serves utilizing databases): for any
   * other request the router looks on, as if the route were not there.
   */
  when?: (req: FhirRequest) => boolean;
  /** Authorized by the pseudonymized view's rule (the access policy's `pseudonymized` types), not the type rules. */
  view?: 'pseudonymized';
}

/** Cross-cutting steps around every dispatch: authorization before, audit after. */
export interface RouterHooks {
  authorize(req: FhirRequest, route: Route, params: RouteParams): void | Promise<void>;
  after(req: FhirRequest, route: Route, params: RouteParams, outcome: { response: FhirResponse } | { error: unknown }): Promise<void>;
}

interface Compiled extends Route {
  segments: string[];
}

/** A path segment, decoded; a malformed %-escape or a control character is the client's 400. */
function decodeSegment(p: string): string {
  let s: string;
  try {
    s = decodeURIComponent(p);
  } catch {
    throw errors.badRequest('A path segment has an invalid %-encoding (RFC 3986 §2.1)', 'invalid-parameter');
  }
  if (/\p{Cc}/u.test(s)) throw errors.badRequest('A path segment contains a control character', 'invalid-parameter');
  return s;
}

export class Router {
  private readonly routes: Compiled[] = [];
  private readonly isResourceType: (t: string) => boolean;
  private readonly hooks: RouterHooks | undefined;
  /** Types served only by their literal routes: generic `:type` routes do not apply to them. */
  private readonly sealed = new Set<string>();

  constructor(isResourceType: (t: string) => boolean, hooks?: RouterHooks) {
    this.isResourceType = isResourceType;
    this.hooks = hooks;
  }

  seal(type: string): void {
    this.sealed.add(type);
  }

  add(route: Route): void {
    this.routes.push({ ...route, segments: route.pattern.split('/').filter(Boolean) });
  }

  /** The route for a method and path (and the request, for routes `when` it applies), or undefined; `allowed` lists methods the path accepts. */
  match(
    method: HttpMethod,
    path: string,
    req?: FhirRequest,
  ): { route: Route; params: RouteParams } | { route: undefined; allowed: HttpMethod[]; typeError?: string } {
    const parts = path.split('/').filter(Boolean).map(decodeSegment);
    const allowed: HttpMethod[] = [];
    let typeError: string | undefined;
    for (const r of this.routes) {
      if (r.segments.length !== parts.length) continue;
      if (r.when && !(req && r.when(req))) continue;
      const params: RouteParams = {};
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const seg = r.segments[i];
        const part = parts[i];
        if (seg === ':type') {
          if (!this.isResourceType(part) || (this.sealed.has(part) && !r.anyType)) {
            ok = false;
            if (/^[A-Z]/.test(part) && !this.isResourceType(part)) typeError = part;
          }
          params['type'] = part;
        } else if (seg.startsWith(':')) {
          if (part.startsWith('$') || part.startsWith('_')) ok = false;
          params[seg.slice(1)] = part;
        } else if (seg !== part) {
          ok = false;
        }
      }
      if (!ok) continue;
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return { route: r, params };
      allowed.push(r.method);
    }
    return { route: undefined, allowed, typeError };
  }

  async dispatch(req: FhirRequest): Promise<FhirResponse> {
    const m = this.match(req.method, req.path, req);
    if (m.route) {
      const { route, params } = m;
      req.matched = params['type'] === undefined ? route.pattern : route.pattern.replace(':type', params['type']);
      if (!this.hooks) return route.handler(req, params);
      let response: FhirResponse;
      try {
        await this.hooks.authorize(req, route, params);
        response = await route.handler(req, params);
      } catch (error) {
        await this.hooks.after(req, route, params, { error });
        throw error;
      }
      // The audit record is committed before the data leaves: if it fails, this throws.
      await this.hooks.after(req, route, params, { response });
      return response;
    }
    if (m.allowed.length > 0) {
      throw errors.methodNotAllowed(`${req.method} is not allowed on ${req.path}; allowed: ${[...new Set(m.allowed)].join(', ')}`);
    }
    if (m.typeError) {
      throw errors.notFound(`"${m.typeError}" is not a FHIR R4 resource type`);
    }
    throw errors.notFound(`No FHIR endpoint at ${req.path}`);
  }

  list(): readonly Route[] {
    return this.routes;
  }
}
