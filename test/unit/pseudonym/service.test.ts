/** The pseudonymization service over a real database: the closed domain list, and database clients bound to it. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientDirectory, RegistrationError } from '../../../src/auth/clients.ts';
import { PseudonymDomainList } from '../../../src/pseudonym/domain-list.ts';
import { FilePseudonymKeys } from '../../../src/pseudonym/file-keys.ts';
import { PseudonymService, UnknownDomainError } from '../../../src/pseudonym/service.ts';
import type { ClientRow } from '../../../src/store/clients.ts';
import { openTestDb, testDrivers } from '../../helpers/db.ts';
import type { TestDb } from '../../helpers/db.ts';

const CODE_SYSTEM = path.resolve(import.meta.dirname, '../../../profiles/CodeSystem/pseudonym-domain.json');

describe.each(testDrivers())('the pseudonymization service on %s', (driver) => {
  let t: TestDb;
  let ps: PseudonymService;
  beforeAll(async () => {
    t = await openTestDb(driver);
    ps = new PseudonymService({ keys: new FilePseudonymKeys(crypto.randomBytes(32)), domains: new PseudonymDomainList(t.db) });
  });
  afterAll(async () => {
    await t.close();
  });

  it('starts with the domains the IG publishes (CodeSystem pseudonym-domain)', async () => {
    const cs = JSON.parse(fs.readFileSync(CODE_SYSTEM, 'utf8')) as { concept: { code: string; display: string }[] };
    expect((await ps.domains.list()).map((d) => [d.code, d.name]).sort()).toEqual(cs.concept.map((c) => [c.code, c.display]).sort());
  });

  it('refuses a domain not on the list, and knows one another node added without a restart', async () => {
    const kid = crypto.randomBytes(16);
    await expect(ps.pseudonymOf(kid, 'cancer-study')).rejects.toThrow(UnknownDomainError);
    expect(await new PseudonymDomainList(t.db).add({ code: 'cancer-study', name: 'がん研究' })).toBe(true);
    expect(await ps.pseudonymOf(kid, 'cancer-study')).toMatch(/^v1\./);
  });

  it('gives one person one pseudonym per domain, the same every time, and back to the person key for linkage', async () => {
    const kids = Array.from({ length: 50 }, () => crypto.randomBytes(16));
    const ndb = await ps.pseudonymsOf(kids, 'ndb');
    expect(await ps.pseudonymOf(kids[0] as Buffer, 'ndb')).toBe(ndb[0]);
    const kaigo = await ps.pseudonymsOf(kids, 'kaigo');
    expect(ndb.filter((p) => kaigo.includes(p))).toEqual([]);
    for (const [i, p] of ndb.entries()) expect((await ps.kidOf(p, 'ndb'))?.equals(kids[i] as Buffer)).toBe(true);
    expect(await ps.kidOf('v1.not-a-pseudonym', 'ndb')).toBeUndefined();
    await expect(ps.pseudonymOf(crypto.randomBytes(15), 'ndb')).rejects.toThrow(RangeError);
  });

  it('binds a database client to a domain: an unknown code is refused at registration, a known one accepted', async () => {
    const clients = new ClientDirectory(t.db, (code) => ps.domains.has(code));
    const row = (code: string): ClientRow => ({
      clientId: `db-${code}`,
      name: code,
      jwks: null,
      jwksUri: 'https://db.example/jwks.json',
      scope: 'system/Patient.rs',
      orgKind: 'database',
      orgCode: code,
      purposes: [],
      status: 'active',
    });
    await expect(clients.register(row('nodomain'))).rejects.toThrow(RegistrationError);
    expect(await clients.get('db-nodomain')).toBeUndefined();
    await clients.register(row('nanbyo'));
    expect((await clients.get('db-nanbyo'))?.org).toEqual({ kind: 'database', code: 'nanbyo' });
  });

  it('finds database clients registered before their domain existed, and will not enable one until it does', async () => {
    const before = new ClientDirectory(t.db, () => Promise.resolve(true));
    await before.register({
      clientId: 'db-old',
      name: 'old',
      jwks: null,
      jwksUri: 'https://old.example/jwks.json',
      scope: 'system/Patient.rs',
      orgKind: 'database',
      orgCode: 'old-study',
      purposes: [],
      status: 'disabled',
    });
    const clients = new ClientDirectory(t.db, (code) => ps.domains.has(code));
    await expect(clients.setActive('db-old', true)).rejects.toThrow(RegistrationError);
    await before.setActive('db-old', true);
    expect((await clients.withoutDomain()).map((c) => c.clientId)).toEqual(['db-old']);
    await ps.domains.add({ code: 'old-study', name: '旧研究' });
    expect(await clients.withoutDomain()).toEqual([]);
    expect(await clients.setActive('db-old', true)).toBe(true);
  });
});
