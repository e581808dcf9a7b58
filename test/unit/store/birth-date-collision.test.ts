/** u for an exact birth date comes from the whole registry, not from a sample that expects less than one agreeing pair. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimate } from '../../../src/mpi/estimate.ts';
import { birthDateCollision } from '../../../src/store/mpi.ts';
import { openTestDb, testDrivers } from '../../helpers/db.ts';
import type { TestDb } from '../../helpers/db.ts';

describe.each(testDrivers())('birth-date collision on %s', (driver) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb(driver);
  });
  afterAll(async () => {
    await t.close();
  });

  it('is undefined on an empty registry, and Σ n(n−1) / N(N−1) over the birth dates otherwise', async () => {
    expect(await birthDateCollision(t.db)).toBeUndefined();
    // 6 persons: three born 1980-01-01, two 1990-02-02, one 2000-03-03, and one without a birth date.
    const dates = ['1980-01-01', '1980-01-01', '1980-01-01', '1990-02-02', '1990-02-02', '2000-03-03'];
    await t.db.query(
      `INSERT INTO mpi.features (patient_id, features) SELECT 'p' || i, jsonb_build_object('b', d) FROM unnest($1::text[]) WITH ORDINALITY AS u(d, i)`,
      [dates],
    );
    await t.db.query(`INSERT INTO mpi.features (patient_id, features) VALUES ('nobirth', '{"fk":"ヤマダ"}'::jsonb)`);
    expect(await birthDateCollision(t.db)).toBeCloseTo((3 * 2 + 2 * 1) / (6 * 5), 10);
  });

  it('replaces the sampled u of an exact birth date in the estimate, and only that', () => {
    const f = { birthDate: '1980-01-01', sex: 'male' };
    const g = { birthDate: '1990-02-02', sex: 'female' };
    const random: [object, object][] = Array.from({ length: 200 }, (_, i) => (i % 50 === 0 ? [f, f] : [f, g]));
    const sampled = estimate(random, [], 1000).weights.u;
    const whole = estimate(random, [], 1000, 3e-5).weights.u;
    expect(sampled.birthDate.exact).toBeGreaterThan(0.01);
    expect(whole.birthDate.exact).toBe(3e-5);
    expect(whole.sex).toEqual(sampled.sex);
  });
});
