/**
 * The registrar asks the match engine (issue 18 item 5), over HTTP on both databases: a new
 * registration whose best candidate is graded probable or better is held for review with its
 * candidates, instead of becoming a second person with a second medical ID; a number updates a
 * person only when the engine grades the record certain for it; My Numbers that prove two
 * persons different still make a new person. Through `Patient/$register` (one record, and a
 * batch on the set-based path) and through `medid import --server`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Parameters, Patient, Task } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ID_SYSTEMS, NAME_REPRESENTATION } from '../../src/core/systems.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { insurerNumber, myNumber, registerBody, results } from '../helpers/registry.ts';
import type { ParsedResult } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const INSURER = insurerNumber('0613811');
const OTHER_INSURER = insurerNumber('0127003');

interface Spec {
  insurer?: string;
  number: string;
  kana: [string, string];
  kanji?: [string, string];
  birthDate: string;
  gender: Patient['gender'];
  myNumber?: string;
  phone?: string;
  address?: string;
}

/** A registration Patient: kana (SYL) always, kanji (IDE) only when given — a record without kanji is legal. */
function person(p: Spec): Patient {
  return {
    resourceType: 'Patient',
    identifier: [
      { system: ID_SYSTEMS.insuredMemberId, value: `${p.insurer ?? INSURER}:1:${p.number}:00` },
      ...(p.myNumber ? [{ system: ID_SYSTEMS.myNumber, value: p.myNumber }] : []),
    ],
    name: [
      ...(p.kanji ? [{ extension: [{ url: NAME_REPRESENTATION, valueCode: 'IDE' }], family: p.kanji[0], given: [p.kanji[1]] }] : []),
      { extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], family: p.kana[0], given: [p.kana[1]] },
    ],
    birthDate: p.birthDate,
    gender: p.gender,
    ...(p.phone ? { telecom: [{ system: 'phone', value: p.phone }] } : {}),
    ...(p.address ? { address: [{ text: p.address }] } : {}),
  };
}

