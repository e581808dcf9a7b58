/**
 * Online eligibility confirmation of public-payer cards (公費負担者番号 + 受給者番号, 生活保護's
 * 医療券 included) and the class of card every answer names (証区分), over HTTP: the JP Core
 * shapes of the request, validity by the day (the last day valid, the next invalid, a newer
 * coverage said), another birth date or an unknown number "not found", refusals naming the
 * element and the rule, the service use and the audit record as for an insurance card, the
 * person withheld from an insurer, a mismatch Task owned by the public payer; card classes
 * stated (短期, 資格証明書) or the ordinary one of the number's kind, and a stated class that is
 * not one refused by the profile.
 */
import type {
  Bundle,
  Coverage,
  CoverageEligibilityRequest,
  CoverageEligibilityResponse,
  OperationOutcome,
  Parameters,
  Patient,
  Task,
} from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENSIONS, ID_SYSTEMS, SYSTEMS } from '../../src/core/systems.ts';
import { parsePublicPayerNumber } from '../../src/identifiers/public-payer-number.ts';
import { eligibilityCard } from '../helpers/eligibility.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { insurerNumber, registerBody, registrationPatient, results } from '../helpers/registry.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

/** An 8-digit 公費負担者番号 with a correct check digit for a 7-digit body (法別 + 都道府県 + 実施機関). */
function payerNumber(body7: string): string {
  for (let d = 0; d <= 9; d++) if (parsePublicPayerNumber(`${body7}${d}`).ok) return `${body7}${d}`;
  throw new Error(`no check digit for ${body7}`);
}

const WELFARE = payerNumber('1213101'); // 生活保護 (法別 12), a Tokyo welfare office
const NANBYO = payerNumber('5413001'); // 指定難病 (法別 54)
const KOKUHO = insurerNumber('0113001');
const KENPO = insurerNumber('0614001');
const HOSPITAL = '1311111111';
const JPC = EXTENSIONS.jpCoverageInsuredPerson;
const CLASS_TYPE = { coding: [{ system: SYSTEMS.coverageClassType, code: 'card-class' }] };

const validity = (r: CoverageEligibilityResponse) => r.extension?.find((e) => e.url === EXTENSIONS.eligibilityValidity)?.valueCoding?.code;
const cardClass = (r: CoverageEligibilityResponse) => r.insurance?.[0]?.extension?.find((e) => e.url === EXTENSIONS.cardClass)?.valueCoding;

