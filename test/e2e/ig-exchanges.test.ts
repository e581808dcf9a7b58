/**
 * The IG's request/response examples (ig/exchanges/) are what medid answers today: they are
 * recorded again here, on a fresh database, and must equal the committed ones. Every
 * OperationDefinition medid publishes has at least one, calling that operation.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { OperationDefinition } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordExchanges } from '../../scripts/ig-exchanges.ts';
import type { OperationExamples, Recording } from '../../scripts/ig-exchanges.ts';
import { recordingFiles } from '../../scripts/record-ig-exchanges.ts';
import { openTestDb } from '../helpers/db.ts';
import type { TestDb } from '../helpers/db.ts';
import { PROFILES_DIR } from '../helpers/server.ts';

const IG = path.resolve(import.meta.dirname, '..', '..', 'ig');

describe('the recorded operation examples', () => {
  let db: TestDb;
  let fresh: Recording;
  beforeAll(async () => {
    db = await openTestDb('pglite');
    fresh = await recordExchanges(db.db);
  }, 120_000);
  afterAll(async () => {
    await db.close();
  });

  it('equal what the server answers now (else: npm run ig:exchanges, and look at the diff)', () => {
    const files = recordingFiles(fresh);
    const committed = fs.readdirSync(path.join(IG, 'exchanges')).map((f) => `exchanges/${f}`);
    expect(committed.sort()).toEqual([...files.keys()].sort());
    for (const [f, text] of files) {
      expect(JSON.parse(fs.readFileSync(path.join(IG, f), 'utf8')), f).toEqual(JSON.parse(text));
    }
  });

  it('cover every OperationDefinition, each calling its operation, with synthetic data only', () => {
    const dir = path.join(PROFILES_DIR, 'OperationDefinition');
    const defs = fs.readdirSync(dir).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as OperationDefinition);
    expect(defs.length).toBeGreaterThanOrEqual(12);
    for (const d of defs) {
      const x = JSON.parse(fs.readFileSync(path.join(IG, 'exchanges', `${d.id ?? ''}.json`), 'utf8')) as OperationExamples;
      expect(x.definition).toBe(d.url);
      expect(x.exchanges.length, d.id).toBeGreaterThan(0);
      expect(x.exchanges[0]?.request.url, d.id).toContain(`$${d.code}`);
      for (const e of x.exchanges) {
        expect(e.response.status, `${d.id ?? ''}: ${e.title}`).toBeLessThan(300);
        expect(e.request.headers['Authorization']).toBe('Bearer $TOKEN');
      }
    }
    // No token, no My Number, nothing but the test numbers and fictional names.
    const all = fs.readdirSync(path.join(IG, 'exchanges')).map((f) => fs.readFileSync(path.join(IG, 'exchanges', f), 'utf8'));
    for (const text of all) {
      expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
      expect(text).not.toContain('/sid/my-number');
    }
  });
});
