/**
 * Prometheus metrics (issue 19 item 4), on prom-client: one registry per app, served at
 * `/metrics` behind MEDID_METRICS (metrics-access.ts). What is measured, and what it costs:
 *
 * - HTTP requests by method, route and status (a histogram of seconds, whose `_count` is the
 *   request count) and requests in flight: one `finish` listener and one observation per request;
 * - database connections (open, idle, waiting, the pool's size) read when scraped, and the wait
 *   for a connection, one observation per checkout;
 * - the audit writer's group commit: rows and seconds per batch, one observation per batch (not
 *   per row), and the events queued, read when scraped;
 * - periodic sweeps: runs by outcome, duration, the time of the last success, items swept;
 * - registrations through `Patient/$register` by status (five additions per call: `medid
 *   import --server` progress as the server sees it);
 * - the process (CPU, memory, event-loop lag, GC: prom-client's default collectors, started at
 *   the first scrape, once per process).
 *
 * Labels are closed sets: a route label is the route's pattern (`/fhir/Patient/:id`, its
 * resource type filled in from the router's closed list), never a path, an id or a query
 * value; a method outside the HTTP verbs is `other`; and a guard folds any label past the
 * first few hundred routes into `other`, so no client can grow the series without bound.
 */
import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FhirRequest } from '../api/request.ts';
import type { MetricsAccess } from './metrics-access.ts';
import { metricsDecision } from './metrics-access.ts';

/** A database handle's connections, as the driver reports them (store/db.ts PoolUse). */
export interface PoolSource {
  poolUse?(): { size: number; total: number; idle: number; waiting: number };
  observeWaits?(fn: (seconds: number) => void): void;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** Distinct route labels kept before new ones fold into `other` (medid has a few hundred routes). */
const MAX_ROUTES = 500;
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const WAIT_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500];

