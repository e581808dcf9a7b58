/**
 * Several medid nodes on one PostgreSQL database (issue 19 item 5), as operators run them: three
 * `src/main.ts` processes started at the same moment on one empty database, with the same keys and
 * public base URL, behind a round-robin balancer (a small node:http proxy here: a real one adds
 * nothing these properties depend on). Checked:
 * - migrations ran once: one node applied them all, the others found them applied;
 * - a client assertion accepted by one node is refused by another (the jti is recorded in the
 *   database), with the rule named in the login AuditEvent;
 * - the registry sweep runs on one node at a time: persons due for retirement at once, with every
 *   node sweeping each second, are each retired once (one count in the nodes' logs — without the
 *   lock, 164 for 60 persons — and one Patient version);
 * - the access log stays one log: reads spread over every node, then `medid log verify` passes;
 * - a node killed (SIGKILL) with requests in flight loses nothing committed: every request answered
 *   2xx has its AuditEvent, every created Patient is stored, the survivors place and hash what the
 *   dead node left, and `medid log verify` passes.
 * PostgreSQL only (TEST_DATABASE_URL): the embedded database belongs to one process.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Parameters, Patient, Resource } from '@medplum/fhirtypes';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogVerifyReport } from '../../src/audit/log-audit.ts';
import { AccessTokens } from '../../src/auth/access-token.ts';
import { generateSigningJwks, serverKeysFromJwks } from '../../src/auth/keys.ts';
import { authEndpoints } from '../../src/auth/smart-configuration.ts';
import { listMigrations } from '../../src/store/migrate.ts';
import { PgDb } from '../../src/store/pg.ts';
import { emptyPgDatabase } from '../helpers/db.ts';
import { fhirFetch } from '../helpers/fhir.ts';
import type { FhirHttpResponse } from '../helpers/fhir.ts';
import { freePort } from '../helpers/free-port.ts';
import { medid } from '../helpers/medid-process.ts';
import { insurerNumber, registerBody, registrationPatient, results } from '../helpers/registry.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const ADMIN_URL = process.env['TEST_DATABASE_URL'];
const NODES = 3;
const RETIRING = 60;
const FAMILIES = ['サトウ', 'スズキ', 'タカハシ', 'タナカ', 'ワタナベ', 'イトウ'];
const KANA = ['ア', 'イ', 'ウ', 'エ', 'オ', 'カ', 'キ', 'ク', 'ケ', 'コ'];

interface Node {
  name: string;
  port: number;
  child: ChildProcess;
  /** Every line the process wrote (pino JSON on stdout, anything on stderr). */
  out: () => string;
  exited: Promise<number | null>;
}

/** Starts `src/main.ts` on the shared database; resolves at once (waitReady waits). */
function startNode(name: string, port: number, env: Record<string, string>): Node {
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, port, child, out: () => out, exited };
}

