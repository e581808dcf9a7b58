/**
 * Property-based HTTP fuzz: fast-check generates whole requests (test/helpers/fuzz-requests.ts)
 * — methods, odd paths and %-escapes, search parameters with garbage values, headers, mutated
 * corpus resources, broken Bundles and operation Parameters, non-JSON, XML valid and not — and
 * sends each over real HTTP to a real server. Every response must:
 *   - not be a 5xx other than 503;
 *   - come within 5 s;
 *   - carry a body that parses in its Content-Type (JSON, or XML when asked), and an
 *     OperationOutcome for every 4xx;
 *   - be refused where the server's pipeline says (a model in fuzz-requests.ts: edge refusals
 *     401/406/415, malformed URLs and bodies, no route, no token);
 *   - if it is an authenticated refusal the router's audit hook records, leave an AuditEvent
 *     (outcome 4) under the request's X-Request-Id.
 * Bounded: a fixed seed and FUZZ_RUNS runs per database (default 1000, about 15 s on PGlite), or
 * FUZZ_TIME_LIMIT_MS (default 45 s), whichever ends first. A failure is shrunk, then reported with
 * the request, the response, the server's log line and the seed; replay it with
 *   FUZZ_SEED=<seed> npx vitest run test/conformance/fuzz.test.ts
 * (FUZZ_TRACE=<file> appends every request sent and its status to a file.) The same generators
 * drive the long run: npm run bench:fuzz (bench/fuzz.ts).
 */
import fs from 'node:fs';
import http from 'node:http';
import { Writable } from 'node:stream';
import type { Resource } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpMethod } from '../../src/api/request.ts';
import type { Logger } from '../../src/core/logger.ts';
import { PatientCompartment } from '../../src/fhir/compartment.ts';
import { resourceToFhirXml } from '../../src/fhir/xml/write.ts';
import { corpusExamples, warnNoCorpus } from '../helpers/corpus.ts';
import { testDrivers } from '../helpers/db.ts';
import {
  checkResponse,
  describe as describeRequest,
  EDGE_STATUSES,
  fuzzExamples,
  fuzzRequestArb,
  predictStage,
  seedServer,
  sendFuzz,
  tokenPurposeOf,
} from '../helpers/fuzz-requests.ts';
import type { FuzzRequest, FuzzResponse, ServerModel, Stage } from '../helpers/fuzz-requests.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261201);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 1000);
const TIME_LIMIT_MS = Number(process.env['FUZZ_TIME_LIMIT_MS'] ?? 45_000);
/** A file to append every request and its status to (for replaying a failure by hand). */
const TRACE = process.env['FUZZ_TRACE'];

/** Used when the shared corpus is absent, so the fuzz still runs (with less variety). */
const FALLBACK_EXAMPLES: Resource[] = [
  { resourceType: 'Patient', name: [{ family: '山田', given: ['太郎'] }], gender: 'male', birthDate: '1980-04-01' },
  { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 20.5, unit: 'mg' } },
  { resourceType: 'Organization', name: 'Example Hospital' },
  { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' } },
];

/** A pino logger at warn that keeps each line by request id, to show the server's side of a failure. */
function capturingLogger(): { logger: Logger; lines: Map<string, string[]> } {
  const lines = new Map<string, string[]>();
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        let id = '(none)';
        try {
          const v = (JSON.parse(line) as { requestId?: unknown }).requestId;
          if (typeof v === 'string') id = v;
        } catch {
          // not JSON
        }
        lines.set(id, [...(lines.get(id) ?? []), line.slice(0, 2000)]);
      }
      cb();
    },
  });
  return { logger: pino({ level: 'warn', base: { service: 'medid' } }, stream), lines };
}

