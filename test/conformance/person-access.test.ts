/**
 * A person signed in (issue 17 items 5–6), over HTTP on both databases: what the portal's API
 * calls show them — their own records, who accessed them and the proofs, their notices — and
 * that they never see another person's entries (a property over random sequences of the
 * portal's calls, aimed at other persons too). Their Consents bind the organizations at once;
 * their own opt-out never hides their records from themselves.
 *
 *   p1  hospital H confirmed and read p1; a notice to p1     p2  the same for p2
 */
import type { AuditEvent, Bundle, Communication, Parameters } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERSON_PURPOSE, PORTAL_CLIENT_ID } from '../../src/auth/person-sign-in.ts';
import { ID_SYSTEMS } from '../../src/core/systems.ts';
import { consent } from '../helpers/access.ts';
import { testDrivers } from '../helpers/db.ts';
import { eligibilityCard } from '../helpers/eligibility.ts';
import { fhirFetch } from '../helpers/fhir.ts';
import { insurerNumber, myNumber, postCoverage, registerBody, registrationPatient, results } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const INSURER = insurerNumber('0613809');
const HOSPITAL = '1311111111';
const TODAY = '2026-04-10';
const PERSONS = ['p1', 'p2'] as const;
type Person = (typeof PERSONS)[number];

/** Every Patient a resource names (the compartment as the portal would see it). */
function patientsNamed(r: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (k === 'reference' && typeof x === 'string' && x.startsWith('Patient/')) out.add(x.slice(8).split('/')[0] ?? '');
        else walk(x);
      }
  };
  walk(r);
  return out;
}

