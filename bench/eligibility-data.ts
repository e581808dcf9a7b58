/** What the eligibility benchmarks send and seed: Coverages of synthetic persons and hospitals' confirmation requests. */
import crypto from 'node:crypto';
import path from 'node:path';
import type { Coverage, CoverageEligibilityRequest } from '@medplum/fhirtypes';
import { EXTENSIONS, ID_SYSTEMS } from '../src/core/systems.ts';
import { ROOT } from './lib.ts';
import type { BenchAuth } from './lib.ts';
import { INSURERS } from './match-population.ts';
import type { Person } from './match-population.ts';
import { rng } from './synthetic.ts';
import { FilePseudonymKeys } from '../src/pseudonym/file-keys.ts';

/** What a card carries. */
export type Card = Pick<Person, 'birthDate' | 'insurer' | 'symbol' | 'number' | 'branch'>;

const JPC = EXTENSIONS.jpCoverageInsuredPerson;
/** The medical institution that confirms in the benchmarks. */
export const HOSPITAL = '1310000001';

/** A Coverage for the card `insurer:symbol:number:branch` of a person. */
export function coverage(p: Person, patientId: string, insurer: string, number: string, start: string, end?: string): Coverage {
  return {
    resourceType: 'Coverage',
    status: 'active',
    identifier: [{ system: ID_SYSTEMS.insuredMemberId, value: `${insurer}:${p.symbol}:${number}:${p.branch}` }],
    extension: [
      { url: `${JPC}Symbol`, valueString: p.symbol },
      { url: `${JPC}Number`, valueString: number },
      { url: `${JPC}SubNumber`, valueString: p.branch },
    ],
    beneficiary: { reference: `Patient/${patientId}` },
    payor: [{ identifier: { system: ID_SYSTEMS.insurerNumber, value: insurer } }],
    period: { start, ...(end ? { end } : {}) },
  };
}

/** An eligibility confirmation request for a card on a day, as a hospital sends it. */
export function request(p: Card, day: string): CoverageEligibilityRequest {
  return {
    resourceType: 'CoverageEligibilityRequest',
    status: 'active',
    purpose: ['validation'],
    created: `${day}T09:00:00+09:00`,
    contained: [
      { resourceType: 'Patient', id: 'p', birthDate: p.birthDate },
      {
        resourceType: 'Coverage',
        id: 'c',
        status: 'active',
        beneficiary: { reference: '#p' },
        payor: [{ display: 'card' }],
        extension: [
          { url: `${JPC}Symbol`, valueString: p.symbol },
          { url: `${JPC}Number`, valueString: p.number },
          { url: `${JPC}SubNumber`, valueString: p.branch },
        ],
      },
    ],
    patient: { reference: '#p' },
    servicedDate: day,
    insurer: { identifier: { system: ID_SYSTEMS.insurerNumber, value: p.insurer } },
    insurance: [{ coverage: { reference: '#c' } }],
  };
}

/**
 * Coverages for registered persons, set-based through the same repository the server uses:
 * every person's card, and for half of them a second, newer one (half of those short-term).
 * Returns how many were written.
 */
export async function seedCoverages(
  url: string,
  dir: string,
  auth: Pick<BenchAuth, 'keyFile' | 'secretFile'>,
  registered: readonly { p: Person; id: string }[],
): Promise<number> {
  const { openDb } = await import('../src/store/open.ts');
  const { createApp } = await import('../src/app.ts');
  const { loadDefinitions } = await import('../src/fhir/definitions/index.ts');
  const { loadConfig } = await import('../src/config.ts');
  const { loadServerKeys } = await import('../src/auth/keys.ts');
  const { createLogger } = await import('../src/core/logger.ts');
  const { analyzeAfterBulkLoad } = await import('../src/store/health.ts');
  const db = await openDb({ databaseUrl: url, dataDir: dir, poolSize: 2 });
  const app = createApp({
    config: loadConfig({ DATABASE_URL: url, MEDID_DATA_DIR: dir, MEDID_SECRET_FILE: auth.secretFile, MEDID_AUDIT: 'off' }),
    db,
    defs: await loadDefinitions(path.join(ROOT, 'profiles')),
    logger: createLogger('warn'),
    keys: (await loadServerKeys({ file: auth.keyFile, dataDir: dir })).keys,
    registrySecret: Buffer.alloc(32),
    pseudonymKeys: new FilePseudonymKeys(Buffer.alloc(32, 1)),
  });
  const r = rng(5);
  let n = 0;
  try {
    for (let i = 0; i < registered.length; i += 500) {
      const chunk = registered.slice(i, i + 500).flatMap(({ p, id }) => {
        const covs = [coverage(p, id, p.insurer, p.number, '2024-04-01')];
        if (r() < 0.5) {
          const next = INSURERS[(INSURERS.indexOf(p.insurer) + 1) % INSURERS.length];
          covs.push(coverage(p, id, next, `9${p.number}`, '2026-04-01', r() < 0.5 ? '2026-12-31' : undefined));
        }
        return covs.map((resource) => ({ id: crypto.randomUUID(), resource }));
      });
      await app.context.uow.resources.transaction((repo) => repo.createManyTrusted('Coverage', chunk));
      n += chunk.length;
      if (process.env['BENCH_PROGRESS'] === '1' && i % 100_000 === 0) process.stderr.write(`coverages: ${n}\n`);
    }
    await analyzeAfterBulkLoad(db);
  } finally {
    await db.close();
  }
  return n;
}