describe.each(testDrivers())('eligibility of public-payer cards, and card classes, on %s', (driver) => {
  let s: TestServer;
  let hospital: string;
  const pid: Record<string, string> = {};

  /** A registration Patient named by the 生活保護受給者識別子 (no insured number). */
  const publicPatient = (payer: string, recipient: string, kana: [string, string], birthDate: string): Patient => ({
    ...registrationPatient({ kana, birthDate, gender: 'female' }),
    identifier: [{ system: ID_SYSTEMS.publicPayerMemberId, value: `${payer}::${recipient}:` }],
  });
  const publicCoverage = (o: {
    payer: string;
    recipient: string;
    patient: string;
    start: string;
    end?: string;
    loss?: string;
  }): Coverage => ({
    resourceType: 'Coverage',
    status: 'active',
    identifier: [{ system: ID_SYSTEMS.publicPayerMemberId, value: `${o.payer}::${o.recipient}:` }],
    ...(o.loss
      ? {
          extension: [{ url: EXTENSIONS.coverageLossReason, valueCoding: { system: SYSTEMS.coverageLossReason, code: o.loss } }],
        }
      : {}),
    type: { coding: [{ system: 'urn:oid:1.2.392.100495.20.2.61', code: '8', display: '公費' }] },
    subscriberId: o.recipient,
    beneficiary: { reference: `Patient/${o.patient}` },
    payor: [{ identifier: { system: ID_SYSTEMS.publicPayerNumber, value: o.payer } }],
    period: { start: o.start, ...(o.end ? { end: o.end } : {}) },
  });
  const insuredCoverage = (o: {
    insurer: string;
    number: string;
    patient: string;
    start: string;
    end?: string;
    cardClass?: string;
  }): Coverage => ({
    resourceType: 'Coverage',
    status: 'active',
    identifier: [{ system: ID_SYSTEMS.insuredMemberId, value: `${o.insurer}:1:${o.number}:00` }],
    extension: [
      { url: `${JPC}Symbol`, valueString: '1' },
      { url: `${JPC}Number`, valueString: o.number },
      { url: `${JPC}SubNumber`, valueString: '00' },
    ],
    ...(o.cardClass ? { class: [{ type: CLASS_TYPE, value: o.cardClass }] } : {}),
    beneficiary: { reference: `Patient/${o.patient}` },
    payor: [{ identifier: { system: ID_SYSTEMS.insurerNumber, value: o.insurer } }],
    period: { start: o.start, ...(o.end ? { end: o.end } : {}) },
  });
  const put = async (c: Coverage) => {
    const id = c.identifier?.[0];
    const res = await fhirFetch(`${s.base}/Coverage?identifier=${encodeURIComponent(`${id?.system ?? ''}|${id?.value ?? ''}`)}`, {
      method: 'PUT',
      json: c,
    });
    expect(res.status, res.text).toBeLessThan(300);
  };

  /** A public-payer card the JP Core way: the payer as insurer (公費負担者番号), the 受給者番号 as the Coverage's subscriberId. */
  const publicCard = (o: {
    payer: string;
    recipient: string;
    birthDate: string;
    day: string;
    kana?: [string, string];
    asMemberId?: boolean;
  }): CoverageEligibilityRequest => ({
    resourceType: 'CoverageEligibilityRequest',
    status: 'active',
    purpose: ['validation'],
    created: `${o.day}T09:00:00+09:00`,
    contained: [
      {
        resourceType: 'Patient',
        id: 'p',
        birthDate: o.birthDate,
        ...(o.kana
          ? { name: [{ extension: [{ url: EXTENSIONS.nameRepresentation, valueCode: 'SYL' }], family: o.kana[0], given: [o.kana[1]] }] }
          : {}),
      },
      {
        resourceType: 'Coverage',
        id: 'c',
        status: 'active',
        beneficiary: { reference: '#p' },
        payor: [{ identifier: { system: ID_SYSTEMS.publicPayerNumber, value: o.payer } }],
        ...(o.asMemberId
          ? { identifier: [{ system: ID_SYSTEMS.publicPayerMemberId, value: `${o.payer}::${o.recipient}:` }] }
          : { subscriberId: o.recipient }),
      },
    ],
    patient: { reference: '#p' },
    servicedDate: o.day,
    insurer: { identifier: { system: ID_SYSTEMS.publicPayerNumber, value: o.payer } },
    insurance: [{ coverage: { reference: '#c' } }],
  });
  const submit = async (req: CoverageEligibilityRequest, token = hospital) =>
    fhirFetch<CoverageEligibilityResponse>(`${s.base}/CoverageEligibilityRequest/$submit`, {
      method: 'POST',
      json: req,
      headers: { authorization: `Bearer ${token}` },
    });

  beforeAll(async () => {
    s = await startTestServer(driver, { deps: { clock: { now: () => new Date('2026-04-10T03:00:00Z') } } });
    useToken(s.token);
    hospital = await s.tokenFor('system/CoverageEligibilityRequest.c system/Patient.r', 'hospital', {
      kind: 'medical-institution',
      code: HOSPITAL,
    });
    const reg = await fhirFetch<Parameters>(`${s.base}/Patient/$register`, {
      method: 'POST',
      json: registerBody([
        // On public assistance since 2020; on it still.
        { record: 'sato', patient: publicPatient(WELFARE, '1234567', ['サトウ', 'ハナコ'], '1951-12-03') },
        // Left public assistance on 2026-04-15 for 国保 (loss reason 03).
        { record: 'ito', patient: publicPatient(WELFARE, '7654321', ['イトウ', 'ミチコ'], '1960-02-02') },
        // Insured, with a 指定難病 recipient certificate besides.
        {
          record: 'kato',
          patient: {
            ...registrationPatient({ insurer: KENPO, symbol: '1', number: '800', kana: ['カトウ', 'ケン'], birthDate: '1975-07-07' }),
          },
        },
        // A short-term card, and a 資格証明書.
        {
          record: 'short',
          patient: registrationPatient({
            insurer: KOKUHO,
            symbol: '1',
            number: '900',
            kana: ['ハヤシ', 'ジュン'],
            birthDate: '1990-01-01',
          }),
        },
        {
          record: 'cert',
          patient: registrationPatient({ insurer: KOKUHO, symbol: '1', number: '901', kana: ['モリ', 'アキラ'], birthDate: '1991-01-01' }),
        },
      ]),
    });
    for (const r of results(reg.body)) pid[r.record as string] = r.patient as string;
    expect(Object.keys(pid).sort()).toEqual(['cert', 'ito', 'kato', 'sato', 'short']);
    await put(publicCoverage({ payer: WELFARE, recipient: '1234567', patient: pid['sato'] ?? '', start: '2020-10-01' }));
    await put(
      publicCoverage({
        payer: WELFARE,
        recipient: '7654321',
        patient: pid['ito'] ?? '',
        start: '2019-04-01',
        end: '2026-04-15',
        loss: '03',
      }),
    );
    await put(insuredCoverage({ insurer: KOKUHO, number: '777', patient: pid['ito'] ?? '', start: '2026-04-16' }));
    await put(insuredCoverage({ insurer: KENPO, number: '800', patient: pid['kato'] ?? '', start: '2015-04-01' }));
    await put(publicCoverage({ payer: NANBYO, recipient: '0012345', patient: pid['kato'] ?? '', start: '2025-10-01', end: '2026-09-30' }));
    await put(
      insuredCoverage({
        insurer: KOKUHO,
        number: '900',
        patient: pid['short'] ?? '',
        start: '2026-04-01',
        end: '2026-06-30',
        cardClass: '03',
      }),
    );
    await put(insuredCoverage({ insurer: KOKUHO, number: '901', patient: pid['cert'] ?? '', start: '2026-01-01', cardClass: '05' }));
  });
  afterAll(async () => {
    await s.close();
  });

  it('confirms a 生活保護 recipient by 公費負担者番号 and 受給者番号: valid, the period, the 医療券 class, the person', async () => {
    for (const asMemberId of [false, true]) {
      const res = await submit(
        publicCard({ payer: WELFARE, recipient: '1234567', birthDate: '1951-12-03', day: '2026-04-10', asMemberId }),
      );
      expect(res.status, res.text).toBe(200);
      expect(validity(res.body)).toBe('1');
      expect(res.body.patient.reference).toBe(`Patient/${pid['sato'] ?? ''}`);
      expect(res.body.insurer).toEqual({ identifier: { system: ID_SYSTEMS.publicPayerNumber, value: WELFARE } });
      expect(res.body.insurance?.[0]).toMatchObject({ inforce: true, benefitPeriod: { start: '2020-10-01' } });
      expect(cardClass(res.body)).toEqual({ system: SYSTEMS.cardClass, code: 'medical-aid', display: '医療券・調剤券（生活保護）' });
    }
    // Full-width digits and a short recipient number are what desks type: both normalized.
    const typed = await submit(
      publicCard({ payer: '１２１３１０１' + WELFARE.slice(7), recipient: '１２３４５６７', birthDate: '1951-12-03', day: '2026-04-10' }),
    );
    expect(validity(typed.body)).toBe('1');
  });

  it('is valid by the day: the last day valid, the next day invalid with a newer coverage said and the loss reason', async () => {
    const last = await submit(publicCard({ payer: WELFARE, recipient: '7654321', birthDate: '1960-02-02', day: '2026-04-15' }));
    expect(validity(last.body)).toBe('1');
    const after = await submit(publicCard({ payer: WELFARE, recipient: '7654321', birthDate: '1960-02-02', day: '2026-04-16' }));
    expect(validity(after.body)).toBe('3');
    expect(after.body.insurance?.[0]?.inforce).toBe(false);
    expect(after.body.extension?.find((e) => e.url === EXTENSIONS.coverageLossReason)?.valueCoding?.code).toBe('03');
  });

  it('answers not found for another birth date or an unknown recipient, revealing nothing', async () => {
    const wrongBirth = await submit(publicCard({ payer: WELFARE, recipient: '1234567', birthDate: '1951-12-04', day: '2026-04-10' }));
    expect(validity(wrongBirth.body)).toBe('4');
    expect(wrongBirth.body.patient.reference).toBeUndefined();
    expect(wrongBirth.body.insurance).toBeUndefined();
    const unknown = await submit(publicCard({ payer: WELFARE, recipient: '1111111', birthDate: '1951-12-03', day: '2026-04-10' }));
    expect(validity(unknown.body)).toBe('4');
  });

  it('refuses a bad 公費負担者番号 or 受給者番号 with 400 naming the element and the rule, never the value', async () => {
    const badPayer = `${WELFARE.slice(0, 7)}${(Number(WELFARE[7]) + 1) % 10}`;
    const cases: [CoverageEligibilityRequest, string, string][] = [
      [
        publicCard({ payer: badPayer, recipient: '1234567', birthDate: '1951-12-03', day: '2026-04-10' }),
        'CoverageEligibilityRequest.insurer.identifier.value',
        'public-payer-number.check-digit',
      ],
      [
        publicCard({ payer: WELFARE, recipient: '12345678', birthDate: '1951-12-03', day: '2026-04-10' }),
        'CoverageEligibilityRequest.insurance[0].coverage.subscriberId',
        'public-payer-member-id.recipient',
      ],
      [
        publicCard({ payer: WELFARE, recipient: '12-AB-7', birthDate: '1951-12-03', day: '2026-04-10', asMemberId: true }),
        'CoverageEligibilityRequest.insurance[0].coverage.identifier.value',
        'public-payer-member-id.recipient',
      ],
    ];
    for (const [req, element, rule] of cases) {
      const res = await submit(req);
      expect(res.status, res.text).toBe(400);
      const oo = res.body as unknown as OperationOutcome;
      expect(oo.issue[0]?.expression).toEqual([element]);
      expect(oo.issue[0]?.details?.coding?.map((c) => c.code)).toContain(rule);
      expect(res.text).not.toContain(badPayer);
      expect(res.text).not.toContain('12345678');
    }
    const noRecipient = publicCard({ payer: WELFARE, recipient: '', birthDate: '1951-12-03', day: '2026-04-10' });
    delete (noRecipient.contained?.[1] as Coverage).subscriberId;
    const res = await submit(noRecipient);
    expect(res.status).toBe(400);
    expect((res.body as unknown as OperationOutcome).issue[0]?.expression).toEqual([
      'CoverageEligibilityRequest.insurance[0].coverage.subscriberId',
    ]);
  });

  it('records the service use and audits the confirmation as for an insurance card; withholds the person from an insurer', async () => {
    const visits = async () =>
      (
        await s.testDb.db.query<{ visits: number }>(`SELECT visits FROM registry.service_use WHERE patient_id = $1 AND org_code = $2`, [
          pid['sato'],
          HOSPITAL,
        ])
      ).rows[0]?.visits ?? 0;
    const audited = async () =>
      (
        await s.testDb.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM audit.event WHERE subtype = '$submit' AND patient_id = $1 AND query = 'validity=1&card=public-payer'`,
          [pid['sato']],
        )
      ).rows[0]?.n ?? 0;
    const [v0, a0] = [await visits(), await audited()];
    expect(
      validity((await submit(publicCard({ payer: WELFARE, recipient: '1234567', birthDate: '1951-12-03', day: '2026-04-12' }))).body),
    ).toBe('1');
    expect(await visits()).toBe(v0 + 1);
    expect(await audited()).toBe(a0 + 1);
    // A wrong birth date is no visit.
    await submit(publicCard({ payer: WELFARE, recipient: '1234567', birthDate: '1951-12-04', day: '2026-04-12' }));
    expect(await visits()).toBe(v0 + 1);
    // The welfare office, as an insurer-kind client, may confirm its card; the person stays withheld.
    const office = await s.tokenFor('system/CoverageEligibilityRequest.c', 'welfare-office', { kind: 'insurer', code: WELFARE });
    const res = await submit(publicCard({ payer: WELFARE, recipient: '1234567', birthDate: '1951-12-03', day: '2026-04-12' }), office);
    expect(validity(res.body)).toBe('1');
    expect(res.body.patient.reference).toBeUndefined();
    expect(res.body.insurance?.[0]?.coverage).toEqual({ display: "the card's coverage" });
    expect(await visits()).toBe(v0 + 1);
  });

  it('asks the public payer, not an insurer, to check a mismatch', async () => {
    const res = await submit(
      publicCard({ payer: WELFARE, recipient: '1234567', birthDate: '1951-12-03', day: '2026-04-10', kana: ['サトウ', 'ハルコ'] }),
    );
    expect(res.body.disposition).toMatch(/kana name given differs from the registry: the public payer has been asked to check/);
    const tasks =
      (await fhirFetch<Bundle<Task>>(`${s.base}/Task?subject=Patient/${pid['sato'] ?? ''}`)).body.entry?.map((e) => e.resource as Task) ??
      [];
    expect(tasks.filter((t) => t.code?.coding?.[0]?.code === 'registry-mismatch').map((t) => t.owner)).toEqual([
      { identifier: { system: ID_SYSTEMS.publicPayerNumber, value: WELFARE } },
    ]);
  });

  it('names the class of card: stated (短期, 資格証明書), else the ordinary one of the number’s kind', async () => {
    const classOf = async (req: CoverageEligibilityRequest) => {
      const res = await submit(req);
      expect(res.status, res.text).toBe(200);
      return [validity(res.body), cardClass(res.body)?.code];
    };
    expect(await classOf(eligibilityCard(KENPO, '800', '2026-04-10', '1975-07-07'))).toEqual(['1', '01']);
    expect(await classOf(eligibilityCard(KOKUHO, '900', '2026-06-30', '1990-01-01'))).toEqual(['1', '03']);
    expect(await classOf(eligibilityCard(KOKUHO, '900', '2026-07-01', '1990-01-01'))).toEqual(['2', '03']);
    // A 資格証明書 is valid: its holder is insured, and pays the whole fee at the desk.
    expect(await classOf(eligibilityCard(KOKUHO, '901', '2026-04-10', '1991-01-01'))).toEqual(['1', '05']);
    expect(await classOf(publicCard({ payer: NANBYO, recipient: '12345', birthDate: '1975-07-07', day: '2026-04-10' }))).toEqual([
      '1',
      'public-recipient',
    ]);
    // Not found: no coverage, no class.
    expect(await classOf(eligibilityCard(KOKUHO, '999', '2026-04-10', '1991-01-01'))).toEqual(['4', undefined]);
  });

  it('refuses, under the medid-coverage profile, a stated class that is not a card class', async () => {
    const c = insuredCoverage({ insurer: KOKUHO, number: '902', patient: pid['cert'] ?? '', start: '2026-01-01', cardClass: '99' });
    const bad = await fhirFetch<OperationOutcome>(`${s.base}/Coverage`, {
      method: 'POST',
      json: { ...c, meta: { profile: ['http://medid.example.org/fhir/StructureDefinition/medid-coverage'] } },
    });
    expect(bad.status, bad.text).toBe(422);
    expect(bad.text).toMatch(/medid-cov-3/);
    const good = await fhirFetch(`${s.base}/Coverage`, {
      method: 'POST',
      json: {
        ...c,
        class: [{ type: CLASS_TYPE, value: 'confirmation-certificate' }],
        meta: { profile: ['http://medid.example.org/fhir/StructureDefinition/medid-coverage'] },
      },
    });
    expect(good.status, good.text).toBe(201);
  });
});