/** Runs the medid CLI without blocking this process (the server under test runs in it). */
function medidAsync(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/medid.js', ...args], { cwd: ROOT, env: { ...process.env, DATABASE_URL: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe.each(testDrivers())('the registrar asks the match engine, on %s', (driver) => {
  let s: TestServer;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-registry-match-'));
  beforeAll(async () => {
    s = await startTestServer(driver);
    useToken(s.token);
  });
  afterAll(async () => {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const register = async (specs: Spec[]): Promise<ParsedResult[]> => {
    const res = await fhirFetch<Parameters>(`${s.base}/Patient/$register`, {
      method: 'POST',
      json: registerBody(specs.map((p, i) => ({ record: `r${i}`, patient: person(p) }))),
    });
    expect(res.status, res.text).toBe(200);
    return results(res.body);
  };
  const readPatient = async (id: string | undefined) => (await fhirFetch<Patient>(`${s.base}/Patient/${id ?? ''}`)).body;
  const readTask = async (id: string | undefined) => (await fhirFetch<Task>(`${s.base}/Task/${id ?? ''}`)).body;
  const candidates = (t: Task) =>
    (t.input ?? []).filter((i) => i.type.text === 'candidate').map((i) => i.valueReference?.reference?.replace('Patient/', ''));
  const ruleOf = (r: ParsedResult | undefined) => r?.issues?.issue[0]?.details?.coding?.map((c) => c.code);
  const medicalIds = async (): Promise<number> =>
    (await s.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM registry.medical_id`)).rows[0]?.n ?? 0;

  /** 佐藤 優希 (サトウ ユウキ), registered by her insurer without a My Number. */
  const yuki: Spec = { number: '100', kana: ['サトウ', 'ユウキ'], kanji: ['佐藤', '優希'], birthDate: '1990-05-05', gender: 'female' };

  it('holds サトー ユーキ for review against 佐藤 優希 (サトウ ユウキ, same birth date and sex) instead of issuing a second medical ID', async () => {
    const [first] = await register([yuki]);
    expect(first, JSON.stringify(first?.issues)).toMatchObject({ status: 'created' });
    const before = await medicalIds();
    // Another insurer, no My Number, the kana as a desk typed them, no kanji: the exact kana rule saw nobody.
    const [second] = await register([
      { insurer: OTHER_INSURER, number: '200', kana: ['サトー', 'ユーキ'], birthDate: '1990-05-05', gender: 'female' },
    ]);
    expect(second?.status, JSON.stringify(second?.issues)).toBe('review');
    expect(second?.patient).toBeUndefined();
    expect(ruleOf(second)).toContain('registry.review');
    expect(second?.issues?.issue[0]?.details?.text).toMatch(
      /match engine finds a registered person like this record \(best: (probable|certain), \d+\.\d\d bits\)/,
    );
    expect(await medicalIds()).toBe(before);
    // The Task carries the record and the candidate, as every review Task does.
    const task = await readTask(second?.task);
    expect(task.status).toBe('requested');
    expect(candidates(task)).toEqual([first?.patient]);
    expect(task.for?.reference).toBe(`Patient/${first?.patient ?? ''}`);
    expect(JSON.stringify(task.contained)).toContain('サトー');
    // The same record again finds the same Task; with the kanji 佐藤 優希 as well it is held too.
    const [again, withKanji] = await register([
      { insurer: OTHER_INSURER, number: '200', kana: ['サトー', 'ユーキ'], birthDate: '1990-05-05', gender: 'female' },
      {
        insurer: OTHER_INSURER,
        number: '201',
        kana: ['サトー', 'ユーキ'],
        kanji: ['佐藤', '優希'],
        birthDate: '1990-05-05',
        gender: 'female',
      },
    ]);
    expect(again).toMatchObject({ status: 'review', task: second?.task });
    expect(withKanji?.status).toBe('review');
    expect(candidates(await readTask(withKanji?.task))).toEqual([first?.patient]);
    // The reviewer binds it to her: one person, one medical ID, both numbers.
    const bound = await fhirFetch<Parameters>(`${s.base}/Task/${second?.task ?? ''}/$resolve`, {
      method: 'POST',
      json: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'person', valueReference: { reference: `Patient/${first?.patient ?? ''}` } },
          { name: 'apply', valueCode: 'identifiers' },
        ],
      },
    });
    expect(bound.status, bound.text).toBe(200);
    const p = await readPatient(first?.patient);
    expect(p.identifier?.filter((i) => i.system === ID_SYSTEMS.insuredMemberId).map((i) => i.value)).toEqual(
      expect.arrayContaining([`${INSURER}:1:100:00`, `${OTHER_INSURER}:1:200:00`]),
    );
    expect(p.identifier?.filter((i) => i.system === ID_SYSTEMS.medicalId)).toHaveLength(1);
  });

  it('creates family members, namesakes born on another day and persons My Numbers prove different as new persons', async () => {
    const parent: Spec = {
      number: '300',
      kana: ['イガラシ', 'ケンイチ'],
      kanji: ['五十嵐', '健一'],
      birthDate: '1962-03-14',
      gender: 'male',
      phone: '03-3333-4444',
      address: '東京都世田谷区桜新町1-2-3',
      myNumber: myNumber('31000000001'),
    };
    const [p] = await register([parent]);
    expect(p?.status).toBe('created');
    const out = await register([
      // A child in the same household (family name, phone and address agree; given name and birth date do not).
      { ...parent, number: '301', kana: ['イガラシ', 'ハルト'], kanji: ['五十嵐', '陽翔'], birthDate: '1994-08-01', myNumber: undefined },
      // A namesake born on another day, elsewhere.
      {
        number: '302',
        kana: ['イガラシ', 'ケンイチ'],
        kanji: ['五十嵐', '健一'],
        birthDate: '1971-11-23',
        gender: 'male',
        insurer: OTHER_INSURER,
      },
      // The same name, birth date and sex, but a My Number of its own: the numbers prove two persons.
      { ...parent, insurer: OTHER_INSURER, number: '303', phone: undefined, address: undefined, myNumber: myNumber('31000000002') },
    ]);
    expect(
      out.map((r) => r.status),
      JSON.stringify(out.map((r) => r.issues)),
    ).toEqual(['created', 'created', 'created']);
    expect(new Set([p, ...out].map((r) => r.medicalId)).size).toBe(4);
  });

  it('updates a person a number names only when the engine grades the record certain; no name in common is held', async () => {
    const [a] = await register([
      { number: '400', kana: ['タカナシ', 'ミユ'], kanji: ['小鳥遊', '美優'], birthDate: '1985-01-20', gender: 'female' },
    ]);
    // Her number with her name respelled: certain (the identifier agrees, the demographics do not contradict it) → updated.
    const [respelled] = await register([
      {
        number: '400',
        kana: ['タカナシ', 'ミユー'],
        kanji: ['小鳥遊', '美優'],
        birthDate: '1985-01-20',
        gender: 'female',
        phone: '090-1111-2222',
      },
    ]);
    expect(respelled).toMatchObject({ status: 'updated', patient: a?.patient, medicalId: a?.medicalId });
    // Her number on another woman's record (same birth date and sex, no name in common): held, she is left as she was.
    const before = await readPatient(a?.patient);
    const [other] = await register([
      { number: '400', kana: ['ドウメキ', 'アヤ'], kanji: ['百目鬼', '彩'], birthDate: '1985-01-20', gender: 'female' },
    ]);
    expect(other?.status, JSON.stringify(other?.issues)).toBe('review');
    expect(other?.issues?.issue[0]?.details?.text).toMatch(/does not grade certain/);
    expect(candidates(await readTask(other?.task))).toEqual([a?.patient]);
    const after = await readPatient(a?.patient);
    expect(after.meta?.versionId).toBe(before.meta?.versionId);
    expect(after.name).toEqual(before.name);
  });

  it('applies the same rule on the set-based path: a batch creates its new persons and holds the alike, within the batch too', async () => {
    const [known] = await register([
      { number: '500', kana: ['ハセガワ', 'ユウタ'], kanji: ['長谷川', '優太'], birthDate: '2001-02-03', gender: 'male' },
    ]);
    const fresh: Spec[] = Array.from({ length: 12 }, (_v, n) => ({
      number: String(600 + n),
      kana: [
        'シンバッチ',
        ['アキラ', 'イサム', 'ウタ', 'エミ', 'オサム', 'カオル', 'キヨシ', 'クミ', 'ケイタ', 'コウジ', 'サチ', 'シノブ'][n],
      ],
      birthDate: `${1950 + n * 3}-${String(1 + n).padStart(2, '0')}-${String(10 + n)}`,
      gender: n % 2 === 0 ? 'male' : 'female',
    }));
    const out = await register([
      ...fresh.slice(0, 6),
      // 長谷川 優太 again, from another insurer, typed ハセガワ ユータ with a kanji variant: held against him.
      {
        insurer: OTHER_INSURER,
        number: '700',
        kana: ['ハセガワ', 'ユータ'],
        kanji: ['長谷川', '優太'],
        birthDate: '2001-02-03',
        gender: 'male',
      },
      // One person twice in the batch, under two insurers: the second is held against the first.
      { number: '701', kana: ['ワタヌキ', 'ショウ'], kanji: ['四月一日', '翔'], birthDate: '1979-09-09', gender: 'male' },
      { insurer: OTHER_INSURER, number: '702', kana: ['ワタヌキ', 'ショー'], birthDate: '1979-09-09', gender: 'male' },
      ...fresh.slice(6),
    ]);
    const by = (n: string) => out.find((r) => r.record === `r${n}`);
    expect(out.filter((r) => r.status === 'created')).toHaveLength(13);
    expect(fresh.every((_f, n) => out[n < 6 ? n : n + 3]?.status === 'created')).toBe(true);
    expect(by('6')?.status).toBe('review');
    expect(candidates(await readTask(by('6')?.task))).toEqual([known?.patient]);
    expect(by('7')?.status).toBe('created');
    expect(by('8')?.status).toBe('review');
    expect(candidates(await readTask(by('8')?.task))).toEqual([by('7')?.patient]);
  });

  it('ends two spellings of one person registered at the same moment in one person, the other held', async () => {
    const spellings: [string, string][] = [
      ['コンドウ', 'ユウスケ'],
      ['コンドー', 'ユースケ'],
    ];
    const out = (
      await Promise.all(
        Array.from({ length: 8 }, (_v, n) =>
          register([
            {
              insurer: n % 2 === 0 ? INSURER : OTHER_INSURER,
              number: String(800 + n),
              kana: spellings[n % 2],
              birthDate: '1966-10-10',
              gender: 'male',
            },
          ]),
        ),
      )
    ).flat();
    expect(
      out.filter((r) => r.status === 'created'),
      JSON.stringify(out),
    ).toHaveLength(1);
    expect(out.filter((r) => r.status === 'review')).toHaveLength(7);
  });

  it('holds サトー ユーキ loaded by `medid import` (through the server) too, and reports it beside the file', async () => {
    const file = path.join(dir, 'insurer.csv');
    fs.writeFileSync(
      file,
      [
        'record,insurer_number,symbol,number,branch,family_kana,given_kana,family_kanji,given_kanji,birth_date,sex',
        `y1,${INSURER},1,900,00,サトウ,ユウキ,佐藤,優希,1993-12-24,female`,
        `y2,${INSURER},1,901,00,オオノ,タケシ,大野,武,1970-06-30,male`,
        `y3,${OTHER_INSURER},1,902,00,サトー,ユーキ,,,1993-12-24,female`,
      ].join('\n') + '\n',
    );
    const r = await medidAsync(['import', file, '--server', s.base, '--token', s.token, '--quiet'], { MEDID_DATA_DIR: dir });
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;
    expect(summary).toMatchObject({ created: 2, review: 1 });
    const report = fs
      .readFileSync(`${file}.errors.ndjson`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { record: string; status: string; task?: string });
    expect(report.map((x) => [x.record, x.status])).toEqual([['y3', 'review']]);
    expect(candidates(await readTask(report[0]?.task))).toHaveLength(1);
  });
});
