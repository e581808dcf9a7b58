/**
 * The access log's signed tree heads and proofs (issue 17 item 2), over HTTP on a real server:
 * checkpoints that verify with the published key (and tampered ones that do not), the JWS form,
 * inclusion proofs of AuditEvents checked with the dependency-free verifier, consistency proofs
 * between two heads, who may ask for which proof, and the refusals of bad parameters.
 */
import crypto from 'node:crypto';
import type { AuditEvent, Bundle, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { compactVerify, importJWK } from 'jose';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileLogKey } from '../../src/audit/log-key.ts';
import { TreeHeads } from '../../src/audit/tree-heads.ts';
import type { TreeHead } from '../../src/audit/tree-heads.ts';
import {
  fromBase64,
  leafHash,
  openCheckpoint,
  parseVerifierKey,
  rootFromLeafHashes,
  toBase64,
  verifyConsistency,
  verifyInclusion,
  VerifyError,
} from '../../src/audit/verify/log-verify.ts';
import { insertHead } from '../../src/store/log-heads.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

interface KeyDoc {
  keyName: string;
  verifierKey: string;
  jwk: JWK;
}
interface InclusionDoc {
  index: number;
  size: number;
  leafHash: string;
  entry: string;
  proof: string[];
}
interface ConsistencyDoc {
  first: number;
  second: number;
  proof: string[];
}

const utf8 = new TextEncoder();
const HOSPITAL = { kind: 'medical-institution' as const, code: '1310000001' };
const OTHER_HOSPITAL = { kind: 'medical-institution' as const, code: '1310000002' };

