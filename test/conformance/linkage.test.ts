/**
 * Authorized linkage (R19, issue 16 item 6) over HTTP on both databases: an order is inert
 * until k = 2 distinct officers sign its canonical text; each refusal names its rule; an active
 * order maps exactly the persons both databases hold to one project pseudonym; closure, expiry
 * and revocation destroy the key, after which the same request is never answered again.
 *
 * Persons A–F; ndb holds A B C D, gan-toroku holds C D E (written down here, not derived).
 */
import type { Bundle, OperationOutcome, Parameters, Task } from '@medplum/fhirtypes';
import { CompactSign } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Organization } from '../../src/core/principal.ts';
import { SYSTEMS } from '../../src/core/systems.ts';
import { newClientKeys, registerClient } from '../helpers/clients.ts';
import type { TestClient } from '../helpers/clients.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch } from '../helpers/fhir.ts';
import { insurerNumber, registerBody, registrationPatient, results } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const PERSONS = ['A', 'B', 'C', 'D', 'E', 'F'] as const;
const HOLDS: Record<string, readonly string[]> = { ndb: ['A', 'B', 'C', 'D'], 'gan-toroku': ['C', 'D', 'E'] };
const AUTHORITY: Organization = { kind: 'authority', code: 'staff' };
const START = new Date('2026-05-01T03:00:00Z');

