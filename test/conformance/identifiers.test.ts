/**
 * Japanese identifiers on the API: normalized on every write and every search, refused with a
 * 422 that names the element and the rule (and nothing written), and My Number kept only as a
 * keyed MAC — absent from every table, log line and response.
 */
import { Writable } from 'node:stream';
import type { Bundle, Coverage, OperationOutcome, Parameters as FhirParameters, Patient } from '@medplum/fhirtypes';
import { insurerNumber, registerBody, registrationPatient } from '../helpers/registry.ts';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ID_SYSTEMS } from '../../src/core/systems.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const MY_NUMBER = '983205673214';
const MY_NUMBER_FULLWIDTH = '９８３２ ０５６７ ３２１４';
const OTHER_MY_NUMBER = '123456789018';
const JP_EXT = 'http://jpfhir.jp/fhir/core/Extension/StructureDefinition/';

describe.each(testDrivers())('Japanese identifiers on %s', (driver) => {
  let s: TestServer;
  const logLines: string[] = [];
  const responses: string[] = [];
  const call = async <T>(url: string, init: Parameters<typeof fhirFetch>[1] = {}) => {
    const r = await fhirFetch<T>(url, init);
    const headers: string[] = [];
    r.headers.forEach((v, k) => headers.push(`${k}: ${v}`));
    responses.push(r.text, headers.join('\n'));
    return r;
  };
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    s = await startTestServer(driver, { logger: pino({ level: 'trace' }, sink) });
    useToken(s.token);
  });
  afterAll(async () => {
    await s.close();
  });
  const count = async (q: string): Promise<number> => (await call<Bundle>(`${s.base}/Patient?${q}&_summary=count`)).body.total as number;

  describe('normalization', () => {
    it('stores the canonical 被保険者個人識別子 for what a desk types, and finds it by any form', async () => {
      const res = await call<Patient>(`${s.base}/Patient`, {
        method: 'POST',
        json: {
          resourceType: 'Patient',
          identifier: [{ system: ID_SYSTEMS.insuredMemberId, value: '０６１３８０９３：１２－３４：５６７８' }],
        },
      });
      expect(res.status).toBe(201);
      expect(res.body.identifier?.[0]?.value).toBe('06138093:１２－３４:5678:');
      for (const q of ['06138093:１２－３４:5678:', '０６１３８０９３：１２－３４：５６７８：', ' 6138093:12-34:５６７８']) {
        const found = await call<Bundle>(`${s.base}/Patient?identifier=${encodeURIComponent(`${ID_SYSTEMS.insuredMemberId}|${q}`)}`);
        expect(
          found.body.entry?.map((e) => e.resource?.id),
          q,
        ).toEqual([res.body.id]);
      }
    });

    it('rewrites a legacy OID system to the JP Core URL', async () => {
      const res = await call<Patient>(`${s.base}/Patient`, {
        method: 'POST',
        json: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.392.100495.20.3.61', value: '138156' }] },
      });
      expect(res.body.identifier?.[0]).toEqual({ system: ID_SYSTEMS.insurerNumber, value: '00138156' });
    });

    it('normalizes JP Core Coverage extensions for 記号・番号・枝番', async () => {
      const res = await call<Coverage>(`${s.base}/Coverage`, {
        method: 'POST',
        json: {
          resourceType: 'Coverage',
          status: 'active',
          beneficiary: { reference: 'Patient/x' },
          payor: [{ identifier: { system: ID_SYSTEMS.insurerNumber, value: '６１３８０９３' } }],
          extension: [
            { url: `${JP_EXT}JP_Coverage_InsuredPersonSymbol`, valueString: 'ｱｲ 12' },
            { url: `${JP_EXT}JP_Coverage_InsuredPersonNumber`, valueString: '５６７８' },
            { url: `${JP_EXT}JP_Coverage_InsuredPersonSubNumber`, valueString: '1' },
          ],
        } satisfies Coverage,
      });
      expect(res.status).toBe(201);
      expect(res.body.extension?.map((e) => e.valueString)).toEqual(['アイ１２', '5678', '01']);
      expect(res.body.payor[0]?.identifier?.value).toBe('06138093');
    });
  });

  describe('refusals', () => {
    it('refuses a wrong insurer check digit with 422 naming the element and the rule; nothing is written', async () => {
      const res = await call<OperationOutcome>(`${s.base}/Patient`, {
        method: 'POST',
        json: {
          resourceType: 'Patient',
          name: [{ family: 'Refused' }],
          identifier: [
            { system: 'urn:example:mrn', value: 'r-1' },
            { system: ID_SYSTEMS.insurerNumber, value: '88134458' },
          ],
        },
      });
      expect(res.status).toBe(422);
      const i = res.body.issue[0];
      expect(i?.expression).toEqual(['Patient.identifier[1].value']);
      expect(i?.details?.text).toBe('insurer number: the check digit is wrong');
      expect(i?.details?.coding?.map((c) => c.code)).toEqual(['invalid-identifier', 'insurer-number.check-digit']);
      expect(await count('identifier=urn:example:mrn|r-1')).toBe(0);
    });

    it('reports every wrong identifier at once', async () => {
      const res = await call<OperationOutcome>(`${s.base}/Patient`, {
        method: 'POST',
        json: {
          resourceType: 'Patient',
          identifier: [
            { system: ID_SYSTEMS.insuredMemberId, value: '06138092::187:' },
            { system: ID_SYSTEMS.publicPayerMemberId, value: '12131017::12345678:' },
            { system: 'urn:oid:1.2.392.100495.20.3.51.19912345678', value: 'p1' },
          ],
        },
      });
      expect(res.status).toBe(422);
      expect(res.body.issue.map((i) => i.expression?.[0])).toEqual([
        'Patient.identifier[0].value',
        'Patient.identifier[1].value',
        'Patient.identifier[2].value',
      ]);
    });

    it('refuses a bad 枝番 in a Coverage extension, naming the extension', async () => {
      const res = await call<OperationOutcome>(`${s.base}/Coverage`, {
        method: 'POST',
        json: {
          resourceType: 'Coverage',
          status: 'active',
          beneficiary: { reference: 'Patient/x' },
          payor: [{ display: 'x' }],
          extension: [{ url: `${JP_EXT}JP_Coverage_InsuredPersonSubNumber`, valueString: '123' }],
        },
      });
      expect(res.status).toBe(422);
      expect(res.body.issue[0]?.expression).toEqual(['Coverage.extension[0].value']);
    });

    it('refuses an invalid identifier on update too, keeping the stored version', async () => {
      const c = await call<Patient>(`${s.base}/Patient`, {
        method: 'POST',
        json: { resourceType: 'Patient', identifier: [{ system: ID_SYSTEMS.insurerNumber, value: '06138093' }] },
      });
      const res = await call(`${s.base}/Patient/${c.body.id}`, {
        method: 'PUT',
        json: { ...c.body, identifier: [{ system: ID_SYSTEMS.insurerNumber, value: '06138094' }] },
      });
      expect(res.status).toBe(422);
      expect((await call<Patient>(`${s.base}/Patient/${c.body.id}`)).body.meta?.versionId).toBe('1');
    });
  });

  describe('My Number', () => {
    let withMn: Patient & { id: string };
    const register = (my: string, number: string, given: string) =>
      call<FhirParameters>(`${s.base}/Patient/$register`, {
        method: 'POST',
        json: registerBody([
          {
            patient: registrationPatient({
              insurer: insurerNumber('0613809'),
              number,
              myNumber: my,
              kana: ['マイナ', given],
              birthDate: '1975-03-03',
            }),
          },
        ]),
      });
    it('enters through $register only: bound as a MAC, never stored, and findable by any written form', async () => {
      const plain = await call<OperationOutcome>(`${s.base}/Patient`, {
        method: 'POST',
        json: {
          resourceType: 'Patient',
          name: [{ family: 'Mynumber' }],
          identifier: [{ system: ID_SYSTEMS.myNumber, value: MY_NUMBER_FULLWIDTH }],
        },
      });
      expect(plain.status).toBe(422);
      expect(plain.text).toMatch(/Registry integrity/);
      expect(plain.text).not.toContain(MY_NUMBER);
      const res = await register(MY_NUMBER_FULLWIDTH, '7001', 'イチ');
      expect(res.status).toBe(200);
      const id =
        (
          res.body.parameter?.find((x) => x.name === 'result')?.part?.find((x) => x.name === 'patient')?.valueReference?.reference ?? ''
        ).split('/')[1] ?? '';
      withMn = (await call<Patient & { id: string }>(`${s.base}/Patient/${id}`)).body;
      expect(withMn.identifier?.some((i) => i.system === ID_SYSTEMS.myNumber)).toBe(false);
      for (const q of [MY_NUMBER, MY_NUMBER_FULLWIDTH, '9832-0567-3214']) {
        const found = await call<Bundle>(`${s.base}/Patient?identifier=${encodeURIComponent(`${ID_SYSTEMS.myNumber}|${q}`)}`);
        expect(found.body.entry?.map((e) => e.resource?.id)).toEqual([withMn.id]);
      }
    });

    it('stays bound to the person after an update without it, and in paging links travels as its key', async () => {
      expect(
        (
          await call(`${s.base}/Patient/${withMn.id}`, {
            method: 'PUT',
            json: { ...withMn, telecom: [{ system: 'phone', value: '03-1234-5678' }] },
          })
        ).status,
      ).toBe(200);
      const found = await call<Bundle>(
        `${s.base}/Patient?identifier=${encodeURIComponent(`${ID_SYSTEMS.myNumber}|${MY_NUMBER}`)}&_count=1`,
      );
      expect(found.body.entry).toHaveLength(1);
      const self = found.body.link?.find((l) => l.relation === 'self')?.url as string;
      expect(self).not.toContain(MY_NUMBER);
      expect((await call<Bundle>(self)).body.entry).toHaveLength(1);
    });

    it('never makes a second person, a plain update cannot add one, and a wrong check digit is 422 without the digits', async () => {
      // The same My Number is the same person: a second registration never makes a second person.
      const dup = await register(MY_NUMBER, '7002', 'ニ');
      expect(JSON.stringify(dup.body)).not.toMatch(/"valueCode":"created"/);
      expect(dup.text).not.toContain(MY_NUMBER);
      const added = await call<OperationOutcome>(`${s.base}/Patient/${withMn.id}`, {
        method: 'PUT',
        json: { ...withMn, identifier: [...(withMn.identifier ?? []), { system: ID_SYSTEMS.myNumber, value: OTHER_MY_NUMBER }] },
      });
      expect(added.status).toBe(422);
      expect(added.text).not.toContain(OTHER_MY_NUMBER);
      const bad = await call<OperationOutcome>(`${s.base}/Patient`, {
        method: 'POST',
        json: { resourceType: 'Patient', identifier: [{ system: ID_SYSTEMS.myNumber, value: '983205673210' }] },
      });
      expect(bad.status).toBe(422);
      expect(bad.text).not.toContain('983205673210');
      const badSearch = await call(`${s.base}/Patient?identifier=${ID_SYSTEMS.myNumber}|983205673210`);
      expect(badSearch.status).toBe(400);
      expect(badSearch.text).not.toContain('983205673210');
    });

    it('is refused on any resource but a Patient', async () => {
      const res = await call(`${s.base}/Coverage`, {
        method: 'POST',
        json: {
          resourceType: 'Coverage',
          status: 'active',
          beneficiary: { reference: 'Patient/x' },
          payor: [{ display: 'x' }],
          identifier: [{ system: ID_SYSTEMS.myNumber, value: OTHER_MY_NUMBER }],
        },
      });
      expect(res.status).toBe(422);
    });

    it('appears in clear in no table, no log line and no response', async () => {
      const cols = await s.testDb.db.query<{ table_schema: string; table_name: string; column_name: string }>(
        `SELECT table_schema, table_name, column_name FROM information_schema.columns
         WHERE table_schema IN ('fhir', 'audit', 'auth', 'registry', 'public')`,
      );
      expect(cols.rows.length).toBeGreaterThan(20);
      for (const c of cols.rows) {
        const { rows } = await s.testDb.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "${c.table_schema}"."${c.table_name}" WHERE "${c.column_name}"::text LIKE $1 OR "${c.column_name}"::text LIKE $2`,
          [`%${MY_NUMBER}%`, `%${OTHER_MY_NUMBER}%`],
        );
        expect(rows[0]?.n, `${c.table_schema}.${c.table_name}.${c.column_name}`).toBe(0);
      }
      const log = logLines.join('');
      expect(log.length).toBeGreaterThan(100);
      expect(log).not.toContain(MY_NUMBER);
      expect(log).not.toContain('983205673210');
      for (const r of responses) {
        expect(r).not.toContain(MY_NUMBER);
        expect(r).not.toContain(OTHER_MY_NUMBER);
      }
    });
  });
});