describe.each(testDrivers())('signed tree heads and proofs on %s', (driver) => {
  let s: TestServer;
  let heads: TreeHeads;
  let patient: Patient & { id: string };
  const as = (token: string): { headers: Record<string, string> } => ({ headers: { authorization: `Bearer ${token}` } });
  const anon = { anonymous: true };

  beforeAll(async () => {
    s = await startTestServer(driver);
    useToken(s.token);
    heads = s.app.treeHeads as TreeHeads;
    patient = (
      await fhirFetch<Patient & { id: string }>(`${s.base}/Patient`, {
        method: 'POST',
        json: { resourceType: 'Patient', name: [{ family: 'Log' }], birthDate: '1970-01-01' },
      })
    ).body;
    for (let i = 0; i < 5; i++) expect((await fhirFetch(`${s.base}/Patient/${patient.id}`)).status).toBe(200);
  });
  afterAll(async () => {
    await s.close();
  });

  const key = async (): Promise<KeyDoc> => {
    const res = await fhirFetch<KeyDoc>(`${s.base}/_log/key`, anon);
    expect(res.status).toBe(200);
    return res.body;
  };
  const latest = async (): Promise<TreeHead> => {
    const res = await fhirFetch<TreeHead>(`${s.base}/_log/head`, anon);
    expect(res.status).toBe(200);
    return res.body;
  };
  const eventsOf = async (token: string, q = ''): Promise<AuditEvent[]> => {
    const res = await fhirFetch<Bundle>(`${s.base}/AuditEvent?_count=50${q}`, as(token));
    expect(res.status).toBe(200);
    return (res.body.entry ?? []).map((e) => e.resource as AuditEvent);
  };
  const inclusion = (event: string, token?: string, size?: number) =>
    fhirFetch<InclusionDoc & OperationOutcome>(
      `${s.base}/_log/proof/inclusion?event=${event}${size === undefined ? '' : `&size=${size}`}`,
      token === undefined ? {} : as(token),
    );
  const verifies = async (p: InclusionDoc, root: string): Promise<boolean> =>
    verifyInclusion(p.index, p.size, fromBase64(p.leafHash), p.proof.map(fromBase64), fromBase64(root));

  it('signs a head of the stored tree: its checkpoint verifies with the published key, and a tampered one does not', async () => {
    const signed = await heads.signNow();
    expect(signed?.size).toBeGreaterThan(0);
    const k = await key();
    expect(k.keyName).toBe(`${new URL(s.base).host}/medid-log`);
    const verifier = await parseVerifierKey(k.verifierKey);
    expect(verifier.name).toBe(k.keyName);
    expect(Buffer.from(verifier.publicKey).toString('base64url')).toBe(k.jwk.x);

    const res = await fetch(`${s.base}/_log/checkpoint`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const note = await res.text();
    const c = await openCheckpoint(note, [verifier], k.keyName);
    expect(c.size).toBe(signed?.size);
    expect(toBase64(c.root)).toBe(signed?.root);

    // The root is the RFC 9162 tree hash of every stored leaf (each the hash of the entry its
    // event gives: test/conformance/access-log.test.ts).
    const { rows } = await s.testDb.db.query<{ hash: Uint8Array }>('SELECT hash FROM audit.log_leaf WHERE idx < $1 ORDER BY idx', [c.size]);
    expect(rows).toHaveLength(c.size);
    expect(toBase64(await rootFromLeafHashes(rows.map((r) => Uint8Array.from(r.hash))))).toBe(signed?.root);

    const [origin, size, root, ...rest] = note.split('\n');
    const tampered = [
      [origin, String(Number(size) + 1), root, ...rest].join('\n'),
      [origin, size, toBase64(new Uint8Array(32)), ...rest].join('\n'),
      [`${origin}x`, size, root, ...rest].join('\n'),
    ];
    for (const t of tampered) await expect(openCheckpoint(t, [verifier], k.keyName)).rejects.toThrow(VerifyError);
    // Another key of the same name does not open it either.
    const stranger = await parseVerifierKey(new FileLogKey(crypto.randomBytes(32), k.keyName).verifierKey);
    await expect(openCheckpoint(note, [stranger], k.keyName)).rejects.toThrow(/no signature by a known key/);
  });

  it('the head is also a JWS (EdDSA) over {origin, size, root, time}, verified with the published JWK', async () => {
    const h = await latest();
    const k = await key();
    expect(h.jws).toEqual(expect.any(String));
    const jws = h.jws as string;
    const { payload, protectedHeader } = await compactVerify(jws, await importJWK(k.jwk, 'EdDSA'));
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', kid: k.jwk.kid, typ: 'medid-tree-head+jws' });
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({ origin: k.keyName, size: h.size, root: h.root, time: h.time });
    expect(h.checkpoint).toBe(await (await fetch(`${s.base}/_log/checkpoint`)).text());
    // A JWS with another payload does not verify.
    const [hdr, , sig] = jws.split('.');
    const forged = `${hdr}.${Buffer.from(JSON.stringify({ origin: k.keyName, size: h.size + 1, root: h.root, time: h.time })).toString('base64url')}.${sig}`;
    await expect(compactVerify(forged, await importJWK(k.jwk, 'EdDSA'))).rejects.toThrow();
  });

  it('signing again with nothing new keeps the head; a second head of a stored size is skipped', async () => {
    const h = await latest();
    expect(await heads.signNow()).toEqual(h);
    const stored = await insertHead(s.testDb.db, {
      size: h.size,
      root: Buffer.alloc(32),
      checkpoint: 'x\n',
      jws: 'x',
      signedAt: new Date(),
    });
    expect(stored).toBe(false);
    expect(await latest()).toEqual(h);
  });

  it('an inclusion proof of an AuditEvent verifies against the head’s root with the dependency-free verifier', async () => {
    const h = await latest();
    const [event] = await eventsOf(s.token, `&patient=${patient.id}&subtype=read`);
    expect(event?.id).toBeDefined();
    const res = await inclusion(event?.id as string);
    expect(res.status).toBe(200);
    const p = res.body;
    expect(p.size).toBe(h.size);
    expect(p.index).toBeLessThan(h.size);
    expect(toBase64(await leafHash(utf8.encode(p.entry)))).toBe(p.leafHash);
    expect(await verifies(p, h.root)).toBe(true);
    // The entry is the event's, the person by the audit domain's pseudonym.
    const entry = JSON.parse(p.entry) as Record<string, unknown>;
    expect(entry).toMatchObject({ v: 1, time: event?.recorded, subtype: 'read', seq: expect.any(Number) as unknown });
    expect(entry['person']).toMatch(/^a\./);
    // A changed entry, proof or root fails.
    const changed = p.entry.replace('"read"', '"vread"');
    expect(await verifyInclusion(p.index, p.size, await leafHash(utf8.encode(changed)), p.proof.map(fromBase64), fromBase64(h.root))).toBe(
      false,
    );
    expect(await verifies({ ...p, index: p.index === 0 ? 1 : p.index - 1 }, h.root)).toBe(false);
    expect(await verifies(p, toBase64(new Uint8Array(32)))).toBe(false);
  });

  it('a consistency proof between two heads verifies, and old inclusion proofs stay checkable against the old head', async () => {
    const first = await latest();
    const [old] = await eventsOf(s.token, `&patient=${patient.id}&subtype=read`);
    for (let i = 0; i < 7; i++) expect((await fhirFetch(`${s.base}/Patient/${patient.id}`)).status).toBe(200);
    const second = await heads.signNow();
    expect(second?.size).toBeGreaterThan(first.size);
    const res = await fhirFetch<ConsistencyDoc>(`${s.base}/_log/proof/consistency?first=${first.size}&second=${second?.size}`, anon);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ first: first.size, second: second?.size });
    const proof = res.body.proof.map(fromBase64);
    expect(
      await verifyConsistency(first.size, second?.size as number, proof, fromBase64(first.root), fromBase64(second?.root as string)),
    ).toBe(true);
    expect(
      await verifyConsistency(first.size, second?.size as number, proof, fromBase64(first.root), fromBase64(toBase64(new Uint8Array(32)))),
    ).toBe(false);
    // Both heads stay readable by size, and an inclusion proof against the first still verifies.
    const again = await fhirFetch<TreeHead>(`${s.base}/_log/head?size=${first.size}`, anon);
    expect(again.body).toEqual(first);
    const p = await inclusion(old?.id as string, undefined, first.size);
    expect(p.status).toBe(200);
    expect(await verifies(p.body, first.root)).toBe(true);
    // Equal sizes and size 0: an empty proof.
    const same = await fhirFetch<ConsistencyDoc>(`${s.base}/_log/proof/consistency?first=${first.size}&second=${first.size}`, anon);
    expect(same.body.proof).toEqual([]);
    const zero = await fhirFetch<ConsistencyDoc>(`${s.base}/_log/proof/consistency?first=0&second=${first.size}`, anon);
    expect(zero.body.proof).toEqual([]);
  });

  it('a client gets proofs of its own events only; the authority of any; a token is needed', async () => {
    const scope = 'system/Patient.rs system/AuditEvent.rs';
    const hospital = await s.tokenFor(scope, 'log-hospital', HOSPITAL);
    const other = await s.tokenFor(scope, 'log-other-hospital', OTHER_HOSPITAL);
    // The hospital has no care relationship: its read is refused, and the refusal is its event.
    expect((await fhirFetch(`${s.base}/Patient/${patient.id}`, as(hospital))).status).toBe(404);
    const [own] = await eventsOf(hospital);
    expect(own?.id).toBeDefined();
    const authorityEvent = (await eventsOf(s.token, `&patient=${patient.id}&altid=test-admin`))[0];
    expect(authorityEvent?.id).toBeDefined();
    const h = await heads.signNow();

    const mine = await inclusion(own?.id as string, hospital);
    expect(mine.status).toBe(200);
    expect(await verifies(mine.body, h?.root as string)).toBe(true);
    expect((await inclusion(own?.id as string)).status).toBe(200); // the authority

    for (const [event, token] of [
      [authorityEvent?.id as string, hospital],
      [own?.id as string, other],
    ] as const) {
      const res = await inclusion(event, token);
      expect(res.status).toBe(404);
      expect(res.text).not.toContain(event);
    }
    // No token: 401; no AuditEvent scope: 403; a utilizing database reads no AuditEvent at all.
    expect((await fhirFetch(`${s.base}/_log/proof/inclusion?event=${own?.id}`, anon)).status).toBe(401);
    const noScope = await s.tokenFor('system/Patient.rs', 'log-hospital', HOSPITAL);
    expect((await inclusion(own?.id as string, noScope)).status).toBe(403);
    const database = await s.tokenFor('system/AuditEvent.rs', 'log-db', { kind: 'database', code: 'DB01' });
    expect((await inclusion(own?.id as string, database)).status).toBe(403);
  });

  it('the public endpoints need no token', async () => {
    for (const path of ['_log/head', '_log/key', '_log/checkpoint', '_log/proof/consistency?first=1&second=1']) {
      expect((await fetch(`${s.base}/${path}`)).status).toBe(200);
    }
    expect((await fetch(`${s.base}/_log/head`, { method: 'HEAD' })).status).toBe(200);
  });

  it('bad parameters are 400, an unknown event 404 naming no value, and an event not under a head yet 409', async () => {
    const h = await latest();
    const bad = async (url: string, status = 400): Promise<string> => {
      const res = await fhirFetch<OperationOutcome>(url);
      expect(res.status, url).toBe(status);
      expect(res.body.resourceType).toBe('OperationOutcome');
      return res.body.issue[0]?.details?.text ?? '';
    };
    const c = `${s.base}/_log/proof/consistency`;
    expect(await bad(`${c}?first=1`)).toContain('second is required');
    expect(await bad(`${c}?first=3&second=2`)).toContain('first must not be greater');
    expect(await bad(`${c}?first=1&second=${h.size + 1}`)).toContain('beyond the latest signed tree head');
    await bad(`${c}?first=-1&second=2`);
    await bad(`${c}?first=01&second=2`);
    await bad(`${c}?first=1&second=2&second=3`);
    await bad(`${c}?first=1&second=2&third=3`);
    await bad(`${s.base}/_log/head?size=x`);
    await bad(`${s.base}/_log/head?size=${h.size + 1000}`, 404);

    const i = `${s.base}/_log/proof/inclusion`;
    await bad(i);
    await bad(`${i}?event=abc`);
    const [event] = await eventsOf(s.token, `&patient=${patient.id}&subtype=read`);
    expect(await bad(`${i}?event=${event?.id}&size=${h.size + 1}`)).toContain('beyond the latest signed tree head');
    const p = await inclusion(event?.id as string);
    expect(await bad(`${i}?event=${event?.id}&size=${p.body.index}`)).toContain(`not in the tree of size ${p.body.index}`);
    expect(await bad(`${i}?event=987654321`, 404)).not.toContain('987654321');

    // An event logged after the latest head: not under a signed head yet.
    expect((await fhirFetch(`${s.base}/Patient/${patient.id}`)).status).toBe(200);
    const [fresh] = await eventsOf(s.token, `&patient=${patient.id}&subtype=read`);
    await s.app.auditLog.settle(true); // its leaf, a few ms after its place
    expect(await bad(`${i}?event=${fresh?.id}`, 409)).toContain('not under a signed tree head yet');
  });

  it('an event still waiting for its leaf is 409; one recorded before the log began is 404', async () => {
    const insert = async (): Promise<number> => {
      const { rows } = await s.testDb.db.query<{ seq: string | number }>(
        `INSERT INTO audit.event (recorded, event_type, action, subtype, outcome, purpose, client_id)
         VALUES (now(), 'rest', 'R', 'read', 0, 'TREAT', 'test-admin') RETURNING seq`,
      );
      return Number(rows[0]?.seq);
    };
    const pending = await insert();
    await s.testDb.db.query('INSERT INTO audit.log_pending (event) VALUES ($1)', [pending]);
    const res = await inclusion(String(pending));
    expect(res.status).toBe(409);
    expect(res.text).toContain("not in the access log's tree yet");
    const unlogged = await insert();
    const old = await inclusion(String(unlogged));
    expect(old.status).toBe(404);
    expect(old.text).toContain('before the access log began');
  });

  it('in the background, signs a head at once when this process appended MEDID_LOG_HEAD_ENTRIES entries', async () => {
    let appended = 0;
    const background = new TreeHeads({
      db: s.testDb.db,
      key: new FileLogKey(crypto.randomBytes(32), 'background.test/medid-log'),
      now: () => new Date(),
      headSeconds: 3600,
      headEntries: 3,
      appended: () => appended,
      caughtUp: () => s.app.auditLog.settle(true),
    });
    const stop = background.start(); // the first tick signs what is there
    try {
      await expect.poll(async () => (await latest()).checkpoint.startsWith('background.test/medid-log\n')).toBe(true);
      const before = await latest();
      for (let i = 0; i < 3; i++) expect((await fhirFetch(`${s.base}/Patient/${patient.id}`)).status).toBe(200);
      appended = 2;
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect((await latest()).size).toBe(before.size); // not yet: two entries, and an hour to wait
      appended = 3;
      await expect.poll(async () => (await latest()).size, { timeout: 3000 }).toBeGreaterThan(before.size);
    } finally {
      stop();
    }
  });

  it('refuses to sign a head over a stored tree that no longer extends the last head', async () => {
    expect((await fhirFetch(`${s.base}/Patient/${patient.id}`)).status).toBe(200);
    const before = await latest();
    // What only the database owner can do: switch the triggers off and rewrite stored hashes.
    const db = s.testDb.db;
    await db.query('ALTER TABLE audit.log_node DISABLE TRIGGER ALL');
    await db.query('ALTER TABLE audit.log_leaf DISABLE TRIGGER ALL');
    await db.query("UPDATE audit.log_node SET hash = sha256(hash || '\\x01'::bytea)");
    await db.query("UPDATE audit.log_leaf SET hash = sha256(hash || '\\x01'::bytea)");
    await expect(heads.signNow()).rejects.toThrow(/does not extend the signed head/);
    expect(await latest()).toEqual(before);
  });
});