describe.each(testDrivers())('linkage orders on %s', (driver) => {
  let s: TestServer;
  let now = START;
  const pid: Record<string, string> = {};
  const ps: Record<string, Record<string, string>> = { ndb: {}, 'gan-toroku': {}, kaigo: {} };
  const officers: Record<string, TestClient> = {};
  const tokens: Record<string, string> = {};
  let hospital: TestClient;
  const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  const op = <T = Parameters>(path: string, token: string, parameter: Parameters['parameter']) =>
    fhirFetch<T>(`${s.base}/${path}`, { method: 'POST', json: { resourceType: 'Parameters', parameter }, ...as(token) });

  /** An officer's approval: the order as the Task's canonical-order input reads, signed with the officer's key. */
  const approval = async (signer: TestClient, task: Task, tamper = false): Promise<string> => {
    const canonical = task.input?.find((i) => i.type.coding?.[0]?.code === 'canonical-order')?.valueString ?? '';
    const order = JSON.parse(canonical) as Record<string, unknown>;
    if (tamper) order['project'] = `${String(order['project'])} and more`;
    return new CompactSign(new TextEncoder().encode(JSON.stringify({ iss: signer.clientId, iat: Math.floor(now.getTime() / 1000), order })))
      .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'medid-linkage-approval+jwt' })
      .sign(signer.privateKey);
  };
  const approve = (task: Task, by: string, signer: TestClient, tamper = false) =>
    approval(signer, task, tamper).then((jws) =>
      op<Task>(`Task/${task.id ?? ''}/$approve`, tokens[by] ?? '', [{ name: 'approval', valueString: jws }]),
    );
  const file = async (end = '2026-12-31'): Promise<Task> => {
    const res = await op<Task>('Task/$linkage-order', tokens['officer-a'] ?? '', [
      { name: 'domain', valueCode: 'ndb' },
      { name: 'domain', valueCode: 'gan-toroku' },
      { name: 'project', valueString: '大腸がん術後の医療費に関する研究' },
      { name: 'purpose', valueCode: 'HRESCH' },
      { name: 'legalBasis', valueString: '高齢者の医療の確保に関する法律 第16条の2' },
      { name: 'start', valueDate: '2026-05-01' },
      { name: 'end', valueDate: end },
    ]);
    expect(res.status, res.text).toBe(201);
    return res.body;
  };
  const link = (task: Task, domain: string, names: readonly string[]) =>
    op(
      `Task/${task.id ?? ''}/$link`,
      tokens[domain] ?? '',
      names.map((n) => ({ name: 'pseudonym', valueString: n })),
    );
  const pairs = (p: Parameters): Map<string, string> =>
    new Map(
      (p.parameter ?? [])
        .filter((x) => x.name === 'link')
        .map((x) => [x.part?.[0]?.valueString ?? '', x.part?.[1]?.valueString ?? ''] as [string, string]),
    );
  const rule = (res: { text: string }): string => /linkage rule ([a-z-]+)/.exec(res.text)?.[1] ?? res.text;

  beforeAll(async () => {
    s = await startTestServer(driver, { deps: { clock: { now: () => now } } });
    const reg = await fhirFetch<Parameters>(`${s.base}/Patient/$register`, {
      method: 'POST',
      ...as(s.token),
      json: registerBody(
        PERSONS.map((p, i) => ({
          record: p,
          patient: registrationPatient({
            insurer: insurerNumber('0613809'),
            number: `50${i}`,
            kana: ['リンク', `${'アイウエオカ'[i]}コ`],
            kanji: ['連結', `${'一二三四五六'[i]}子`],
            birthDate: `1970-0${i + 1}-15`,
          }),
        })),
      ),
    });
    for (const r of results(reg.body)) pid[r.record as string] = r.patient as string;
    for (const p of PERSONS) {
      const { rows } = await s.testDb.db.query<{ kid: Buffer }>('SELECT kid FROM registry.person WHERE patient_id = $1', [pid[p]]);
      for (const d of Object.keys(ps)) ps[d][p] = await s.app.pseudonyms.pseudonymOf(rows[0]?.kid, d);
    }
    for (const id of ['officer-a', 'officer-b', 'officer-c']) {
      officers[id] = await newClientKeys(id);
      await registerClient(s, officers[id], 'system/*.cruds', { organization: AUTHORITY });
      tokens[id] = await s.tokenFor('system/*.cruds', id, AUTHORITY);
    }
    hospital = await newClientKeys('hospital');
    await registerClient(s, hospital, 'system/*.cruds');
    for (const d of Object.keys(ps)) tokens[d] = await s.tokenFor('system/*.rs', `client-${d}`, { kind: 'database', code: d }, 'HRESCH');
  });
  afterAll(async () => {
    await s.close();
  });

  it('an order is inert until two distinct officers other than its filer sign its exact text; each refusal names its rule', async () => {
    now = START;
    const task = await file();
    expect(task.status).toBe('requested');
    expect(task.code?.coding?.[0]).toMatchObject({ system: SYSTEMS.linkage, code: 'linkage-order' });
    const held = HOLDS['ndb']?.map((p) => ps['ndb']?.[p] ?? '') ?? [];

    expect(rule(await link(task, 'ndb', held))).toBe('not-active');
    expect(rule(await approve(task, 'officer-a', officers['officer-a']))).toBe('self-approval');
    expect(rule(await approve(task, 'officer-b', officers['officer-b'], true))).toBe('order-text');
    expect(rule(await approve(task, 'officer-c', hospital))).toBe('officer');
    expect(rule(await approve(task, 'officer-c', officers['officer-b']))).toBe('caller');
    const first = await approve(task, 'officer-b', officers['officer-b']);
    expect(first.status, first.text).toBe(200);
    expect(first.body.status).toBe('requested');
    // k − 1 approvals: still inert.
    expect(rule(await link(task, 'ndb', held))).toBe('not-active');
    expect(rule(await approve(task, 'officer-b', officers['officer-b']))).toBe('duplicate-approval');
    const second = await approve(task, 'officer-c', officers['officer-c']);
    expect(second.body.status).toBe('in-progress');
    expect(second.body.output?.length).toBe(2);
    // A database the order does not name.
    expect(rule(await link(task, 'kaigo', [ps['kaigo']?.['C'] ?? '']))).toBe('domain');

    // Each database converts its own; the project pseudonyms meet exactly on the persons both hold.
    const ndb = await link(task, 'ndb', [...held, 'v1.00000000000000000000000000', 'not-a-pseudonym']);
    expect(ndb.status, ndb.text).toBe(200);
    expect(ndb.body.parameter?.find((x) => x.name === 'notLinked')?.valueInteger).toBe(2);
    const gan = await link(task, 'gan-toroku', HOLDS['gan-toroku']?.map((p) => ps['gan-toroku']?.[p] ?? '') ?? []);
    const lpOf = (domain: string, answer: Parameters): Map<string, string> => {
      const byPseudonym = pairs(answer);
      return new Map(
        PERSONS.filter((p) => byPseudonym.has(ps[domain]?.[p] ?? '')).map((p) => [p, byPseudonym.get(ps[domain]?.[p] ?? '') ?? '']),
      );
    };
    const a = lpOf('ndb', ndb.body);
    const b = lpOf('gan-toroku', gan.body);
    expect([...a.keys()]).toEqual(['A', 'B', 'C', 'D']);
    expect([...b.keys()]).toEqual(['C', 'D', 'E']);
    for (const lp of [...a.values(), ...b.values()]) expect(lp).toMatch(/^p\.[0-9A-Z]{26}$/);
    const joined = [...a.entries()].filter(([, lp]) => [...b.values()].includes(lp)).map(([p]) => p);
    expect(joined).toEqual(['C', 'D']);
    expect(a.get('C')).toBe(b.get('C'));
    expect(ndb.text).not.toContain(ps['gan-toroku']?.['C'] ?? 'none');
    // The same request again gives the same answer while the order is active.
    expect(pairs((await link(task, 'ndb', held)).body)).toEqual(pairs(ndb.body));

    // Each person converted sees it in their access history; the batch is recorded by counts.
    const history = await fhirFetch<Bundle>(`${s.base}/AuditEvent?patient=Patient/${pid['C'] ?? ''}&_count=100`, as(s.token));
    const linked = (history.body.entry ?? []).filter((e) => JSON.stringify(e.resource).includes('$link'));
    expect(linked.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(linked)).not.toContain(ps['ndb']?.['C'] ?? 'none');
    const batches = await s.testDb.db.query<{ domain: string; submitted: number; converted: number }>(
      'SELECT domain, submitted, converted FROM pseudonym.linkage_batch WHERE order_id = $1 ORDER BY id',
      [task.id],
    );
    expect(batches.rows[0]).toEqual({ domain: 'ndb', submitted: 6, converted: 4 });

    // Closure destroys the key: the same request is never answered again.
    const closed = await op<Task>(`Task/${task.id ?? ''}/$close`, tokens['officer-a'] ?? '', [{ name: 'reason', valueCode: 'completed' }]);
    expect(closed.body.status).toBe('completed');
    const salt = await s.testDb.db.query<{ salt: Buffer | null; status: string }>(
      'SELECT salt, status FROM pseudonym.linkage_order WHERE id = $1',
      [task.id],
    );
    expect(salt.rows[0]).toEqual({ salt: null, status: 'closed' });
    expect(rule(await link(task, 'ndb', held))).toBe('not-active');
    expect(rule(await approve(task, 'officer-b', officers['officer-b']))).toBe('not-pending');
    // The database refuses to bring a salt back.
    await expect(
      s.testDb.db.query(`UPDATE pseudonym.linkage_order SET status = 'active', salt = $2 WHERE id = $1`, [task.id, Buffer.alloc(32)]),
    ).rejects.toThrow(/stays ended/);
  });

  it('an order past its period ends by itself, and a revoked one never starts', async () => {
    now = START;
    const task = await file('2026-05-31');
    await approve(task, 'officer-b', officers['officer-b']);
    await approve(task, 'officer-c', officers['officer-c']);
    const held = [ps['ndb']?.['A'] ?? ''];
    expect((await link(task, 'ndb', held)).status).toBe(200);
    now = new Date('2026-06-01T03:00:00Z');
    const startToken = tokens['ndb'];
    tokens['ndb'] = await s.tokenFor('system/*.rs', 'client-ndb', { kind: 'database', code: 'ndb' }, 'HRESCH');
    expect(rule(await link(task, 'ndb', held))).toBe('expired');
    tokens['ndb'] = startToken ?? '';
    const row = await s.testDb.db.query<{ salt: Buffer | null; status: string }>(
      'SELECT salt, status FROM pseudonym.linkage_order WHERE id = $1',
      [task.id],
    );
    expect(row.rows[0]).toEqual({ salt: null, status: 'expired' });

    now = START;
    const revoked = await file();
    const r = await op<Task>(`Task/${revoked.id ?? ''}/$close`, tokens['officer-a'] ?? '', [{ name: 'reason', valueCode: 'revoked' }]);
    expect(r.body.status).toBe('cancelled');
    expect(rule(await approve(revoked, 'officer-b', officers['officer-b']))).toBe('not-pending');
  });

  it('only the authority files, approves and closes; only a named database converts', async () => {
    now = START;
    const hospitalToken = await s.tokenFor('system/*.cruds', 'hospital', { kind: 'medical-institution', code: '1312345678' });
    const filed = await op<OperationOutcome>('Task/$linkage-order', hospitalToken, [{ name: 'domain', valueCode: 'ndb' }]);
    expect(filed.status).toBe(403);
    const bad = await op<OperationOutcome>('Task/$linkage-order', tokens['officer-a'] ?? '', [
      { name: 'domain', valueCode: 'ndb' },
      { name: 'domain', valueCode: 'no-such-db' },
      { name: 'project', valueString: 'x' },
      { name: 'purpose', valueCode: 'HRESCH' },
      { name: 'legalBasis', valueString: 'x' },
      { name: 'start', valueDate: '2026-05-01' },
      { name: 'end', valueDate: '2026-06-01' },
    ]);
    expect(bad.status).toBe(400);
    expect(rule(bad)).toBe('order-input');
    const task = await file();
    const byDb = await op(`Task/${task.id ?? ''}/$close`, tokens['ndb'] ?? '', []);
    expect(byDb.status).toBe(403);
    // A database never reads the order's Task (it is the authority's record).
    expect((await fhirFetch(`${s.base}/Task/${task.id ?? ''}`, as(tokens['ndb'] ?? ''))).status).toBe(403);
  });
});
