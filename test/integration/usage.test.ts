/**
 * Usage metering (issue 19 item 1, R26) over real HTTP, on every database driver: a known mix of
 * eligibility confirmations, $match calls, reads and searches, an insurer's export downloaded
 * twice, and pseudonym conversions by several organizations — at the edges of a month in Japan
 * Standard Time — then `medid usage` (CSV and JSON; the CLI process itself on PostgreSQL) and
 * Measure/medid-usage/$evaluate-measure must give exactly the expected figures, agree with each
 * other, and reconcile with the AuditEvents read back through the API; an organization reads
 * its own report only.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { AuditEvent, Bundle, CoverageEligibilityRequest, MeasureReport, Parameters, Patient } from '@medplum/fhirtypes';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORG_SYSTEM } from '../../src/audit/balp.ts';
import { monthRange, USAGE_METRICS, usageReport, zeroCounts } from '../../src/audit/usage.ts';
import type { Counts, OrgUsage, UsageReport } from '../../src/audit/usage.ts';
import { usageDifferences, usageOfAuditEvents } from '../../src/audit/usage-verify.ts';
import { USAGE_CSV_HEADER, usageOutput } from '../../src/cli/usage.ts';
import type { Organization } from '../../src/core/principal.ts';
import { newClientKeys, registerClient } from '../helpers/clients.ts';
import type { TestClient } from '../helpers/clients.ts';
import { testDrivers } from '../helpers/db.ts';
import { eligibilityCard } from '../helpers/eligibility.ts';
import { envelopeClaims, newEncryptionKey, sealEnvelope } from '../helpers/envelopes.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { insurerNumber, registerInsured } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const INSURER = insurerNumber('0613955');
const HOSP_A = '1311111119';
const HOSP_B = '1322222228';
const MONTH = '2026-11';

const orgs: Record<string, Organization> = {
  a: { kind: 'medical-institution', code: HOSP_A },
  b: { kind: 'medical-institution', code: HOSP_B },
  insurer: { kind: 'insurer', code: INSURER },
  ndb: { kind: 'database', code: 'ndb' },
  staff: { kind: 'authority', code: 'usage-staff' },
};
const subjectOf = (o: Organization): string => `${ORG_SYSTEM[o.kind]}|${o.code}`;

/** A clock the test moves: it runs on from the instant last set. */
function movableClock(start: string) {
  let base = Date.parse(start);
  let at = Date.now();
  return {
    now: () => new Date(base + (Date.now() - at)),
    set(iso: string) {
      base = Date.parse(iso);
      at = Date.now();
    },
  };
}

