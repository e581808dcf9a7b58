/**
 * The registry, complete (issue 18 items 2, 4 and 6), over HTTP on both databases:
 * - a newborn not yet named is registered under a provisional name and completed later under
 *   the same medical ID; the provisional name is weak evidence for the rule and for $match;
 * - a registration held for review is resolved once by Task/[id]/$resolve — to a registered
 *   person or a new one, with the held My Number MAC — by the authority or the insurer whose
 *   record it is; audited in the person's history;
 * - facts a number contradicts (birth date, sex) go to review instead of overwriting the
 *   person, and impossible birth dates are refused naming the rule.
 */
import type { Bundle, OperationOutcome, Parameters, Patient, Task } from '@medplum/fhirtypes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ID_SYSTEMS, NAME_REPRESENTATION } from '../../src/core/systems.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { insurerNumber, myNumber, registerBody, registrationPatient, results } from '../helpers/registry.ts';
import type { ParsedResult, PersonSpec } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const INSURER = insurerNumber('0613809');
const OTHER_INSURER = insurerNumber('0127001');
/** 2026-04-10 09:00 JST. */
const NOW = new Date('2026-04-10T00:00:00Z');
let clock = NOW;

/** A newborn as an insurer registers it before it is named: the parent's family name, `use: temp`, no given name. */
function newborn(o: {
  number: string;
  branch?: string;
  insurer?: string;
  kana?: string;
  kanji?: string;
  born?: string;
  gender?: Patient['gender'];
  order?: number;
  myNumber?: string;
}): Patient {
  return {
    resourceType: 'Patient',
    identifier: [
      { system: ID_SYSTEMS.insuredMemberId, value: `${o.insurer ?? INSURER}:1:${o.number}:${o.branch ?? '02'}` },
      ...(o.myNumber ? [{ system: ID_SYSTEMS.myNumber, value: o.myNumber }] : []),
    ],
    name: [
      ...(o.kanji !== undefined
        ? [{ use: 'temp' as const, extension: [{ url: NAME_REPRESENTATION, valueCode: 'IDE' }], family: o.kanji }]
        : []),
      { use: 'temp', extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], family: o.kana ?? 'ヤマダ' },
    ],
    gender: o.gender ?? 'female',
    birthDate: o.born ?? '2026-04-08',
    ...(o.order !== undefined ? { multipleBirthInteger: o.order } : {}),
  };
}

/** A $resolve answer: Parameters, or an OperationOutcome's issues. */
type Answer = Parameters & Pick<OperationOutcome, 'issue'>;

