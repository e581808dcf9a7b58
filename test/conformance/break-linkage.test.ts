/**
 * Patient/$change-medical-id over HTTP, its two cases (R6, privacy-design.md §3): a lost card
 * keeps every domain pseudonym; a change that breaks linkage gives the person a new key, so
 * every domain pseudonym changes and the old key resolves to nobody, with the old→new link kept
 * only sealed to the oversight key (opened here with its private key) or not at all. The note
 * stays in the registry: never in the audit log, a log line or a response.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Bundle, Parameters as FhirParameters, Patient } from '@medplum/fhirtypes';
import { compactDecrypt } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ID_SYSTEMS } from '../../src/core/systems.ts';
import { PseudonymDomainList } from '../../src/pseudonym/domain-list.ts';
import { FilePseudonymKeys } from '../../src/pseudonym/file-keys.ts';
import { PseudonymService } from '../../src/pseudonym/service.ts';
import { keyedPersonOfKey, keyedPersonOfMedicalId, keyedPersons } from '../../src/registry/person-keys.ts';
import type { SealedLinkV1 } from '../../src/registry/sealed-link.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch } from '../helpers/fhir.ts';
import { insurerNumber, registerBody, registrationPatient, results } from '../helpers/registry.ts';
import type { PersonSpec } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const INSURER = insurerNumber('0613810');
const NOTE = 'DV被害のため住所秘匿（支援措置 2026-0042）';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-break-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.each(testDrivers())('breaking linkage on %s', (driver) => {
  const oversight = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyFile = path.join(dir, `oversight-${driver}.json`);
  fs.writeFileSync(keyFile, JSON.stringify(oversight.publicKey.export({ format: 'jwk' })));
  const pseudonymKeys = new FilePseudonymKeys(crypto.randomBytes(32));
  const logLines: string[] = [];
  const responses: string[] = [];
  let s: TestServer;
  let plain: TestServer;
  let ps: PseudonymService;
  let domains: string[];
  let number = 7000;

  const logger = () =>
    pino(
      { level: 'trace' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          logLines.push(chunk.toString());
          done();
        },
      }),
    );

  beforeAll(async () => {
    s = await startTestServer(driver, {
      logger: logger(),
      config: { breakLinkageLink: 'sealed', oversightKeyFile: keyFile },
      deps: { pseudonymKeys },
    });
    plain = await startTestServer(driver, { logger: logger(), deps: { pseudonymKeys } });
    ps = new PseudonymService({ keys: pseudonymKeys, domains: new PseudonymDomainList(s.testDb.db) });
    domains = (await ps.domains.list()).map((d) => d.code);
    expect(domains.length).toBeGreaterThan(5);
  });
  afterAll(async () => {
    await s?.close();
    await plain?.close();
  });

  const call = async <T>(srv: TestServer, url: string, init: Parameters<typeof fhirFetch>[1] = {}, token = srv.token) => {
    const r = await fhirFetch<T>(`${srv.base}${url}`, { ...init, headers: { authorization: `Bearer ${token}` } });
    responses.push(r.text);
    return r;
  };
  /**
   * A new person each time: its own insured number and birth date, 401 days after the previous
   * one (the same kana name with a birth date a digit apart would be held for review by the match
   * engine, issue 18 item 5).
   */
  const register = async (srv: TestServer, spec: Partial<PersonSpec> = {}) => {
    const n = number++;
    const birthDate = new Date(Date.UTC(1950, 0, 1) + (n - 7000) * 401 * 86_400_000).toISOString().slice(0, 10);
    const res = await call<FhirParameters>(srv, '/Patient/$register', {
      method: 'POST',
      json: registerBody([
        { patient: registrationPatient({ insurer: INSURER, number: String(n), kana: ['スズキ', 'ハナ'], birthDate, ...spec }) },
      ]),
    });
    expect(res.status, res.text).toBe(200);
    const [r] = results(res.body);
    return { patient: r?.patient as string, medicalId: r?.medicalId as string };
  };
  const change = (srv: TestServer, id: string, params: FhirParameters['parameter'] = [], token?: string, query = '') =>
    call<FhirParameters>(
      srv,
      `/Patient/${id}/$change-medical-id${query}`,
      { method: 'POST', json: { resourceType: 'Parameters', parameter: params } },
      token,
    );
  const breakIt = (srv: TestServer, id: string, note = NOTE) =>
    change(srv, id, [
      { name: 'reason', valueCode: 'break-linkage' },
      { name: 'note', valueString: note },
    ]);
  const keyOf = async (srv: TestServer, id: string): Promise<Buffer> => {
    const p = (await keyedPersons(srv.testDb.db, [id])).get(id);
    if (!p) throw new Error(`no person ${id}`);
    return p.kid;
  };
  /** The person's pseudonym in every domain, as the pseudonymization service derives it from the registry's key. */
  const pseudonyms = async (srv: TestServer, id: string): Promise<Map<string, string>> => {
    const kid = await keyOf(srv, id);
    return new Map(await Promise.all(domains.map(async (d) => [d, await ps.pseudonymOf(kid, d)] as const)));
  };
  const byIdentifier = async (srv: TestServer, system: string, value: string) =>
    (await call<Bundle<Patient>>(srv, `/Patient?identifier=${encodeURIComponent(`${system}|${value}`)}`)).body.entry?.map(
      (e) => e.resource?.id,
    ) ?? [];
  const param = (p: FhirParameters, name: string) => p.parameter?.find((x) => x.name === name);
  /** Rows of every bytea column of the database that hold `key`. */
  const rowsHolding = async (srv: TestServer, key: Buffer): Promise<string[]> => {
    const { rows: cols } = await srv.testDb.db.query<{ s: string; t: string; c: string }>(
      `SELECT table_schema AS s, table_name AS t, column_name AS c FROM information_schema.columns
       WHERE data_type = 'bytea' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
    );
    const found: string[] = [];
    for (const c of cols) {
      const { rows } = await srv.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${c.s}"."${c.t}" WHERE "${c.c}" = $1`, [
        key,
      ]);
      if ((rows[0]?.n ?? 0) > 0) found.push(`${c.s}.${c.t}.${c.c}`);
    }
    return found;
  };

  it('lost card (the default): a new medical ID, the same key, every domain pseudonym unchanged', async () => {
    const r = await register(s);
    const before = await pseudonyms(s, r.patient);
    const kid = await keyOf(s, r.patient);
    const res = await change(s, r.patient);
    expect(res.status, res.text).toBe(200);
    expect(param(res.body, 'link')).toBeUndefined();
    expect(await pseudonyms(s, r.patient)).toEqual(before);
    expect((await keyedPersonOfKey(s.testDb.db, kid))?.patientId).toBe(r.patient);
    // The replaced number still names the person for sealed delivery (data sent under the old card).
    expect((await keyedPersonOfMedicalId(s.testDb.db, r.medicalId))?.person.patientId).toBe(r.patient);
    const explicit = await change(s, r.patient, [{ name: 'reason', valueCode: 'lost-card' }]);
    expect(explicit.status, explicit.text).toBe(200);
    expect(await pseudonyms(s, r.patient)).toEqual(before);
  });

  it('break-linkage: a new key and medical ID, a new pseudonym in every domain, the old key resolves to nobody', async () => {
    const r = await register(s);
    const before = await pseudonyms(s, r.patient);
    const oldKey = await keyOf(s, r.patient);
    const res = await breakIt(s, r.patient);
    expect(res.status, res.text).toBe(200);
    const mid = param(res.body, 'medicalId')?.valueIdentifier?.value as string;
    expect(mid).toMatch(/^1\d{13}$/);
    expect(mid).not.toBe(r.medicalId);
    expect(param(res.body, 'link')?.valueCode).toBe('sealed');

    const after = await pseudonyms(s, r.patient);
    for (const d of domains) expect(after.get(d), d).not.toBe(before.get(d));
    const newKey = await keyOf(s, r.patient);
    expect(newKey.equals(oldKey)).toBe(false);
    expect(await keyedPersonOfKey(s.testDb.db, oldKey)).toBeUndefined();
    expect(await keyedPersonOfKey(s.testDb.db, newKey)).toMatchObject({ patientId: r.patient, status: 'active' });
    // An old pseudonym decrypts to the old key, which names nobody.
    const oldKid = await ps.kidOf(before.get(domains[0]) as string, domains[0]);
    expect(oldKid && (await keyedPersonOfKey(s.testDb.db, oldKid))).toBeUndefined();
    // Nothing in the database keeps the old key.
    expect(await rowsHolding(s, oldKey)).toEqual([]);
    // A sealed envelope naming the old medical ID names nobody: it must not lead to the new pseudonyms.
    expect(await keyedPersonOfMedicalId(s.testDb.db, r.medicalId)).toBeUndefined();

    // The old medical ID is retired (never issued again) and has left the Patient: it leads nowhere.
    const p = (await call<Patient>(s, `/Patient/${r.patient}`)).body;
    expect(p.identifier?.filter((i) => i.system === ID_SYSTEMS.medicalId)).toEqual([
      { use: 'official', system: ID_SYSTEMS.medicalId, value: mid, period: { start: expect.any(String) as string } },
    ]);
    expect(await byIdentifier(s, ID_SYSTEMS.medicalId, r.medicalId)).toEqual([]);
    expect(await byIdentifier(s, ID_SYSTEMS.medicalId, mid)).toEqual([r.patient]);
    expect((await s.testDb.db.query(`SELECT status FROM registry.medical_id WHERE mid = $1`, [r.medicalId])).rows).toEqual([
      { status: 'retired' },
    ]);
    // The person is still the person: the insured number finds it, a re-registration is no new person.
    expect(await byIdentifier(s, ID_SYSTEMS.insuredMemberId, `${INSURER}:1:${number - 1}:00`)).toEqual([r.patient]);
    const again = await call<FhirParameters>(s, '/Patient/$register', {
      method: 'POST',
      json: registerBody([
        {
          patient: registrationPatient({ insurer: INSURER, number: String(number - 1), kana: ['スズキ', 'ハナ'], birthDate: p.birthDate }),
        },
      ]),
    });
    expect(results(again.body)[0]).toMatchObject({ status: 'unchanged', patient: r.patient, medicalId: mid });

    // The decision is recorded with its note; the link only as a JWE the oversight key opens.
    const { rows } = await s.testDb.db.query<{ id: string | number; note: string; sealed_link: string; decided_on: string }>(
      `SELECT id, note, sealed_link, to_char(decided_on, 'YYYY-MM-DD') AS decided_on FROM registry.linkage_break WHERE patient_id = $1`,
      [r.patient],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.note).toBe(NOTE);
    const { plaintext, protectedHeader } = await compactDecrypt(rows[0]?.sealed_link, oversight.privateKey);
    expect(protectedHeader).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM' });
    expect(JSON.parse(Buffer.from(plaintext).toString('utf8'))).toEqual({
      v: 1,
      patient: `Patient/${r.patient}`,
      old: oldKey.toString('base64url'),
      new: newKey.toString('base64url'),
      merged: [],
      date: rows[0]?.decided_on,
      reason: 'break-linkage',
    } satisfies SealedLinkV1);

    // Audited with the reason code and the decision, never the note or a key; nothing logged or answered holds them.
    const audit = await s.testDb.db.query<{ query: string; outcome: number; row: string }>(
      `SELECT query, outcome, row_to_json(e)::text AS row FROM audit.event e WHERE patient_id = $1 AND subtype = '$change-medical-id'`,
      [r.patient],
    );
    expect(audit.rows.map((x) => [x.query, x.outcome])).toEqual([[`reason=break-linkage&decision=${rows[0]?.id}`, 0]]);
    const all = await s.testDb.db.query<{ t: string }>(`SELECT string_agg(row_to_json(e)::text, '\n') AS t FROM audit.event e`);
    const everywhere = [all.rows[0]?.t ?? '', logLines.join(''), responses.join('')];
    for (const text of everywhere) {
      expect(text).not.toContain('DV被害');
      for (const k of [oldKey, newKey])
        for (const enc of ['hex', 'base64', 'base64url'] as const) expect(text).not.toContain(k.toString(enc));
    }
  });

  it('breaks again: the second key goes the way of the first', async () => {
    const r = await register(s);
    expect((await breakIt(s, r.patient)).status).toBe(200);
    const first = await keyOf(s, r.patient);
    const mid = await pseudonyms(s, r.patient);
    expect((await breakIt(s, r.patient, 'second decision')).status).toBe(200);
    expect(await keyedPersonOfKey(s.testDb.db, first)).toBeUndefined();
    const now = await pseudonyms(s, r.patient);
    for (const d of domains) expect(now.get(d)).not.toBe(mid.get(d));
    const n = await s.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM registry.linkage_break WHERE patient_id = $1`, [
      r.patient,
    ]);
    expect(n.rows[0]?.n).toBe(2);
  });

  it('gives new keys to the duplicates merged into the person too (merge notices linked their pseudonyms)', async () => {
    const src = await register(s, { kana: ['タナカ', 'ミキ'], birthDate: '1990-05-05' });
    const tgt = await register(s, { kana: ['タナカ', 'ミキ'], birthDate: '1990-11-27' });
    const merge = await call<FhirParameters>(s, '/Patient/$merge', {
      method: 'POST',
      json: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'source-patient', valueReference: { reference: `Patient/${src.patient}` } },
          { name: 'target-patient', valueReference: { reference: `Patient/${tgt.patient}` } },
        ],
      },
    });
    expect(merge.status, merge.text).toBe(200);
    const srcOld = await keyOf(s, src.patient);
    const tgtOld = await keyOf(s, tgt.patient);
    const res = await breakIt(s, tgt.patient);
    expect(res.status, res.text).toBe(200);
    const srcNew = await keyOf(s, src.patient);
    const tgtNew = await keyOf(s, tgt.patient);
    expect(srcNew.equals(srcOld)).toBe(false);
    expect(await keyedPersonOfKey(s.testDb.db, srcOld)).toBeUndefined();
    expect((await keyedPersons(s.testDb.db, [src.patient])).get(src.patient)?.mergedInto?.equals(tgtNew)).toBe(true);
    // The survivor's Patient no longer lists the duplicate's medical ID either.
    const p = param(res.body, 'patient')?.resource as Patient;
    expect(p.identifier?.filter((i) => i.system === ID_SYSTEMS.medicalId).map((i) => i.value)).toEqual([
      param(res.body, 'medicalId')?.valueIdentifier?.value,
    ]);
    const { rows } = await s.testDb.db.query<{ sealed_link: string }>(
      `SELECT sealed_link FROM registry.linkage_break WHERE patient_id = $1`,
      [tgt.patient],
    );
    const { plaintext } = await compactDecrypt(rows[0]?.sealed_link, oversight.privateKey);
    const link = JSON.parse(Buffer.from(plaintext).toString('utf8')) as SealedLinkV1;
    expect(link).toMatchObject({ old: tgtOld.toString('base64url'), new: tgtNew.toString('base64url') });
    expect(link.merged).toEqual([{ old: srcOld.toString('base64url'), new: srcNew.toString('base64url') }]);
    expect(await rowsHolding(s, srcOld)).toEqual([]);
    expect(await rowsHolding(s, tgtOld)).toEqual([]);
  });

  it('is the authority’s alone, and refuses a missing note, a note in the URL, a note without the reason, an unknown reason', async () => {
    const r = await register(s);
    const kid = await keyOf(s, r.patient);
    for (const kind of ['insurer', 'medical-institution', 'database'] as const) {
      const token = await s.tokenFor('system/*.cruds', `break-${kind}`, { kind, code: kind === 'insurer' ? INSURER : '1310000001' });
      const res = await change(
        s,
        r.patient,
        [
          { name: 'reason', valueCode: 'break-linkage' },
          { name: 'note', valueString: NOTE },
        ],
        token,
      );
      expect(res.status, `${kind}: ${res.text}`).toBe(403);
    }
    expect((await change(s, r.patient, [{ name: 'reason', valueCode: 'break-linkage' }])).status).toBe(400);
    expect((await breakIt(s, r.patient, '   ')).status).toBe(400);
    expect((await breakIt(s, r.patient, 'x'.repeat(2001))).status).toBe(400);
    expect((await breakIt(s, r.patient, 'a\u0000b')).status).toBe(400);
    const inUrl = await change(
      s,
      r.patient,
      [{ name: 'reason', valueCode: 'break-linkage' }],
      undefined,
      `?note=${encodeURIComponent('秘密のメモ')}`,
    );
    expect(inUrl.status, inUrl.text).toBe(400);
    expect(inUrl.text).toMatch(/never in the URL/);
    const lost = await change(s, r.patient, [{ name: 'note', valueString: NOTE }]);
    expect(lost.status, lost.text).toBe(400);
    const unknown = await change(s, r.patient, [{ name: 'reason', valueCode: 'because' }]);
    expect(unknown.status).toBe(400);
    // Nothing changed, and the refusals were audited by reason code only.
    expect((await keyOf(s, r.patient)).equals(kid)).toBe(true);
    const audit = await s.testDb.db.query<{ query: string }>(
      `SELECT query FROM audit.event WHERE patient_id = $1 AND subtype = '$change-medical-id' ORDER BY seq`,
      [r.patient],
    );
    expect(new Set(audit.rows.map((x) => x.query))).toEqual(new Set(['reason=break-linkage', 'reason=lost-card', 'reason=invalid']));
    const text = (await s.testDb.db.query<{ t: string }>(`SELECT string_agg(row_to_json(e)::text, '\n') AS t FROM audit.event e`)).rows[0]
      ?.t;
    expect(text).not.toContain('秘密のメモ');
    expect(logLines.join('')).not.toContain(encodeURIComponent('秘密のメモ'));
  });

  it('with MEDID_BREAK_LINKAGE_LINK=none keeps nothing of the link', async () => {
    const r = await register(plain);
    const oldKey = await keyOf(plain, r.patient);
    const res = await breakIt(plain, r.patient);
    expect(res.status, res.text).toBe(200);
    expect(param(res.body, 'link')?.valueCode).toBe('none');
    expect(await keyedPersonOfKey(plain.testDb.db, oldKey)).toBeUndefined();
    const { rows } = await plain.testDb.db.query(`SELECT note, sealed_link FROM registry.linkage_break WHERE patient_id = $1`, [r.patient]);
    expect(rows).toEqual([{ note: NOTE, sealed_link: null }]);
    expect(await rowsHolding(plain, oldKey)).toEqual([]);
  });

  it('keeps its guards in the database: a medical ID never moves to another person, decisions are append-only, every key reference follows a new key', async () => {
    const a = await register(s);
    const b = await register(s);
    const kb = await keyOf(s, b.patient);
    await expect(s.testDb.db.query(`UPDATE registry.medical_id SET kid = $2 WHERE mid = $1`, [a.medicalId, kb])).rejects.toThrow(
      /never change/,
    );
    await expect(s.testDb.db.query(`UPDATE registry.linkage_break SET note = 'x'`)).rejects.toThrow(/append-only/);
    await expect(s.testDb.db.query(`DELETE FROM registry.linkage_break`)).rejects.toThrow(/append-only/);
    // A foreign key to registry.person (kid) that does not cascade would make the change fail, or keep the old key.
    const { rows } = await s.testDb.db.query<{ conname: string; confupdtype: string }>(
      `SELECT c.conname, c.confupdtype FROM pg_constraint c
       JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = ANY (c.confkey)
       WHERE c.contype = 'f' AND c.confrelid = 'registry.person'::regclass AND a.attname = 'kid'`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(5);
    expect(rows.filter((x) => x.confupdtype !== 'c')).toEqual([]);
  });
});