describe.each(testDrivers())('usage metering on %s', (driver) => {
  let s: TestServer;
  const clock = movableClock('2026-10-20T03:00:00Z');
  const pid: Record<string, string> = {};
  const token: Record<string, string> = {};
  let hospital: TestClient;
  let authorityKey: JWK;
  /** What each organization did in November (JST), as the test counts it from the answers. */
  const want: Record<string, { billable: Counts; refused: Counts }> = {};
  let matchedSeveral = 0;

  const as = (who: string) => ({ headers: { authorization: `Bearer ${token[who] ?? ''}` } });
  const add = (who: string, metric: keyof Counts, n = 1, refused = false): void => {
    want[who] ??= { billable: zeroCounts(), refused: zeroCounts() };
    want[who][refused ? 'refused' : 'billable'][metric] += n;
  };
  /** New tokens at the clock's time (a token is checked against it). */
  const tokens = async (): Promise<void> => {
    useToken(await s.tokenFor('system/*.cruds'));
    for (const [who, org] of Object.entries(orgs)) {
      const purpose = org.kind === 'medical-institution' ? 'TREAT' : undefined;
      token[who] = await s.tokenFor('system/*.cruds', `usage-${who}`, org, purpose);
    }
    token['a-billing'] = await s.tokenFor('system/*.cruds', 'usage-a-billing', orgs['a'], 'HPAYMT');
    token['ndb'] = await s.tokenFor('system/Patient.r system/MeasureReport.r', 'usage-ndb', orgs['ndb']);
  };
  const confirm = async (who: string, number: string): Promise<string> => {
    const day = new Date(clock.now().getTime() + 9 * 3_600_000).toISOString().slice(0, 10);
    const res = await fhirFetch(`${s.base}/CoverageEligibilityRequest/$submit`, {
      method: 'POST',
      json: eligibilityCard(INSURER, number, day),
      ...as(who),
    });
    expect(res.status, res.text).toBe(200);
    return (JSON.stringify(res.body).match(/qualification-validity","code":"(\d)"/) ?? [])[1] ?? '';
  };
  const match = async (who: string, family: string, given?: string): Promise<number> => {
    const patient: Patient = {
      resourceType: 'Patient',
      name: [{ family, ...(given ? { given: [given] } : {}) }],
      birthDate: '1981-01-01',
    };
    const res = await fhirFetch<Bundle>(`${s.base}/Patient/$match`, {
      method: 'POST',
      json: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'resource', resource: patient },
          { name: 'count', valueInteger: 10 },
        ],
      },
      ...as(who),
    });
    expect(res.status, res.text).toBe(200);
    return (res.body.entry ?? []).filter((e) => e.resource?.resourceType === 'Patient').length;
  };
  const read = async (who: string, url: string, status = 200): Promise<Bundle | Patient> => {
    const res = await fhirFetch<Bundle | Patient>(`${s.base}/${url}`, as(who));
    expect(res.status, res.text).toBe(status);
    return res.body;
  };
  /** Persons a searchset discloses: the distinct Patients its entries are about. */
  const personsIn = (b: Bundle): number =>
    new Set(
      (b.entry ?? []).map((e) =>
        e.resource?.resourceType === 'Patient'
          ? e.resource.id
          : (e.resource as { beneficiary?: { reference?: string } }).beneficiary?.reference,
      ),
    ).size;
  const evaluate = (who: string, query: string) =>
    fhirFetch<MeasureReport>(`${s.base}/Measure/medid-usage/$evaluate-measure?${query}`, as(who));
  const countsOf = (r: MeasureReport, population: 'initial-population' | 'refused'): Counts => {
    const c = zeroCounts();
    for (const g of r.group ?? [])
      c[g.code?.coding?.[0]?.code as keyof Counts] = g.population?.find((p) => p.code?.coding?.[0]?.code === population)?.count ?? -1;
    return c;
  };
  const usageOf = (r: UsageReport, o: Organization): OrgUsage | undefined =>
    r.organizations.find((x) => x.org.kind === o.kind && x.org.code === o.code);

  beforeAll(async () => {
    s = await startTestServer(driver, { deps: { clock } });
    await tokens();
    // October (JST): registration, and one confirmation and read by hospital A — none of it November's.
    Object.assign(
      pid,
      await registerInsured(s.base, INSURER, { kana: 'ウサジ', kanji: '宇佐治' }, [
        { record: 'p1', number: '901', given: 'イチ' },
        { record: 'p2', number: '902', given: 'ニ' },
        { record: 'p3', number: '903', given: 'サン' },
      ]),
    );
    expect(await confirm('a', '901')).toBe('1');
    await read('a', `Patient/${pid['p1'] ?? ''}`);

    hospital = await newClientKeys('usage-a', 'ES384');
    await registerClient(s, hospital, 'system/Patient.rs', { organization: orgs['a'] });
    const ndbClient = await newClientKeys('usage-ndb', 'ES384');
    const ndbEnc = await newEncryptionKey('usage-ndb-enc');
    await registerClient(s, ndbClient, 'system/Patient.r system/MeasureReport.r', {
      organization: orgs['ndb'],
      jwks: { keys: [ndbClient.publicJwk, ndbEnc.publicJwk] },
    });
    authorityKey = (await fhirFetch<{ keys: JWK[] }>(`${s.base}/.well-known/medid-envelope-jwks`, { anonymous: true })).body.keys[0];

    // 1 November, 00:30 in Japan — still 31 October in UTC: November's from here.
    clock.set('2026-10-31T15:30:00Z');
    await tokens();
    // Hospital A: three confirmations (two valid, one of an unknown card), one refused.
    expect(await confirm('a', '901')).toBe('1');
    expect(await confirm('a', '902')).toBe('1');
    expect(await confirm('a', '999')).not.toBe('1');
    add('a', 'eligibility-confirmations', 3);
    const bad: CoverageEligibilityRequest = { ...eligibilityCard(INSURER, '901', '2026-11-01'), contained: [] };
    expect((await fhirFetch(`${s.base}/CoverageEligibilityRequest/$submit`, { method: 'POST', json: bad, ...as('a') })).status).toBe(400);
    add('a', 'eligibility-confirmations', 1, true);
    // Hospital A: two $match calls, one refused (billing purpose: treatment only).
    await match('a', 'ウサジ', 'イチ');
    await match('a', 'ノーバディ');
    add('a', 'match-calls', 2);
    expect((await fhirFetch(`${s.base}/Patient/$match?family=ウサジ&birthdate=1981-01-01`, as('a-billing'))).status).toBe(403);
    add('a', 'match-calls', 1, true);
    // Hospital A reads: a Patient, a search, Coverages; a person outside its reach is refused.
    await read('a', `Patient/${pid['p1'] ?? ''}`);
    add('a', 'persons-read');
    const found = (await read('a', 'Patient?family=ウサジ')) as Bundle;
    expect(personsIn(found)).toBe(2); // p1 and p2, whom it confirmed
    add('a', 'persons-read', personsIn(found));
    const covs = (await read('a', `Coverage?beneficiary=Patient/${pid['p2'] ?? ''}`)) as Bundle;
    expect(personsIn(covs)).toBe(1);
    add('a', 'persons-read', 1);
    await read('a', `Patient/${pid['p3'] ?? ''}`, 404);
    add('a', 'persons-read', 1, true);
    // Hospital B: one confirmation, one read, one $match.
    expect(await confirm('b', '903')).toBe('1');
    add('b', 'eligibility-confirmations');
    await read('b', `Patient/${pid['p3'] ?? ''}`);
    add('b', 'persons-read');
    await match('b', 'ウサジ', 'サン');
    add('b', 'match-calls');
    // The authority: a $match that returns several persons (one AuditEvent each, still one call).
    matchedSeveral = await match('staff', 'ウサジ');
    expect(matchedSeveral).toBeGreaterThanOrEqual(2);
    add('staff', 'match-calls');
    // The insurer: its export, downloaded twice (each download discloses its persons again), and a confirmation.
    const kick = await fhirFetch(`${s.base}/Patient/$export`, { headers: { ...as('insurer').headers, prefer: 'respond-async' } });
    expect(kick.status, kick.text).toBe(202);
    await Promise.all([...s.app.exportJobs.running]);
    const manifest = await fhirFetch<{ output: { url: string; count: number }[] }>(
      kick.headers.get('content-location') as string,
      as('insurer'),
    );
    expect(manifest.status, manifest.text).toBe(200);
    for (const out of manifest.body.output)
      for (let i = 0; i < 2; i++) {
        const file = await fetch(out.url, as('insurer'));
        expect(file.status).toBe(200);
        expect((await file.text()).trim().split('\n')).toHaveLength(3);
        add('insurer', 'export-records', 3);
      }
    expect(await confirm('insurer', '902')).toBe('1');
    add('insurer', 'eligibility-confirmations');
    // The NDB: two persons pseudonymized (a third envelope names nobody), and a call refused whole.
    const now = Math.floor(clock.now().getTime() / 1000);
    const seal = (insured: string) =>
      sealEnvelope(authorityKey, hospital, envelopeClaims({ iss: hospital.clientId, aud: 'ndb', insured }, now));
    const envelopes = [await seal(`${INSURER}:1:901:00`), await seal(`${INSURER}:1:902:00`), await seal(`${INSURER}:1:999:00`)];
    const pseudo = await fhirFetch<Parameters>(`${s.base}/$pseudonymize`, {
      method: 'POST',
      json: { resourceType: 'Parameters', parameter: envelopes.map((e) => ({ name: 'envelope', valueString: e })) },
      ...as('ndb'),
    });
    expect(pseudo.status, pseudo.text).toBe(200);
    expect(JSON.stringify(pseudo.body).match(/"valueCode":"pseudonymized"/g)).toHaveLength(2);
    add('ndb', 'pseudonym-conversions', 2);
    const empty = await fhirFetch(`${s.base}/$pseudonymize`, { method: 'POST', json: { resourceType: 'Parameters' }, ...as('ndb') });
    expect(empty.status).toBe(400);
    add('ndb', 'pseudonym-conversions', 1, true);

    // 1 December, 00:30 in Japan — still 30 November in UTC: December's.
    clock.set('2026-11-30T15:30:00Z');
    await tokens();
    await read('a', `Patient/${pid['p1'] ?? ''}`);
    await confirm('b', '903');
    // Reading the reports and the AuditEvents happens later still (each read of AuditEvents is audited too).
    clock.set('2026-12-15T03:00:00Z');
    await tokens();
  });
  afterAll(async () => {
    await s.close();
  });

  it('counts each organization’s November (JST) use exactly: billable, refused, and nothing of October or December', async () => {
    const r = await usageReport(s.testDb.db, MONTH);
    expect(r.problems).toEqual([]);
    for (const [who, o] of Object.entries(orgs)) {
      const u = usageOf(r, o);
      expect(u, who).toBeDefined();
      expect({ who, billable: u?.billable, refused: u?.refused }).toEqual({
        who,
        billable: want[who]?.billable ?? zeroCounts(),
        refused: want[who]?.refused ?? zeroCounts(),
      });
    }
    // The authority's own registrations were October's: the test's admin has no November row.
    expect(usageOf(r, { kind: 'authority', code: 'test' })).toBeUndefined();
    const october = usageOf(await usageReport(s.testDb.db, '2026-10'), orgs['a']);
    expect(october?.billable).toEqual({ ...zeroCounts(), 'eligibility-confirmations': 1, 'persons-read': 1 });
    const december = usageOf(await usageReport(s.testDb.db, '2026-12'), orgs['a']);
    expect(december?.billable['persons-read']).toBe(1);
    expect(usageOf(await usageReport(s.testDb.db, '2026-12'), orgs['b'])?.billable['eligibility-confirmations']).toBe(1);
  });

  it('reconciles exactly with the AuditEvents read back through the API', async () => {
    const range = monthRange(MONTH) as { from: string; to: string };
    const events: AuditEvent[] = [];
    for (let url: string | undefined = `${s.base}/AuditEvent?_count=1000`; url;) {
      const page: { status: number; text: string; body: Bundle<AuditEvent> } = await fhirFetch<Bundle<AuditEvent>>(url);
      expect(page.status, page.text).toBe(200);
      for (const e of page.body.entry ?? []) if (e.resource) events.push(e.resource);
      url = page.body.link?.find((l: { relation?: string }) => l.relation === 'next')?.url;
    }
    const inMonth = events.filter((e) => Date.parse(e.recorded) >= Date.parse(range.from) && Date.parse(e.recorded) < Date.parse(range.to));
    // The several-person $match is several AuditEvents (one per person) and still one call.
    const staffMatches = inMonth.filter(
      (e) => e.subtype?.[0]?.display === '$match' && e.agent?.some((a) => a.requestor && a.who?.identifier?.value === 'usage-staff'),
    );
    expect(staffMatches).toHaveLength(matchedSeveral);
    const recount = usageOfAuditEvents(MONTH, inMonth);
    const report = await usageReport(s.testDb.db, MONTH);
    expect(usageDifferences(report, recount)).toEqual([]);
    expect(recount.organizations).toEqual(report.organizations);
    // The same check, as `medid usage --verify` runs it on one snapshot.
    const verified = await usageOutput(s.testDb.db, { month: MONTH, format: 'json', verify: true, baseUrl: s.base });
    expect(verified.problems).toEqual([]);
    expect((JSON.parse(verified.text) as { verification: { auditEvents: number } }).verification.auditEvents).toBe(inMonth.length);
  });

  it('medid usage prints the figures as CSV and JSON (the CLI process itself on PostgreSQL)', async () => {
    const report = await usageReport(s.testDb.db, MONTH);
    const csv = (await usageOutput(s.testDb.db, { month: MONTH, format: 'csv', verify: false, baseUrl: s.base })).text;
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe(USAGE_CSV_HEADER);
    const header = USAGE_CSV_HEADER.split(',');
    const rowOf = (o: Organization): Record<string, string> | undefined => {
      const line = lines.find((l) => l.startsWith(`${MONTH},${o.kind},${o.code},`));
      return line ? Object.fromEntries(line.split(',').map((v, i) => [header[i], v])) : undefined;
    };
    const a = rowOf(orgs['a']);
    expect(a).toMatchObject({
      eligibility_confirmations: '3',
      match_calls: '2',
      persons_read: '4',
      export_records: '0',
      pseudonym_conversions: '0',
      refused_eligibility_confirmations: '1',
      refused_match_calls: '1',
      refused_persons_read: '1',
    });
    expect(rowOf(orgs['insurer'])).toMatchObject({ export_records: '6', eligibility_confirmations: '1' });
    expect(rowOf(orgs['ndb'])).toMatchObject({ pseudonym_conversions: '2', refused_pseudonym_conversions: '1' });
    expect(rowOf(orgs['staff'])).toMatchObject({ match_calls: '1' });
    expect(lines).toHaveLength(1 + report.organizations.length);
    const json = JSON.parse(
      (await usageOutput(s.testDb.db, { month: MONTH, format: 'json', verify: false, baseUrl: s.base })).text,
    ) as UsageReport;
    expect(json).toEqual(report);
    expect(json.from).toBe('2026-11-01T00:00:00+09:00');
    if (s.testDb.url) {
      const cli = (...args: string[]) =>
        spawnSync(process.execPath, [path.join(ROOT, 'bin', 'medid.js'), 'usage', ...args], {
          cwd: ROOT,
          env: { ...process.env, DATABASE_URL: s.testDb.url, MEDID_BASE_URL: s.base },
          encoding: 'utf8',
        });
      const out = cli('--month', MONTH);
      expect(out.status, out.stderr).toBe(0);
      expect(out.stdout).toBe(csv);
      const verified = cli('--month', MONTH, '--format', 'json', '--verify');
      expect(verified.status, verified.stderr).toBe(0);
      expect((JSON.parse(verified.stdout) as UsageReport).organizations).toEqual(report.organizations);
      expect(verified.stderr).toContain('reconciles with its AuditEvents');
      expect(cli('--month', '2026-13').status).toBe(2);
    }
  });

  it('answers Measure/medid-usage/$evaluate-measure with the same figures, as a summary MeasureReport', async () => {
    const report = await usageReport(s.testDb.db, MONTH);
    const res = await evaluate('a', 'periodStart=2026-11&periodEnd=2026-11');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      resourceType: 'MeasureReport',
      status: 'complete',
      type: 'summary',
      measure: 'http://medid.example.org/fhir/Measure/medid-usage',
      period: { start: '2026-11-01T00:00:00+09:00', end: '2026-11-30T23:59:59+09:00' },
    });
    expect(res.body.extension?.[0]?.valueReference?.identifier).toEqual({ system: ORG_SYSTEM['medical-institution'], value: HOSP_A });
    expect(res.body.group?.map((g) => g.id)).toEqual([...USAGE_METRICS]);
    const a = usageOf(report, orgs['a']);
    expect(countsOf(res.body, 'initial-population')).toEqual(a?.billable);
    expect(countsOf(res.body, 'refused')).toEqual(a?.refused);
    // Named by its first and last day, and by its own identifier: the same report.
    const named = await evaluate('a', `periodStart=2026-11-01&periodEnd=2026-11-30&subject=${encodeURIComponent(subjectOf(orgs['a']))}`);
    expect(named.status, named.text).toBe(200);
    expect(named.body.group).toEqual(res.body.group);
    // The database reads its own, with the narrow scope it was given.
    const ndb = await evaluate('ndb', 'periodStart=2026-11&periodEnd=2026-11');
    expect(ndb.status, ndb.text).toBe(200);
    expect(countsOf(ndb.body, 'initial-population')['pseudonym-conversions']).toBe(2);
    // The authority reads anyone's; an organization that did nothing reads zeros.
    const b = await evaluate('staff', `periodStart=2026-11&periodEnd=2026-11&subject=${encodeURIComponent(subjectOf(orgs['b']))}`);
    expect(b.status, b.text).toBe(200);
    expect(countsOf(b.body, 'initial-population')).toEqual(usageOf(report, orgs['b'])?.billable);
    const idle = await evaluate(
      'staff',
      `periodStart=2026-11&periodEnd=2026-11&subject=${encodeURIComponent(`${ORG_SYSTEM.insurer}|06999999`)}`,
    );
    expect(countsOf(idle.body, 'initial-population')).toEqual(zeroCounts());
    // The Measure itself is published, readable by every organization.
    const measure = await fhirFetch<{ url: string; group: { id: string }[] }>(`${s.base}/Measure/medid-usage`, as('b'));
    expect(measure.status, measure.text).toBe(200);
    expect(measure.body.group.map((g) => g.id)).toEqual([...USAGE_METRICS]);
  });

  it("refuses another organization's report, a period that is not one month, an unknown Measure and a caller without the scope", async () => {
    const other = await evaluate('b', `periodStart=2026-11&periodEnd=2026-11&subject=${encodeURIComponent(subjectOf(orgs['a']))}`);
    expect(other.status).toBe(403);
    expect(other.text).toContain('usage.own-organization');
    expect(other.text).not.toContain('"count"');
    const insurer = await evaluate(
      'insurer',
      `periodStart=2026-11&periodEnd=2026-11&subject=${encodeURIComponent(subjectOf(orgs['ndb']))}`,
    );
    expect(insurer.status).toBe(403);
    for (const q of [
      'periodStart=2026-11&periodEnd=2026-12',
      'periodStart=2026-11-02&periodEnd=2026-11-30',
      'periodStart=2026-11-01&periodEnd=2026-11-29',
      'periodStart=2026-11',
    ])
      expect((await evaluate('a', q)).status, q).toBe(400);
    expect((await evaluate('a', 'periodStart=2026-11&periodEnd=2026-11&subject=urn:x|1')).status).toBe(400);
    const unknown = await fhirFetch(`${s.base}/Measure/other/$evaluate-measure?periodStart=2026-11&periodEnd=2026-11`, as('a'));
    expect(unknown.status).toBe(404);
    const narrow = await s.tokenFor('system/Patient.rs', 'usage-a', orgs['a'], 'TREAT');
    const noScope = await fhirFetch(`${s.base}/Measure/medid-usage/$evaluate-measure?periodStart=2026-11&periodEnd=2026-11`, {
      headers: { authorization: `Bearer ${narrow}` },
    });
    expect(noScope.status).toBe(403);
  });
});
