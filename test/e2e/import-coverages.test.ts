/**
 * `medid import` loading public-payer persons and their coverages, as a welfare office's (or an
 * insurer's) operator runs it: a CSV of registrations with public_payer_number and
 * recipient_number, then an NDJSON file whose Coverage lines name their beneficiary by the
 * member id (an insurer's file cannot know medid's Patient ids) — one line after the
 * registration in the same file. Each Coverage ends up referencing the one Patient holding that
 * id; a Coverage naming nobody is reported beside the input; running again changes nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Coverage, Patient } from '@medplum/fhirtypes';
import { afterAll, describe, expect, it } from 'vitest';
import { ID_SYSTEMS, SYSTEMS } from '../../src/core/systems.ts';
import { parsePublicPayerNumber } from '../../src/identifiers/public-payer-number.ts';
import { openDb } from '../../src/store/open.ts';
import { openTestDb, testDrivers } from '../helpers/db.ts';
import { medid } from '../helpers/medid-process.ts';

const payer = (() => {
  for (let d = 0; d <= 9; d++) if (parsePublicPayerNumber(`1213101${d}`).ok) return `1213101${d}`;
  throw new Error('no check digit');
})();

const summaryOf = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, number | string | null>;

describe.each(testDrivers())('medid import of public-payer coverages on %s', (driver) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-import-coverages-'));
  const dbs: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const d of dbs) await d.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const secret = path.join(dir, 'secret');
  fs.writeFileSync(secret, Buffer.alloc(32, 9).toString('base64'));

  const persons = path.join(dir, 'welfare.csv');
  fs.writeFileSync(
    persons,
    [
      'record,public_payer_number,recipient_number,family_kanji,given_kanji,family_kana,given_kana,birth_date,sex,valid_from',
      `w1,${payer},1234567,佐藤,花子,サトウ,ハナコ,1951-12-03,female,2020-10-01`,
      `w2,${payer},２３４５６７,鈴木,一郎,スズキ,イチロウ,昭和30年5月5日,male,2021-04-01`,
    ].join('\n') + '\n',
  );
  const coverage = (recipient: string, start: string, byTyped = recipient): Coverage => ({
    resourceType: 'Coverage',
    status: 'active',
    identifier: [{ system: ID_SYSTEMS.publicPayerMemberId, value: `${payer}::${recipient}:` }],
    class: [{ type: { coding: [{ system: SYSTEMS.coverageClassType, code: 'card-class' }] }, value: 'medical-aid' }],
    subscriberId: recipient,
    // By the member id, as the desk would type it: the search normalizes it.
    beneficiary: { identifier: { system: ID_SYSTEMS.publicPayerMemberId, value: `${payer}::${byTyped}:` } },
    payor: [{ identifier: { system: ID_SYSTEMS.publicPayerNumber, value: payer } }],
    period: { start },
  });
  const coverages = path.join(dir, 'welfare-coverages.ndjson');
  fs.writeFileSync(
    coverages,
    [
      coverage('1234567', '2020-10-01'),
      coverage('0234567', '2021-04-01', '２３４５６７'),
      // A third person registered in this very file, then their Coverage on the next line.
      {
        record: 'w3',
        public_payer_number: payer,
        recipient_number: '3456789',
        family_kana: 'タナカ',
        given_kana: 'ミキ',
        birth_date: '1970-07-07',
        sex: 'female',
      },
      coverage('3456789', '2022-01-01'),
      // Naming nobody: reported, nothing written.
      coverage('9999999', '2022-01-01'),
    ]
      .map((x) => JSON.stringify(x))
      .join('\n') + '\n',
  );

  const target = async (): Promise<{ env: Record<string, string>; query: <R>(sql: string) => Promise<R[]> }> => {
    const dataDir = path.join(dir, 'data');
    if (driver === 'pglite')
      return {
        env: { MEDID_DATA_DIR: dataDir, MEDID_SECRET_FILE: secret },
        query: async <R>(sql: string) => {
          const db = await openDb({ databaseUrl: undefined, dataDir, poolSize: 1 });
          try {
            return (await db.query<R>(sql)).rows;
          } finally {
            await db.close();
          }
        },
      };
    const t = await openTestDb('pg');
    dbs.push(t);
    return {
      env: { MEDID_DATA_DIR: dataDir, MEDID_SECRET_FILE: secret, DATABASE_URL: t.url as string },
      query: async <R>(sql: string) => (await t.db.query<R>(sql)).rows,
    };
  };

  it('loads the persons, then their coverages referencing them; reports the one naming nobody; changes nothing when run again', async () => {
    const t = await target();
    const reg = medid(['import', persons], t.env);
    expect(reg.status, reg.stderr).toBe(0);
    expect(summaryOf(reg.stdout)).toMatchObject({ records: 2, created: 2 });
    const first = medid(['import', coverages], t.env);
    expect(first.status, first.stderr).toBe(1);
    expect(summaryOf(first.stdout)).toMatchObject({ records: 5, created: 4, error: 1 });
    const report = fs.readFileSync(`${coverages}.errors.ndjson`, 'utf8').trim().split('\n');
    expect(report).toHaveLength(1);
    expect(JSON.parse(report[0] ?? '{}')).toMatchObject({ line: 5, issues: [{ rule: 'import.resource', expression: 'Coverage' }] });
    expect(report[0]).toMatch(/names no registered person/);
    expect(report[0]).not.toContain('9999999');

    const rows = await t.query<{ resource_type: string; content: string }>(
      `SELECT resource_type, content FROM fhir.resource WHERE resource_type IN ('Patient', 'Coverage') AND NOT deleted`,
    );
    const patients = rows.filter((r) => r.resource_type === 'Patient').map((r) => JSON.parse(r.content) as Patient);
    const covs = rows.filter((r) => r.resource_type === 'Coverage').map((r) => JSON.parse(r.content) as Coverage);
    expect(patients).toHaveLength(3);
    expect(covs).toHaveLength(3);
    for (const c of covs) {
      const member = c.identifier?.[0]?.value;
      const holder = patients.find((p) => p.identifier?.some((i) => i.system === ID_SYSTEMS.publicPayerMemberId && i.value === member));
      expect(holder, member).toBeDefined();
      expect(c.beneficiary.reference).toBe(`Patient/${holder?.id ?? ''}`);
    }
    expect(covs.map((c) => c.identifier?.[0]?.value).sort()).toEqual([`${payer}::0234567:`, `${payer}::1234567:`, `${payer}::3456789:`]);

    const again = medid(['import', coverages], t.env);
    expect(summaryOf(again.stdout)).toMatchObject({ records: 5, created: 0, updated: 0, error: 1 });
  }, 120_000);
});