describe.each(testDrivers())('HTTP fuzz on %s', (driver) => {
  let s: TestServer;
  let model: ServerModel;
  let examples: Resource[];
  let ids: Record<string, string[]>;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { logger, lines } = capturingLogger();
  const stats = new Map<string, number>();
  const count = (k: string): void => {
    stats.set(k, (stats.get(k) ?? 0) + 1);
  };

  beforeAll(async () => {
    const corpus = corpusExamples();
    if (corpus.length === 0) warnNoCorpus('HTTP fuzz (runs with four built-in examples instead)');
    examples = corpus.length > 0 ? fuzzExamples(corpus) : FALLBACK_EXAMPLES;
    s = await startTestServer(driver, { logger });
    ids = await seedServer(s.base, s.token, examples);
    const compartment = new PatientCompartment();
    model = {
      match: (method, path) => {
        const m = s.app.router.match(method as HttpMethod, path);
        return m.route ? { route: m.route, params: m.params } : {};
      },
      inCompartment: (t) => compartment.has(t),
      tokenPurpose: tokenPurposeOf(s.token, ''),
      mountPath: '/fhir',
    };
  });
  afterAll(async () => {
    agent.destroy();
    await s.close();
    const rows = [...stats.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `  ${k}: ${v}`);
    console.log(`HTTP fuzz on ${driver} (seed ${SEED}):\n${rows.join('\n')}`);
  });

  async function auditOutcomes(requestId: string): Promise<number[]> {
    const r = await s.testDb.db.query<{ outcome: number }>('SELECT outcome FROM audit.event WHERE request_id = $1', [requestId]);
    return r.rows.map((x) => x.outcome);
  }

  /** What is wrong with the server's answer to one request (empty: nothing). */
  async function problemsOf(r: FuzzRequest, res: FuzzResponse, stage: Stage, requestId: string): Promise<string[]> {
    const problems = checkResponse(r, res, stage);
    if (res.error) return problems;
    const expected = EDGE_STATUSES[stage];
    if (expected && !expected.includes(res.status) && res.status !== 503) {
      problems.push(`refused at "${stage}" per the model (${expected.join('/')}), but the status is ${res.status}`);
    }
    if (stage === 'audited-route' && res.status >= 400 && res.status !== 503) {
      const outcomes = await auditOutcomes(requestId);
      const wanted = res.status >= 500 ? 8 : 4;
      if (!outcomes.includes(wanted)) {
        problems.push(`refusal ${res.status} not audited: AuditEvent outcomes for the request: [${outcomes.join(', ')}], wanted ${wanted}`);
      }
    }
    return problems;
  }

  it(
    'answers every request without a 5xx, within 5 s, with a readable body, an OperationOutcome for each refusal, and audits the refusals it should',
    async () => {
      console.log(`HTTP fuzz on ${driver}: seed ${SEED}, up to ${RUNS} runs or ${TIME_LIMIT_MS} ms (replay: FUZZ_SEED=${SEED})`);
      const arb = fuzzRequestArb({ examples, ids }, (r) => resourceToFhirXml(r));
      let n = 0;
      try {
        await fc.assert(
          fc.asyncProperty(arb, async (r) => {
            const requestId = `fz-${SEED}-${n++}`;
            const res = await sendFuzz(s.root, r, s.token, requestId, agent);
            const stage = predictStage(r, model);
            if (TRACE)
              fs.appendFileSync(
                TRACE,
                `${requestId} ${res.status} (${res.body.length} B) ${Math.round(res.ms)} ms ${stage}: ${describeRequest(r, 200)}\n`,
              );
            count(`stage ${stage} → ${res.error ? 'no response' : `${Math.floor(res.status / 100)}xx`}`);
            const problems = await problemsOf(r, res, stage, requestId);
            if (problems.length > 0) {
              const log = (lines.get(requestId) ?? []).join('\n    ') || '(no log line at warn or above)';
              throw new Error(
                `${problems.join('; ')}\n  request: ${describeRequest(r)}\n  response: ${res.status} ${res.body.toString('utf8').slice(0, 400)}\n  server log: ${log}`,
              );
            }
          }),
          { seed: SEED, numRuns: RUNS, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)] },
        );
      } catch (e) {
        throw new Error(`HTTP fuzz failed on ${driver}; replay with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}\n${(e as Error).message}`, {
          cause: e,
        });
      }
      expect(n).toBeGreaterThan(0);
    },
    TIME_LIMIT_MS + 60_000,
  );
});