describe.each(testDrivers())('the registry, complete, on %s', (driver) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(driver, { deps: { clock: { now: () => clock } } });
    useToken(s.token);
  });
  afterAll(async () => {
    await s.close();
  });
  afterEach(() => {
    clock = NOW;
  });

  const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  const registerPatients = async (patients: Patient[], token?: string): Promise<ParsedResult[]> => {
    const res = await fhirFetch<Parameters>(`${s.base}/Patient/$register`, {
      method: 'POST',
      json: registerBody(patients.map((patient, i) => ({ record: `r${i}`, patient }))),
      ...(token ? auth(token) : {}),
    });
    expect(res.status, res.text).toBe(200);
    return results(res.body);
  };
  const register = (people: PersonSpec[], token?: string) => registerPatients(people.map(registrationPatient), token);
  const patient = async (id: string | undefined) => (await fhirFetch<Patient>(`${s.base}/Patient/${id ?? ''}`)).body;
  const task = async (id: string | undefined) => (await fhirFetch<Task>(`${s.base}/Task/${id ?? ''}`)).body;
  const resolve = (taskId: string | undefined, parameter: Parameters['parameter'], token?: string) =>
    fhirFetch<Answer>(`${s.base}/Task/${taskId ?? ''}/$resolve`, {
      method: 'POST',
      json: { resourceType: 'Parameters', parameter },
      ...(token ? auth(token) : {}),
    });
  const ruleOf = (r: ParsedResult | undefined) => r?.issues?.issue[0]?.details?.coding?.map((c) => c.code);
  const outcomeRules = (o: Answer) => o.issue?.[0]?.details?.coding?.map((c) => c.code) ?? [];
  const part = (p: Parameters, name: string) => p.parameter?.find((x) => x.name === name);
  const insurerToken = (code: string) => s.tokenFor('system/Patient.cru system/Task.r', `insurer-${code}`, { kind: 'insurer', code });

  describe('a newborn not yet named (item 2)', () => {
    it('is registered under a provisional name and receives a medical ID from birth', async () => {
      const [r] = await registerPatients([newborn({ number: '100', kanji: '山田' })]);
      expect(r, JSON.stringify(r?.issues)).toMatchObject({ status: 'created' });
      expect(r?.medicalId).toMatch(/^1\d{13}$/);
      const p = await patient(r?.patient);
      expect(p.name).toEqual([
        { extension: [{ url: NAME_REPRESENTATION, valueCode: 'IDE' }], use: 'temp', text: '山田の子', family: '山田' },
        { extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], use: 'temp', text: 'ヤマダノコ', family: 'ヤマダ' },
      ]);
      expect(p.birthDate).toBe('2026-04-08');
    });

    it('still refuses a record with no name at all, and a provisional name with a given name or for an adult, naming the rule', async () => {
      const nameless: Patient = { ...newborn({ number: '101' }), name: [] };
      const withGiven = newborn({ number: '102' });
      withGiven.name = [{ ...withGiven.name?.[0], given: ['ハナコ'] }];
      const adult = newborn({ number: '103', born: '1990-01-01' });
      const out = await registerPatients([nameless, withGiven, adult]);
      expect(out.map((r) => r.status)).toEqual(['error', 'error', 'error']);
      expect(ruleOf(out[0])).toContain('record.kana-required');
      expect(out[0]?.issues?.issue[0]?.details?.text).toMatch(/provisional name/);
      expect(ruleOf(out[1])).toContain('record.provisional-given');
      expect(out[1]?.issues?.issue[0]?.expression).toEqual(['Patient.name[0].given[0]']);
      expect(ruleOf(out[2])).toContain('record.provisional-age');
    });

    it('is completed later with the real name under the same medical ID; the provisional name is not kept as a former one', async () => {
      const [born] = await registerPatients([
        newborn({ number: '110', kana: 'サトウ', kanji: '佐藤', gender: 'male', born: '2026-04-01' }),
      ]);
      const [named] = await register([
        {
          insurer: INSURER,
          number: '110',
          branch: '02',
          kana: ['サトウ', 'ハルト'],
          kanji: ['佐藤', '陽翔'],
          gender: 'male',
          birthDate: '2026-04-01',
        },
      ]);
      expect(named).toMatchObject({ status: 'updated', patient: born?.patient, medicalId: born?.medicalId });
      const p = await patient(born?.patient);
      expect(p.name?.map((n) => [n.use, n.family, n.given?.[0]])).toEqual([
        ['official', '佐藤', '陽翔'],
        ['official', 'サトウ', 'ハルト'],
      ]);
      expect(p.identifier?.filter((i) => i.system === ID_SYSTEMS.medicalId).map((i) => i.value)).toEqual([born?.medicalId]);
      // The demographic key followed the real name: a namesake from another insurer is held against it.
      const [namesake] = await register([
        { insurer: OTHER_INSURER, number: '9110', kana: ['サトウ', 'ハルト'], gender: 'male', birthDate: '2026-04-01' },
      ]);
      expect(namesake?.status).toBe('review');
      // The insurer's old file (from before the naming) sent again does not bring the provisional name back.
      const [again] = await registerPatients([
        newborn({ number: '110', kana: 'サトウ', kanji: '佐藤', gender: 'male', born: '2026-04-01' }),
      ]);
      expect(again).toMatchObject({ status: 'unchanged', patient: born?.patient });
      expect((await patient(born?.patient)).name?.[0]?.given).toEqual(['陽翔']);
    });

    it('tells twins apart by birth order, and holds two provisional newborns without one', async () => {
      const twins = await registerPatients([
        newborn({ number: '120', branch: '02', kana: 'タナカ', order: 1 }),
        newborn({ number: '120', branch: '03', kana: 'タナカ', order: 2 }),
      ]);
      expect(twins.map((r) => r.status)).toEqual(['created', 'created']);
      expect(new Set(twins.map((r) => r.medicalId)).size).toBe(2);
      expect((await patient(twins[1]?.patient)).multipleBirthInteger).toBe(2);
      expect((await patient(twins[1]?.patient)).name?.[0]?.text).toBe('タナカノコ（2）');
      // The same newborn registered by the other parent's insurer: held, not a second person.
      const [other] = await registerPatients([newborn({ insurer: OTHER_INSURER, number: '7120', kana: 'タナカ', order: 1 })]);
      expect(other?.status).toBe('review');
      expect(other?.issues?.issue[0]?.details?.text).toMatch(/provisional name/);
    });

    it('holds a named record of the same family, birth date and sex as a provisional newborn (weak evidence, not a new person)', async () => {
      await registerPatients([newborn({ number: '130', kana: 'イノウエ', born: '2026-04-02' })]);
      const [named] = await register([
        { insurer: OTHER_INSURER, number: '7130', kana: ['イノウエ', 'サクラ'], gender: 'female', birthDate: '2026-04-02' },
      ]);
      expect(named?.status).toBe('review');
      expect(named?.issues?.issue[0]?.details?.text).toMatch(/Same family name in kana, birth date and sex .* provisional name/);
    });

    it('is weak evidence to $match: a provisional name and the birth date alone are never probable', async () => {
      const [r] = await registerPatients([
        newborn({ number: '140', kana: 'ハセガワ', kanji: '長谷川', born: '2026-04-03', gender: 'male' }),
      ]);
      const res = await fhirFetch<Bundle>(`${s.base}/Patient/$match`, {
        method: 'POST',
        json: {
          resourceType: 'Parameters',
          parameter: [
            {
              name: 'resource',
              resource: {
                resourceType: 'Patient',
                name: [{ extension: [{ url: NAME_REPRESENTATION, valueCode: 'SYL' }], family: 'ハセガワ', given: ['ソウタ'] }],
                gender: 'male',
                birthDate: '2026-04-03',
              },
            },
          ],
        },
      });
      expect(res.status, res.text).toBe(200);
      const entry = res.body.entry?.find((e) => e.resource?.id === r?.patient);
      expect(entry).toBeDefined();
      const grade = entry?.search?.extension?.find((e) => e.url.endsWith('match-grade'))?.valueCode;
      expect(grade).toBe('possible');
      const explanation = JSON.stringify(entry?.extension);
      expect(explanation).toContain('provisional');
      // With its number the newborn is certain, provisional name or not.
      const byNumber = await fhirFetch<Bundle>(`${s.base}/Patient/$match`, {
        method: 'POST',
        json: {
          resourceType: 'Parameters',
          parameter: [
            {
              name: 'resource',
              resource: {
                resourceType: 'Patient',
                identifier: [{ system: ID_SYSTEMS.insuredMemberId, value: `${INSURER}:1:140:02` }],
                birthDate: '2026-04-03',
              },
            },
          ],
        },
      });
      expect(byNumber.body.entry?.[0]?.search?.extension?.find((e) => e.url.endsWith('match-grade'))?.valueCode).toBe('certain');
    });
  });

  describe('conflicting facts go to review, never silently win (item 6)', () => {
    it('holds a record whose My Number names a person with another birth date or sex, and leaves the person as it was', async () => {
      const mn = myNumber('31000000001');
      const [first] = await register([
        { insurer: INSURER, number: '600', myNumber: mn, kana: ['オカダ', 'ミホ'], gender: 'female', birthDate: '1984-02-02' },
      ]);
      const [otherDay] = await register([
        { insurer: INSURER, number: '600', myNumber: mn, kana: ['オカダ', 'ミホ'], gender: 'female', birthDate: '1984-02-20' },
      ]);
      expect(otherDay?.status).toBe('review');
      expect(otherDay?.issues?.issue[0]?.details?.text).toBe('The My Number names a person with a different birth date');
      const [otherSex] = await register([
        { insurer: OTHER_INSURER, number: '601', myNumber: mn, kana: ['オカダ', 'ミホ'], gender: 'male', birthDate: '1984-02-02' },
      ]);
      expect(otherSex?.issues?.issue[0]?.details?.text).toBe('The My Number names a person with a different sex');
      const p = await patient(first?.patient);
      expect([p.birthDate, p.gender, p.meta?.versionId]).toEqual(['1984-02-02', 'female', '1']);
      // The held Task carries the record, never the My Number.
      const t = await task(otherDay?.task);
      expect(t.contained?.[0]).toMatchObject({ birthDate: '1984-02-20' });
      expect(JSON.stringify(t)).not.toContain(mn);
      // A sex of `unknown` contradicts nothing, and does not erase the known one.
      const [unknownSex] = await register([
        {
          insurer: INSURER,
          number: '600',
          myNumber: mn,
          kana: ['オカダ', 'ミホ'],
          gender: 'unknown',
          birthDate: '1984-02-02',
          phone: '03-5555-0000',
        },
      ]);
      expect(unknownSex?.status).toBe('updated');
      expect((await patient(first?.patient)).gender).toBe('female');
    });

    it('refuses a birth date in the future or before 1900, naming the rule (Japan’s day, and era dates too)', async () => {
      clock = new Date('2026-04-09T16:00:00Z'); // 2026-04-10 01:00 in Japan
      const out = await register([
        { insurer: INSURER, number: '610', kana: ['キタ', 'ジュン'], birthDate: '2026-04-11' },
        { insurer: INSURER, number: '611', kana: ['キタ', 'リン'], birthDate: '1899-12-31' },
        { insurer: INSURER, number: '612', kana: ['キタ', 'ケン'], birthDate: '明治30年1月1日' },
        { insurer: INSURER, number: '613', kana: ['キタ', 'アイ'], birthDate: '2026-04-10', gender: 'female' },
      ]);
      expect(out.map((r) => r.status)).toEqual(['error', 'error', 'error', 'created']);
      expect(ruleOf(out[0])).toContain('record.birth-date-future');
      expect(out[0]?.issues?.issue[0]?.expression).toEqual(['Patient.birthDate']);
      expect(ruleOf(out[1])).toContain('record.birth-date-too-early');
      expect(ruleOf(out[2])).toContain('record.birth-date-too-early');
      expect(JSON.stringify(out[0]?.issues)).not.toContain('2026-04-11');
    });
  });

  describe('Task/[id]/$resolve (item 4)', () => {
    /** A namesake of a registered person, from another insurer and with a My Number: held. */
    const heldNamesake = async (n: number, token?: string) => {
      // Each call's pair unlike the others' to the match engine: another given name and birth year.
      const given = ['ユウ', 'ケンジ', 'サトル', 'ノボル'][n - 1] ?? 'ユウ';
      const born = n === 1 ? '1977-07-07' : `${1940 + 11 * n}-07-07`;
      const base = { kana: ['ムラカミ', given] as [string, string], birthDate: born, gender: 'male' as const };
      const [a] = await register([{ ...base, insurer: INSURER, number: `80${n}` }]);
      const mn = myNumber(`4100000000${n}`);
      const [held] = await register([{ ...base, insurer: OTHER_INSURER, number: `90${n}`, myNumber: mn }], token);
      expect(held?.status).toBe('review');
      return { a, held, mn };
    };

    it('registers the held record as a new person with the held My Number, completes the Task, audits it, and refuses a second resolution', async () => {
      const { a, held, mn } = await heldNamesake(1);
      const res = await resolve(held?.task, [{ name: 'new-person', valueBoolean: true }]);
      expect(res.status, res.text).toBe(200);
      expect(part(res.body, 'status')?.valueCode).toBe('created');
      const pid = part(res.body, 'patient')?.valueReference?.reference?.replace('Patient/', '');
      const mid = part(res.body, 'medicalId')?.valueIdentifier?.value;
      expect(pid).not.toBe(a?.patient);
      expect(mid).toMatch(/^1\d{13}$/);
      // The held MAC is bound to the new person, and the review forgot it.
      const byMn = await fhirFetch<Bundle>(`${s.base}/Patient?identifier=${encodeURIComponent(`${ID_SYSTEMS.myNumber}|${mn}`)}`);
      expect(byMn.body.entry?.map((e) => e.resource?.id)).toEqual([pid]);
      const row = await s.testDb.db.query<{ mn_mac: Buffer | null; resolution: string; resolved_patient: string }>(
        'SELECT mn_mac, resolution, resolved_patient FROM registry.review WHERE task_id = $1',
        [held?.task],
      );
      expect(row.rows[0]).toEqual({ mn_mac: null, resolution: 'new-person', resolved_patient: pid });
      const t = await task(held?.task);
      expect(t.status).toBe('completed');
      expect(t.output).toEqual([
        { type: { text: 'person' }, valueReference: { reference: `Patient/${pid ?? ''}` } },
        { type: { text: 'resolution' }, valueCode: 'new-person' },
      ]);
      // The person's history shows the resolution (and the Patient it wrote), never the number.
      const history = await fhirFetch<Bundle>(`${s.base}/AuditEvent?patient=Patient/${pid ?? ''}&_count=100`);
      const text = JSON.stringify(history.body);
      expect(text).toContain('$resolve');
      expect(text).not.toContain(mn);
      expect(text).not.toContain(`${OTHER_INSURER}:1:901`);
      // Once.
      const again = await resolve(held?.task, [{ name: 'new-person', valueBoolean: true }]);
      expect(again.status).toBe(409);
      expect(outcomeRules(again.body)).toContain('review.resolved');
      // The same record re-submitted: the decision stands.
      const [resent] = await register([
        { kana: ['ムラカミ', 'ユウ'], birthDate: '1977-07-07', gender: 'male', insurer: OTHER_INSURER, number: '901', myNumber: mn },
      ]);
      expect(resent).toMatchObject({ status: 'unchanged', patient: pid, medicalId: mid });
    });

    it('binds a held record to a registered person: its facts (apply=record) or only its numbers (apply=identifiers)', async () => {
      // A number that names a person with another birth date: held (item 6), then decided.
      const [p1] = await register([
        { insurer: INSURER, number: '810', kana: ['ノムラ', 'ケイ'], gender: 'female', birthDate: '1966-06-06' },
      ]);
      const [typo] = await register([
        {
          insurer: INSURER,
          number: '810',
          kana: ['ノムラ', 'ケイ'],
          gender: 'female',
          birthDate: '1966-09-06',
          myNumber: myNumber('42000000001'),
        },
      ]);
      expect(typo?.status).toBe('review');
      const kept = await resolve(typo?.task, [
        { name: 'person', valueReference: { reference: `Patient/${p1?.patient ?? ''}` } },
        { name: 'apply', valueCode: 'identifiers' },
      ]);
      expect(kept.status, kept.text).toBe(200);
      expect(part(kept.body, 'medicalId')?.valueIdentifier?.value).toBe(p1?.medicalId);
      expect((await patient(p1?.patient)).birthDate).toBe('1966-06-06');
      const mn = await fhirFetch<Bundle>(
        `${s.base}/Patient?identifier=${encodeURIComponent(`${ID_SYSTEMS.myNumber}|${myNumber('42000000001')}`)}`,
      );
      expect(mn.body.entry?.map((e) => e.resource?.id)).toEqual([p1?.patient]);

      const [p2] = await register([{ insurer: INSURER, number: '811', kana: ['ノムラ', 'ジン'], gender: 'male', birthDate: '1967-01-01' }]);
      const [fix] = await register([
        { insurer: INSURER, number: '811', kana: ['ノムラ', 'ジン'], gender: 'male', birthDate: '1967-01-10' },
      ]);
      const applied = await resolve(fix?.task, [{ name: 'person', valueReference: { reference: `Patient/${p2?.patient ?? ''}` } }]);
      expect(applied.status, applied.text).toBe(200);
      expect(part(applied.body, 'status')?.valueCode).toBe('updated');
      expect((await patient(p2?.patient)).birthDate).toBe('1967-01-10');
    });

    it('lets the insurer whose record it is resolve it; another insurer sees no such Task; a namesake it does not insure is the authority’s', async () => {
      const own = await insurerToken(OTHER_INSURER);
      const { a, held } = await heldNamesake(2, own);
      const stranger = await resolve(held?.task, [{ name: 'new-person', valueBoolean: true }], await insurerToken(INSURER));
      expect(stranger.status).toBe(404);
      expect(outcomeRules(stranger.body)).toContain('review.not-held');
      const bind = await resolve(held?.task, [{ name: 'person', valueReference: { reference: `Patient/${a?.patient ?? ''}` } }], own);
      expect(bind.status).toBe(403);
      expect(outcomeRules(bind.body)).toContain('review.insurer-own-member');
      expect(bind.body.issue?.[0]?.expression).toEqual(['person']);
      const made = await resolve(held?.task, [{ name: 'new-person', valueBoolean: true }], own);
      expect(made.status, made.text).toBe(200);
      // A client of another kind may not call it at all.
      const hospital = await s.tokenFor('system/Patient.cru', 'hospital', { kind: 'medical-institution', code: '1311111111' });
      expect((await resolve(held?.task, [{ name: 'new-person', valueBoolean: true }], hospital)).status).toBe(403);
    });

    it('refuses what is not a decision, naming the parameter and the rule (never a 500)', async () => {
      const { held } = await heldNamesake(3);
      const neither = await resolve(held?.task, []);
      expect(neither.status).toBe(400);
      expect(neither.body.issue?.[0]?.expression).toEqual(['person']);
      const both = await resolve(held?.task, [
        { name: 'new-person', valueBoolean: true },
        { name: 'person', valueReference: { reference: 'Patient/x' } },
      ]);
      expect(both.status).toBe(400);
      expect(
        (
          await resolve(held?.task, [
            { name: 'new-person', valueBoolean: true },
            { name: 'apply', valueCode: 'record' },
          ])
        ).status,
      ).toBe(400);
      expect(
        (
          await resolve(held?.task, [
            { name: 'person', valueReference: { reference: 'Patient/x' } },
            { name: 'apply', valueCode: 'all' },
          ])
        ).status,
      ).toBe(400);
      const unknown = await resolve(held?.task, [{ name: 'person', valueReference: { reference: 'Patient/no-such-person' } }]);
      expect(unknown.status).toBe(422);
      expect(outcomeRules(unknown.body)).toContain('review.person-unknown');
      const notReview = await resolve('no-such-task', [{ name: 'new-person', valueBoolean: true }]);
      expect(notReview.status).toBe(404);
      // Still open after all that.
      expect((await task(held?.task)).status).toBe('requested');
    });

    it('refuses to bind a held My Number to a person registered with another one, or to make a new person of a taken number', async () => {
      const base = { kana: ['フジタ', 'ナオ'] as [string, string], birthDate: '1955-05-05', gender: 'female' as const };
      const [a] = await register([{ ...base, insurer: INSURER, number: '830', myNumber: myNumber('43000000001') }]);
      const [held] = await register([{ ...base, insurer: INSURER, number: '830', myNumber: myNumber('43000000002') }]);
      expect(held?.issues?.issue[0]?.details?.text).toBe('The insured number names a person registered with a different My Number');
      const bind = await resolve(held?.task, [{ name: 'person', valueReference: { reference: `Patient/${a?.patient ?? ''}` } }]);
      expect(bind.status).toBe(409);
      expect(outcomeRules(bind.body)).toContain('review.my-number-differs');
      const fresh = await resolve(held?.task, [{ name: 'new-person', valueBoolean: true }]);
      expect(fresh.status).toBe(409);
      expect(outcomeRules(fresh.body)).toContain('review.identifier-taken');
      expect(fresh.body.issue?.[0]?.expression).toEqual(['new-person']);
      const said = JSON.stringify([bind.body, fresh.body]);
      for (const secret of [myNumber('43000000001'), myNumber('43000000002'), `${INSURER}:1:830`]) expect(said).not.toContain(secret);
      expect((await task(held?.task)).status).toBe('requested');
    });

    it('ends two resolutions of one Task at once in one decision', async () => {
      const { held } = await heldNamesake(4);
      const both = await Promise.all([
        resolve(held?.task, [{ name: 'new-person', valueBoolean: true }]),
        resolve(held?.task, [{ name: 'new-person', valueBoolean: true }]),
      ]);
      expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
      const persons = await s.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM registry.person_identifier WHERE value = $1`, [
        `${OTHER_INSURER}:1:904:00`,
      ]);
      expect(persons.rows[0]?.n).toBe(1);
    });
  });
});