async function waitReady(n: Node): Promise<void> {
  for (let i = 0; i < 900; i++) {
    if (n.child.exitCode !== null) throw new Error(`node ${n.name} exited during start-up:\n${n.out()}`);
    const ok = await fetch(`http://127.0.0.1:${n.port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`node ${n.name} did not become ready:\n${n.out()}`);
}

/** The JSON log lines of a node with message `msg`. */
function logLines(n: Node, msg: string): Record<string, unknown>[] {
  return n
    .out()
    .split('\n')
    .flatMap((l) => {
      try {
        return l.startsWith('{') ? [JSON.parse(l) as Record<string, unknown>] : [];
      } catch {
        return []; // a line still being written
      }
    })
    .filter((l) => l['msg'] === msg);
}

/** Every node's log lines at level error or above, for a failure's message. */
function errorLines(nodes: readonly Node[]): string {
  return nodes
    .flatMap((n) =>
      n
        .out()
        .split('\n')
        .filter((l) => /"level":(50|60)/.test(l))
        .map((l) => `${n.name}: ${l.slice(0, 600)}`),
    )
    .join('\n');
}

/**
 * A round-robin balancer: each request to the next live node; a node whose connection fails is
 * taken out (the request in flight gets 502, as from a real balancer that does not retry).
 */
interface Balancer {
  /** Requests each node answered, and the ones in flight now. */
  served: Map<string, number>;
  inFlight: Map<string, number>;
  close(): Promise<void>;
}

async function startBalancer(port: number, nodes: readonly Node[]): Promise<Balancer> {
  const live = new Set(nodes.map((n) => n.name));
  const served = new Map(nodes.map((n) => [n.name, 0]));
  const inFlight = new Map(nodes.map((n) => [n.name, 0]));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let next = 0;
  const server = http.createServer((req, res) => {
    const candidates = nodes.filter((n) => live.has(n.name));
    const node = candidates[next++ % Math.max(1, candidates.length)];
    if (!node) {
      res.writeHead(503).end();
      return;
    }
    inFlight.set(node.name, (inFlight.get(node.name) ?? 0) + 1);
    const done = (): void => {
      inFlight.set(node.name, (inFlight.get(node.name) ?? 1) - 1);
    };
    const up = http.request(
      { host: '127.0.0.1', port: node.port, method: req.method, path: req.url, headers: req.headers, agent },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
        ur.on('end', () => {
          served.set(node.name, (served.get(node.name) ?? 0) + 1);
          done();
        });
        ur.on('error', () => {
          done();
          res.destroy();
        });
      },
    );
    up.on('error', () => {
      live.delete(node.name);
      done();
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    served,
    inFlight,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe.skipIf(!ADMIN_URL)('several medid nodes on one PostgreSQL database', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-multi-node-'));
  let db: { url: string; drop: () => Promise<void> };
  let sql: PgDb;
  let nodes: Node[] = [];
  let lb: Balancer;
  let base: string;
  let env: Record<string, string>;
  let token: string;
  let client: { privateKey: CryptoKey; kid: string };
  const CLIENT_ID = 'ehr-multi-node';

  /** A FHIR call with the authority's token; `requestId` becomes the X-Request-Id its AuditEvent keeps. */
  const api = <T = Resource>(
    url: string,
    init: { method?: string; json?: unknown; requestId?: string } = {},
  ): Promise<FhirHttpResponse<T>> =>
    fhirFetch<T>(url, {
      method: init.method ?? 'GET',
      json: init.json,
      headers: { authorization: `Bearer ${token}`, ...(init.requestId ? { 'x-request-id': init.requestId } : {}) },
    });

  /** Waits until every audit event has its place and its leaf (the nodes' drains run every 5 s). */
  const caughtUp = async (): Promise<void> => {
    for (let i = 0; i < 300; i++) {
      const { rows } = await sql.query<{ pending: number; placed: number; hashed: number; unlogged: number }>(
        `SELECT (SELECT count(*) FROM audit.log_pending)::int AS pending,
                (SELECT count(*) FROM audit.log_order)::int AS placed,
                (SELECT count(*) FROM audit.log_leaf)::int AS hashed,
                (SELECT count(*) FROM audit.event e WHERE NOT EXISTS (SELECT 1 FROM audit.log_order o WHERE o.event = e.seq))::int AS unlogged`,
      );
      const r = rows[0];
      if (r && r.pending === 0 && r.unlogged === 0 && r.placed === r.hashed) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('the access log did not catch up within 30 s');
  };

  const logVerify = (): LogVerifyReport => {
    const r = medid(['log', 'verify', '--format', 'json'], env);
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as LogVerifyReport;
  };

  beforeAll(async () => {
    db = await emptyPgDatabase();
    sql = new PgDb(db.url, 2);

    // The keys every node shares (generated now, never committed), as production gives them in files.
    const secret = (name: string): string => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, crypto.randomBytes(32).toString('base64'), { mode: 0o600 });
      return file;
    };
    const signingKeyFile = path.join(dir, 'signing-jwks.json');
    const jwks = await generateSigningJwks();
    fs.writeFileSync(signingKeyFile, JSON.stringify(jwks), { mode: 0o600 });
    const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
    client = { privateKey, kid: 'multi-node-1' };
    const clientsFile = path.join(dir, 'clients.json');
    fs.writeFileSync(
      clientsFile,
      JSON.stringify([
        {
          client_id: CLIENT_ID,
          name: 'EHR behind the balancer',
          jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: client.kid, alg: 'ES384', use: 'sig' }] },
          scope: 'system/Patient.rs',
          organization: { kind: 'medical-institution', code: '1312345678' },
        },
      ]),
    );
    const lbPort = await freePort();
    base = `http://127.0.0.1:${lbPort}/fhir`;
    env = {
      DATABASE_URL: db.url,
      MEDID_BASE_URL: base,
      MEDID_DB_POOL_SIZE: '4',
      MEDID_SIGNING_KEY_FILE: signingKeyFile,
      MEDID_SECRET_FILE: secret('registry-secret'),
      MEDID_PSEUDONYM_KEY_FILE: secret('pseudonym-secret'),
      MEDID_ENVELOPE_KEY_FILE: secret('envelope-secret'),
      MEDID_LOG_KEY_FILE: secret('log-secret'),
      MEDID_CLIENTS_FILE: clientsFile,
      MEDID_REGISTRY_SWEEP_SECONDS: '1',
      MEDID_LOG_HEAD_SECONDS: '1',
      MEDID_DATA_DIR: path.join(dir, 'cli'),
    };
    // All at once, on the empty database.
    const ports = await Promise.all(Array.from({ length: NODES }, () => freePort()));
    nodes = ports.map((port, i) => startNode(String.fromCharCode(65 + i), port, { ...env, MEDID_DATA_DIR: path.join(dir, `node-${i}`) }));
    await Promise.all(nodes.map(waitReady));
    // The balancer listens where the public base URL says.
    lb = await startBalancer(lbPort, nodes);
    const keys = await serverKeysFromJwks(jwks);
    const tokens = new AccessTokens({ keys, issuer: authEndpoints(base).issuer, audience: base, isResourceType: () => true });
    token = (await tokens.issue('e2e', 'e2e authority', { kind: 'authority', code: 'test' }, 'system/*.cruds', 600)).accessToken;
  }, 120_000);

  afterAll(async () => {
    await lb?.close();
    for (const n of nodes) if (n.child.exitCode === null) n.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    await sql?.close();
    await db?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('started together on an empty database, the migrations ran once: one node applied them all', async () => {
    const all = listMigrations().map((m) => m.name);
    const { rows } = await sql.query<{ name: string; n: number }>(
      'SELECT name, count(*)::int AS n FROM public.medid_migration GROUP BY name ORDER BY name',
    );
    expect(rows).toEqual(all.map((name) => ({ name, n: 1 })));
    const applied = nodes.map((n) => logLines(n, 'database migrated').map((l) => l['applied']));
    expect(applied.filter((a) => a.length > 0)).toEqual([[all]]);
  });

  it('refuses at another node a client assertion one node accepted (rule jti), and audits the refusal', async () => {
    const [a, b] = nodes as [Node, Node];
    const assertion = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'ES384', kid: client.kid, typ: 'JWT' })
      .setIssuer(CLIENT_ID)
      .setSubject(CLIENT_ID)
      .setAudience(authEndpoints(base).tokenEndpoint)
      .setExpirationTime(Math.floor(Date.now() / 1000) + 120)
      .sign(client.privateKey);
    const ask = async (n: Node, requestId: string, jwt = assertion): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(`http://127.0.0.1:${n.port}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': requestId },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          scope: 'system/Patient.rs',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: jwt,
        }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const first = await ask(a, 'replay-first');
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const replayed = await ask(b, 'replay-second');
    expect(replayed.status).toBe(401);
    expect(replayed.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    const { rows } = await sql.query<{ request_id: string; outcome: number; outcome_desc: string }>(
      `SELECT request_id, outcome, outcome_desc FROM audit.event WHERE request_id IN ('replay-first', 'replay-second') ORDER BY request_id`,
    );
    expect(rows).toEqual([
      { request_id: 'replay-first', outcome: 0, outcome_desc: expect.stringMatching(/^access token issued/) as unknown },
      {
        request_id: 'replay-second',
        outcome: 4,
        outcome_desc: 'client authentication failed at step jti: the assertion jti was already used',
      },
    ]);
    expect(logLines(b, 'client authentication failed').map((l) => l['step'])).toEqual(['jti']);
    // Node B refuses only the replay: a fresh assertion from the same client gets its token there.
    const fresh = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'ES384', kid: client.kid, typ: 'JWT' })
      .setIssuer(CLIENT_ID)
      .setSubject(CLIENT_ID)
      .setAudience(authEndpoints(base).tokenEndpoint)
      .setExpirationTime(Math.floor(Date.now() / 1000) + 120)
      .sign(client.privateKey);
    expect((await ask(b, 'fresh-at-b', fresh)).status).toBe(200);
  });

  it('retires persons due at once exactly once, with every node sweeping each second', async () => {
    const insurer = insurerNumber('0613901');
    const reg = await api<Parameters>(`${base}/Patient/$register`, {
      method: 'POST',
      json: registerBody(
        Array.from({ length: RETIRING }, (_v, i) => ({
          record: `r${i}`,
          patient: registrationPatient({
            insurer,
            number: String(7000 + i),
            kana: [
              FAMILIES[i % FAMILIES.length] ?? 'サトウ',
              `${KANA[i % KANA.length] ?? 'ア'}${KANA[Math.floor(i / KANA.length)] ?? 'イ'}コ`,
            ],
            birthDate: new Date(Date.UTC(1940, 0, 1 + i * 211)).toISOString().slice(0, 10),
            gender: i % 2 ? 'female' : 'male',
          }),
        })),
      ),
    });
    expect(reg.status).toBe(200);
    const ids = results(reg.body).map((r) => r.patient as string);
    expect(ids.filter(Boolean), JSON.stringify(results(reg.body)[0])).toHaveLength(RETIRING);
    const diedAt = new Map<string, number>();
    for (const id of ids) {
      const died = await api<Patient>(`${base}/Patient/${id}/$record-death`, {
        method: 'POST',
        json: { resourceType: 'Parameters', parameter: [{ name: 'date', valueDate: '2026-04-01' }] },
      });
      expect(died.status).toBe(200);
      diedAt.set(id, Number(died.body.meta?.versionId));
    }
    // Ten years pass for all of them at once: their post-mortem retention ends today.
    await sql.query(`UPDATE registry.person SET retire_after = current_date - 1 WHERE patient_id = ANY($1::text[])`, [ids]);
    const retired = async (): Promise<number> =>
      (
        await sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM registry.person WHERE patient_id = ANY($1::text[]) AND status = 'retired'`,
          [ids],
        )
      ).rows[0]?.n ?? 0;
    for (let i = 0; i < 300 && (await retired()) < RETIRING; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await retired()).toBe(RETIRING);
    // A few more turns of every node's sweep: nothing is left, nothing is done twice.
    await new Promise((r) => setTimeout(r, 2500));
    const { rows } = await sql.query<{ id: string; version: number; versions: number }>(
      `SELECT r.id, r.version_id AS version, (SELECT count(*)::int FROM fhir.resource_version v WHERE v.resource_type = 'Patient' AND v.id = r.id) AS versions
         FROM fhir.resource r WHERE r.resource_type = 'Patient' AND r.id = ANY($1::text[])`,
      [ids],
    );
    expect(rows).toHaveLength(RETIRING);
    for (const r of rows)
      expect({ id: r.id, version: r.version, versions: r.versions }).toEqual({
        id: r.id,
        version: (diedAt.get(r.id) ?? 0) + 1,
        versions: (diedAt.get(r.id) ?? 0) + 1,
      });
    const counted = nodes.flatMap((n) => logLines(n, 'registry sweep')).reduce((s, l) => s + Number(l['retired'] ?? 0), 0);
    expect(counted).toBe(RETIRING);
    for (const n of nodes) expect(logLines(n, 'registry sweep failed')).toEqual([]);
  }, 60_000);

  it('keeps one access log while every node places and hashes: reads over all nodes, then log verify passes', async () => {
    const rows: { id: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const p = await api<Patient>(`${base}/Patient`, {
        method: 'POST',
        json: { resourceType: 'Patient', name: [{ family: `Reader${i}` }] },
      });
      expect(p.status).toBe(201);
      rows.push({ id: p.body.id as string });
    }
    const served = new Map(lb.served);
    let k = 0;
    const statuses = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const got: number[] = [];
        for (let i = 0; i < 25; i++) got.push((await api(`${base}/Patient/${rows[k++ % rows.length]?.id ?? ''}`)).status);
        return got;
      }),
    );
    expect(
      statuses.flat().filter((s) => s !== 200),
      errorLines(nodes),
    ).toEqual([]);
    for (const n of nodes) expect((lb.served.get(n.name) ?? 0) - (served.get(n.name) ?? 0)).toBeGreaterThanOrEqual(90);
    await caughtUp();
    // A head signed after the reads: every node signs when the log grew (the first head per size stands).
    await new Promise((r) => setTimeout(r, 1500));
    const report = logVerify();
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.events).toMatchObject({ unhashed: 0, pending: 0, unlogged: 0, rewritten: 0, missing: 0 });
    expect(report.size).toBeGreaterThanOrEqual(300);
    expect(report.heads.checked).toBeGreaterThan(0);
    expect(report.heads.latest?.size).toBeGreaterThanOrEqual(300);
  }, 60_000);

  it('loses nothing committed when a node is killed with requests in flight', async () => {
    const victim = nodes[NODES - 1];
    const { rows } = await sql.query<{ id: string }>(
      `SELECT id FROM fhir.resource WHERE resource_type = 'Patient' AND NOT deleted LIMIT 20`,
    );
    expect(rows.length).toBeGreaterThan(0);
    const answered: { requestId: string; status: number; created?: string }[] = [];
    /** Answers other than 2xx (502: the balancer, from the dead node) and requests cut off. */
    const failed: (number | 'cut off')[] = [];
    let stop = false;
    let killedAt = 0;
    let seq = 0;
    const worker = async (w: number): Promise<void> => {
      while (!stop) {
        const requestId = `kill-${w}-${seq++}`;
        const write = seq % 3 === 0;
        try {
          const res = write
            ? await api<Patient>(`${base}/Patient`, {
                method: 'POST',
                requestId,
                json: { resourceType: 'Patient', name: [{ family: 'Kill', given: [requestId] }] },
              })
            : await api(`${base}/Patient/${rows[seq % rows.length]?.id ?? ''}`, { requestId });
          if (res.status >= 200 && res.status < 300)
            answered.push({ requestId, status: res.status, created: write ? (res.body as Patient).id : undefined });
          else failed.push(res.status);
        } catch {
          failed.push('cut off');
        }
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, (_v, w) => worker(w)));
    // Killed once it has requests in flight and has answered some since the load began.
    const servedBefore = lb.served.get(victim.name) ?? 0;
    for (let i = 0; i < 200 && !killedAt; i++) {
      if ((lb.inFlight.get(victim.name) ?? 0) >= 2 && (lb.served.get(victim.name) ?? 0) - servedBefore >= 20) {
        victim.child.kill('SIGKILL');
        killedAt = answered.length;
      } else await new Promise((r) => setTimeout(r, 10));
    }
    expect(killedAt).toBeGreaterThan(0);
    await victim.exited;
    // The survivors go on serving.
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await load;
    // What was in flight at the dead node, and nothing else.
    expect(failed.length).toBeGreaterThan(0);
    expect(
      failed.filter((f) => f !== 502 && f !== 'cut off'),
      errorLines(nodes),
    ).toEqual([]);
    expect(answered.length).toBeGreaterThan(killedAt + 50);
    expect(answered.some((a) => a.status === 201)).toBe(true);

    await caughtUp();
    const ids = answered.map((a) => a.requestId);
    const { rows: audited } = await sql.query<{ request_id: string }>(
      `SELECT DISTINCT request_id FROM audit.event WHERE request_id = ANY($1::text[])`,
      [ids],
    );
    const missing = ids.filter((id) => !audited.some((r) => r.request_id === id));
    expect(missing).toEqual([]);
    const created = answered.flatMap((a) => (a.created ? [a.created] : []));
    const { rows: stored } = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM fhir.resource WHERE resource_type = 'Patient' AND id = ANY($1::text[])`,
      [created],
    );
    expect(stored[0]?.n).toBe(created.length);
    const report = logVerify();
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.events).toMatchObject({ unhashed: 0, pending: 0, unlogged: 0 });
    expect(report.size).toBeGreaterThanOrEqual(answered.length);
  }, 60_000);
});