describe.each(testDrivers())('a person signed in, on %s', (driver) => {
  let s: TestServer;
  const pid = {} as Record<Person, string>;
  const token = {} as Record<Person, string>;
  const events = {} as Record<Person, string>;
  const notice = {} as Record<Person, string>;
  let hospital: string;
  const as = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
  const admin = () => as(s.token);

  beforeAll(async () => {
    s = await startTestServer(driver, { deps: { clock: { now: () => new Date(`${TODAY}T03:00:00Z`) } } });
    const reg = await fhirFetch<Parameters>(`${s.base}/Patient/$register`, {
      method: 'POST',
      ...admin(),
      json: registerBody(
        PERSONS.map((p, i) => ({
          record: p,
          patient: registrationPatient({
            insurer: INSURER,
            number: `20${i}`,
            kana: ['ミタ', i === 0 ? 'イチ' : 'ニ'],
            kanji: ['見田', i === 0 ? '一' : '二'],
            birthDate: '1981-01-01',
            myNumber: myNumber(`1234567890${i}`),
            period: { start: '2020-04-01' },
          }),
        })),
      ),
    });
    for (const r of results(reg.body)) pid[r.record as Person] = r.patient as string;
    hospital = await s.tokenFor('system/*.cruds', 'client-hospital', { kind: 'medical-institution', code: HOSPITAL });
    for (const [i, p] of PERSONS.entries()) {
      await postCoverage(s.base, INSURER, `20${i}`, pid[p], { authorization: `Bearer ${s.token}` });
      const ok = await fhirFetch(`${s.base}/CoverageEligibilityRequest/$submit`, {
        method: 'POST',
        json: eligibilityCard(INSURER, `20${i}`, TODAY),
        ...as(hospital),
      });
      expect(JSON.stringify(ok.body), `confirmation of ${p}`).toMatch(/"code":"1"/);
      expect((await fhirFetch(`${s.base}/Patient/${pid[p]}`, as(hospital))).status).toBe(200);
      const c = await fhirFetch<Communication>(`${s.base}/Communication`, {
        method: 'POST',
        ...admin(),
        json: {
          resourceType: 'Communication',
          status: 'completed',
          subject: { reference: `Patient/${pid[p]}` },
          recipient: [{ reference: `Patient/${pid[p]}` }],
          payload: [{ contentString: `notice for ${p}` }],
        },
      });
      notice[p] = c.body.id as string;
      token[p] = (
        await s.app.tokens.issue(
          PORTAL_CLIENT_ID,
          'medid portal',
          undefined,
          'launch/patient patient/*.rs patient/Consent.cud',
          900,
          PERSON_PURPOSE,
          pid[p],
        )
      ).accessToken;
    }
    await s.app.auditLog.settle();
    for (const p of PERSONS) {
      const b = await fhirFetch<Bundle<AuditEvent>>(`${s.base}/AuditEvent?patient=${pid[p]}&subtype=read`, admin());
      const read = b.body.entry?.find((e) => e.resource?.agent.some((a) => a.who?.identifier?.value === HOSPITAL));
      events[p] = read?.resource?.id as string;
      expect(events[p], `the hospital's read of ${p} is audited`).toBeDefined();
    }
  });
  afterAll(async () => {
    await s?.close();
  });

  it('sees who accessed their records: the hospital, its purpose and time, without addresses, token ids or query text', async () => {
    const b = await fhirFetch<Bundle<AuditEvent>>(`${s.base}/AuditEvent?patient=${pid.p1}&_count=100`, as(token.p1));
    expect(b.status).toBe(200);
    const mine = b.body.entry?.map((e) => e.resource as AuditEvent) ?? [];
    const read = mine.find((e) => e.id === events.p1);
    expect(read?.agent.find((a) => a.requestor)?.who?.identifier?.value).toBe(HOSPITAL);
    expect(read?.agent.find((a) => a.requestor)?.purposeOfUse?.[0]?.coding?.[0]?.code).toBe('TREAT');
    expect(read?.recorded).toMatch(/^2026-04-10T/);
    for (const e of mine) {
      expect(patientsNamed(e)).toEqual(new Set([pid.p1]));
      for (const a of e.agent) expect(a.network === undefined && a.policy === undefined).toBe(true);
      for (const x of e.entity ?? []) expect(x.query).toBeUndefined();
    }
    // Asking about someone else gives nothing, and reads of their events answer as unknown.
    const other = await fhirFetch<Bundle>(`${s.base}/AuditEvent?patient=${pid.p2}`, as(token.p1));
    expect(other.body.total).toBe(0);
    expect((await fhirFetch(`${s.base}/AuditEvent/${events.p2}`, as(token.p1))).status).toBe(404);
    expect((await fhirFetch(`${s.base}/AuditEvent/${events.p1}`, as(token.p1))).status).toBe(200);
  });

  it('gets the proof of its own entries only, and its own reads are in its history as its own (purpose PATRQT)', async () => {
    await s.app.auditLog.settle();
    await s.app.treeHeads?.signNow();
    const own = await fhirFetch<{ index: number; entry: string }>(`${s.base}/_log/proof/inclusion?event=${events.p1}`, as(token.p1));
    expect(own.status).toBe(200);
    expect(JSON.parse(own.body.entry) as unknown).toBeTruthy();
    expect((await fhirFetch(`${s.base}/_log/proof/inclusion?event=${events.p2}`, as(token.p1))).status).toBe(404);
    const b = await fhirFetch<Bundle<AuditEvent>>(`${s.base}/AuditEvent?patient=${pid.p1}&_count=100`, as(token.p1));
    const self = b.body.entry
      ?.map((e) => e.resource as AuditEvent)
      .filter((e) => e.agent.some((a) => a.who?.reference === `Patient/${pid.p1}`));
    expect(self?.length).toBeGreaterThan(0);
    expect(self?.[0]?.purposeOfEvent?.[0]?.coding?.[0]?.code).toBe(PERSON_PURPOSE);
  });

  it('reads its own records and notices, nobody else’s, and writes nothing but its Consents', async () => {
    expect((await fhirFetch(`${s.base}/Patient/${pid.p1}`, as(token.p1))).status).toBe(200);
    expect((await fhirFetch(`${s.base}/Patient/${pid.p2}`, as(token.p1))).status).toBe(404);
    const n = await fhirFetch<Bundle>(`${s.base}/Communication?recipient=Patient/${pid.p1}`, as(token.p1));
    expect(n.body.entry?.map((e) => e.resource?.id)).toEqual([notice.p1]);
    expect((await fhirFetch(`${s.base}/Communication/${notice.p2}`, as(token.p1))).status).toBe(404);
    const cov = await fhirFetch<Bundle>(`${s.base}/Coverage?beneficiary=Patient/${pid.p1}`, as(token.p1));
    expect(cov.status).toBe(200);
    const eoc = await fhirFetch<Bundle>(`${s.base}/EpisodeOfCare?patient=${pid.p1}`, as(token.p1));
    expect(eoc.status).toBe(200);
    expect(JSON.stringify(eoc.body)).toContain(HOSPITAL);
    // Writes beyond Consent: the scope has none, and a wider scope meets the policy.
    const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${pid.p1}` } };
    expect((await fhirFetch(`${s.base}/Observation`, { method: 'POST', json: obs, ...as(token.p1) })).status).toBe(403);
    const wide = (await s.app.tokens.issue(PORTAL_CLIENT_ID, 'p', undefined, 'patient/*.cruds', 900, PERSON_PURPOSE, pid.p1)).accessToken;
    const refused = await fhirFetch(`${s.base}/Observation`, { method: 'POST', json: obs, ...as(wide) });
    expect(refused.status).toBe(403);
    expect(refused.text).toMatch(/rule person\.Observation\.write = none/);
    // A Consent about another person is outside reach.
    const forP2 = await fhirFetch(`${s.base}/Consent`, {
      method: 'POST',
      json: consent(pid.p2, 'deny', { kind: 'medical-institution', code: HOSPITAL }),
      ...as(token.p1),
    });
    expect(forP2.status).toBe(403);
  });

  it("a deny for the hospital refuses the hospital's next read; withdrawing it restores it; an opt-out never hides the person from themselves", async () => {
    const deny = await fhirFetch(`${s.base}/Consent`, {
      method: 'POST',
      json: consent(pid.p1, 'deny', { kind: 'medical-institution', code: HOSPITAL }),
      ...as(token.p1),
    });
    expect(deny.status).toBe(201);
    expect((await fhirFetch(`${s.base}/Patient/${pid.p1}`, as(hospital))).status).toBe(404);
    expect((await fhirFetch(`${s.base}/Patient/${pid.p2}`, as(hospital))).status).toBe(200);
    const withdrawn = await fhirFetch(`${s.base}/Consent/${deny.body.id}`, {
      method: 'PUT',
      json: { ...consent(pid.p1, 'deny', { kind: 'medical-institution', code: HOSPITAL }), id: deny.body.id, status: 'inactive' },
      ...as(token.p1),
    });
    expect(withdrawn.status).toBe(200);
    expect((await fhirFetch(`${s.base}/Patient/${pid.p1}`, as(hospital))).status).toBe(200);
    const optOut = await fhirFetch(`${s.base}/Consent`, { method: 'POST', json: consent(pid.p1, 'deny'), ...as(token.p1) });
    expect(optOut.status).toBe(201);
    expect((await fhirFetch(`${s.base}/Patient/${pid.p1}`, as(hospital))).status).toBe(404);
    expect((await fhirFetch(`${s.base}/Patient/${pid.p1}`, as(token.p1))).status).toBe(200);
    const mine = await fhirFetch<Bundle>(`${s.base}/Consent?patient=${pid.p1}`, as(token.p1));
    expect(mine.body.entry?.length).toBe(2);
    await fhirFetch(`${s.base}/Consent/${optOut.body.id}`, {
      method: 'PUT',
      json: { ...consent(pid.p1, 'deny'), id: optOut.body.id, status: 'inactive' },
      ...as(token.p1),
    });
  });

  it('never sees another person’s entries, whatever the portal asks (property over random call sequences)', async () => {
    const target = fc.constantFrom<Person>('p1', 'p2');
    const call = fc.oneof(
      target.map((p) => `AuditEvent?patient=${pid[p]}&_count=50`),
      target.map((p) => `AuditEvent?entity=Patient/${pid[p]}`),
      fc.constant('AuditEvent?_count=200'),
      target.map((p) => `AuditEvent/${events[p]}`),
      target.map((p) => `_log/proof/inclusion?event=${events[p]}`),
      target.map((p) => `Patient/${pid[p]}`),
      fc.constant('Patient?_count=100'),
      target.map(
        (p) => `Patient?identifier=${encodeURIComponent(`${ID_SYSTEMS.insuredMemberId}|${INSURER}:1:20${p === 'p1' ? 0 : 1}:00`)}`,
      ),
      target.map((p) => `Coverage?beneficiary=Patient/${pid[p]}`),
      target.map((p) => `EpisodeOfCare?patient=${pid[p]}`),
      target.map((p) => `Consent?patient=${pid[p]}`),
      target.map((p) => `Communication?recipient=Patient/${pid[p]}`),
      target.map((p) => `Communication/${notice[p]}`),
      fc.constant('Communication?_count=100'),
      target.map((p) => `Patient/${pid[p]}/$everything`),
      target.map((p) => `Observation?subject=Patient/${pid[p]}&_revinclude=Provenance:target`),
      fc.constant('_history?_count=100'),
    );
    const signedIn = fc.constantFrom<Person>('p1', 'p2');
    await fc.assert(
      fc.asyncProperty(signedIn, fc.array(call, { minLength: 1, maxLength: 6 }), async (me, calls) => {
        const other = me === 'p1' ? pid.p2 : pid.p1;
        for (const c of calls) {
          const res = await fhirFetch(`${s.base}/${c}`, as(token[me]));
          expect(res.status, c).toBeLessThan(500);
          // The other's id may come back only where the caller's own request is echoed (a 404's text, a self link).
          if (!c.includes(other)) expect(res.text, `${me}: ${c}`).not.toContain(other);
          if (res.status === 200)
            expect(
              [...patientsNamed(res.body)].every((x) => x === pid[me]),
              `${me}: ${c}`,
            ).toBe(true);
        }
      }),
      { numRuns: 40 },
    );
  });
});