/** prom-client's process collectors: one set per process, however many apps it builds. */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly routes = new Set<string>();
  private readonly pools: { name: string; db: PoolSource }[] = [];
  private auditQueue: (() => number) | undefined;

  private readonly httpDuration = new Histogram({
    name: 'medid_http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern and status: seconds from arrival to the last byte written (_count: requests)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly httpInFlight = new Gauge({
    name: 'medid_http_requests_in_flight',
    help: 'HTTP requests arrived and not yet answered',
    registers: [this.registry],
  });
  private readonly poolWait = new Histogram({
    name: 'medid_db_pool_wait_seconds',
    help: 'Seconds a statement or transaction waited for a database connection (PGlite: transactions only)',
    labelNames: ['pool'] as const,
    buckets: WAIT_BUCKETS,
    registers: [this.registry],
  });
  private readonly auditRows = new Histogram({
    name: 'medid_audit_batch_rows',
    help: 'Audit events per group-commit batch (_count: batches, _sum: events)',
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });
  private readonly auditSeconds = new Histogram({
    name: 'medid_audit_batch_duration_seconds',
    help: 'Seconds to write one group-commit batch of audit events (with its access-log places)',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly sweepRuns = new Counter({
    name: 'medid_sweep_runs_total',
    help: 'Runs of the periodic sweeps by outcome (ok, error)',
    labelNames: ['sweep', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly sweepSeconds = new Histogram({
    name: 'medid_sweep_duration_seconds',
    help: 'Seconds one sweep run took',
    labelNames: ['sweep'] as const,
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  private readonly sweepLast = new Gauge({
    name: 'medid_sweep_last_success_timestamp_seconds',
    help: 'Unix time of the last successful run of each sweep',
    labelNames: ['sweep'] as const,
    registers: [this.registry],
  });
  private readonly sweepItems = new Counter({
    name: 'medid_sweep_items_total',
    help: 'What the sweeps did: retired persons, final merges, expired exports, linkage orders and sign-ins, analyzed tables',
    labelNames: ['sweep', 'item'] as const,
    registers: [this.registry],
  });
  private readonly registrations = new Counter({
    name: 'medid_registrations_total',
    help: 'Records decided by Patient/$register (medid import --server goes through it), by status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  constructor(o: { version: string; driver: string }) {
    const pools = this.pools;
    const auditQueue = (): number | undefined => this.auditQueue?.();
    new Gauge({
      name: 'medid_info',
      help: 'medid version and database driver (always 1)',
      labelNames: ['version', 'driver'] as const,
      registers: [this.registry],
    }).set({ version: o.version, driver: o.driver }, 1);
    const poolGauge = (name: string, help: string, pick: (u: ReturnType<NonNullable<PoolSource['poolUse']>>) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['pool'] as const,
        registers: [this.registry],
        collect() {
          for (const p of pools) {
            const use = p.db.poolUse?.();
            if (use) this.set({ pool: p.name }, pick(use));
          }
        },
      });
    };
    poolGauge('medid_db_pool_size', 'Largest number of database connections the pool opens (PGlite: 1)', (u) => u.size);
    poolGauge('medid_db_pool_connections', 'Database connections open', (u) => u.total);
    poolGauge('medid_db_pool_idle', 'Database connections open and unused', (u) => u.idle);
    poolGauge('medid_db_pool_waiting', 'Statements and transactions waiting for a database connection', (u) => u.waiting);
    new Gauge({
      name: 'medid_audit_queue_events',
      help: 'Audit events waiting for the next group-commit batch',
      registers: [this.registry],
      collect() {
        const n = auditQueue();
        if (n !== undefined) this.set(n);
      },
    });
    // Every series exists from the start, so a dashboard shows zeros rather than "no data".
    for (const status of ['created', 'updated', 'unchanged', 'review', 'error']) this.registrations.inc({ status }, 0);
  }

  /** Reports a database handle's connections under `name` (main, audit). */
  watchPool(name: string, db: PoolSource): void {
    if (this.pools.some((p) => p.db === db)) return;
    this.pools.push({ name, db });
    const wait = this.poolWait.labels({ pool: name });
    db.observeWaits?.((s) => wait.observe(s));
  }

  /** The audit writer's queue, read when scraped. */
  watchAuditQueue(events: () => number): void {
    this.auditQueue = events;
  }

  /** One group-commit batch written (the audit writer's `observe`). */
  readonly auditBatch = (b: { rows: number; seconds: number }): void => {
    this.auditRows.observe(b.rows);
    this.auditSeconds.observe(b.seconds);
  };

  /** A `Patient/$register` call's results by status. */
  readonly registered = (counts: Readonly<Record<string, number>>): void => {
    for (const [status, n] of Object.entries(counts)) if (n > 0) this.registrations.inc({ status }, n);
  };

  /**
   * Runs one sweep and records it: its outcome, duration, the time of its last success and,
   * when `items` says, what it did. The sweep's own error is rethrown for its caller to log.
   */
  async sweep<T>(name: string, run: () => Promise<T>, items?: (r: T) => Record<string, number>): Promise<T> {
    const end = this.sweepSeconds.startTimer({ sweep: name });
    try {
      const r = await run();
      this.sweepRuns.inc({ sweep: name, outcome: 'ok' });
      this.sweepLast.set({ sweep: name }, Date.now() / 1000);
      for (const [item, n] of Object.entries(items?.(r) ?? {})) this.sweepItems.inc({ sweep: name, item }, n);
      return r;
    } catch (e) {
      this.sweepRuns.inc({ sweep: name, outcome: 'error' });
      throw e;
    } finally {
      end();
    }
  }

  /** The route label of a finished request (see the file header: a pattern, never a path). */
  private routeOf(req: Request, res: Response, fhirMount: string): string {
    let label: string;
    const fhir = res.locals['fhirRequest'] as FhirRequest | undefined;
    const q = req.originalUrl.indexOf('?');
    const path = q >= 0 ? req.originalUrl.slice(0, q) : req.originalUrl;
    if (fhir || path === fhirMount || path.startsWith(`${fhirMount}/`)) {
      // Refused before routing (no token, too large) or no FHIR route: the base alone.
      label = fhir?.matched ? `${fhirMount}${fhir.matched}` : `${fhirMount}/*`;
    } else {
      const route = req.route as { path?: unknown } | undefined;
      const base = typeof req.baseUrl === 'string' ? req.baseUrl : '';
      label = typeof route?.path === 'string' ? `${base}${route.path}` : base ? `${base}/*` : 'unmatched';
    }
    if (this.routes.has(label)) return label;
    if (this.routes.size >= MAX_ROUTES) return 'other';
    this.routes.add(label);
    return label;
  }

  /** Express middleware, first in the chain: times every request to its last byte. */
  requests(fhirMount: string) {
    return (req: Request, res: Response, next: NextFunction): void => {
      const start = performance.now();
      this.httpInFlight.inc();
      res.once('close', () => {
        this.httpInFlight.dec();
        this.httpDuration.observe(
          { method: METHODS.has(req.method) ? req.method : 'other', route: this.routeOf(req, res, fhirMount), status: res.statusCode },
          (performance.now() - start) / 1000,
        );
      });
      next();
    };
  }

  /** The exposition text (this app's metrics and the process's). */
  async text(): Promise<string> {
    return `${await this.registry.metrics()}\n${await processMetrics().metrics()}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** `GET /metrics`, behind MEDID_METRICS; refused requests go on to the next handler (the same 404 as an unknown path). */
export function metricsEndpoint(metrics: Metrics, access: MetricsAccess) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const decision = metricsDecision(access, { remoteAddress: req.socket.remoteAddress, headers: req.headers });
    if (decision === 'not-found') {
      next();
      return;
    }
    res.setHeader('Cache-Control', 'no-store');
    if (decision === 'unauthorized') {
      res.setHeader('WWW-Authenticate', 'Bearer realm="medid-metrics"');
      res.status(401).type('text/plain').send('metrics need the bearer secret of MEDID_METRICS\n');
      return;
    }
    try {
      const text = await metrics.text();
      res.setHeader('Content-Type', metrics.contentType);
      res.send(text);
    } catch (e) {
      next(e);
    }
  };
}
