/**
 * Collusion (R15, 結託性の排除; issue 16's test): two databases' pseudonymized exports of the
 * same 10,000 persons, made by the code the server runs (pseudonym/research-export.ts), then
 * attacked the way two colluding databases would — by comparing identifiers, by comparing the
 * same person's two pseudonyms, and by joining the releases on every field they share.
 */
import type { Coverage, Patient } from '@medplum/fhirtypes';
import crypto from 'node:crypto';
import { base32crockford } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { ID_SYSTEMS } from '../../../src/core/systems.ts';
import type { PseudonymDomainList } from '../../../src/pseudonym/domain-list.ts';
import { FilePseudonymKeys } from '../../../src/pseudonym/file-keys.ts';
import { writeResearchExport } from '../../../src/pseudonym/research-export.ts';
import type { ResearchPerson, ResearchType } from '../../../src/pseudonym/research-export.ts';
import { PseudonymService } from '../../../src/pseudonym/service.ts';

const N = 10_000;
const K = 5;
const TODAY = '2026-04-10';

/** A seeded generator, so a failure can be reproduced. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 10,000 persons: birth dates over 95 years, both sexes, 300 postal areas, six insurer kinds. */
function population(seed: number): ResearchPerson[] {
  const r = rng(seed);
  const payers = [
    ['00131011', 0.25],
    ['01130012', 0.3],
    ['06138093', 0.2],
    ['31130014', 0.08],
    ['39131015', 0.15],
    ['02130016', 0.02],
  ] as const;
  const payer = (): string => {
    let x = r();
    for (const [p, w] of payers) if ((x -= w) < 0) return p;
    return payers[0][0];
  };
  return Array.from({ length: N }, (_, i) => {
    const born = new Date(Date.UTC(1930, 0, 1) + Math.floor(r() * 95 * 365.25) * 86_400_000).toISOString().slice(0, 10);
    const area = String(100 + Math.floor(r() * 300)).padStart(3, '0');
    const patient: Patient = {
      resourceType: 'Patient',
      id: `p-${i}`,
      identifier: [{ system: ID_SYSTEMS.insuredMemberId, value: `X:1:${i}:00` }],
      name: [{ family: '試験', given: [`${i}`] }],
      gender: r() < 0.5 ? 'male' : 'female',
      birthDate: born,
      address: [{ postalCode: `${area}-${String(Math.floor(r() * 10_000)).padStart(4, '0')}`, text: '東京都' }],
      ...(r() < 0.01 ? { deceasedDateTime: '2025-01-01' } : {}),
    };
    return {
      patientId: `p-${i}`,
      kid: crypto.randomBytes(16),
      content: JSON.stringify(patient),
      numbers: [{ system: ID_SYSTEMS.insuredMemberId, payer: payer(), start: '2020-04-01', end: null }],
    };
  });
}

const domains = { has: () => Promise.resolve(true) } as unknown as PseudonymDomainList;

async function exportOf(
  persons: readonly ResearchPerson[],
  service: PseudonymService,
  domain: string,
): Promise<{ patients: Patient[]; coverages: Coverage[]; summary: Awaited<ReturnType<typeof writeResearchExport>> }> {
  const lines: Record<ResearchType, string[]> = { Patient: [], Coverage: [] };
  function* pages(): Generator<ResearchPerson[]> {
    for (let i = 0; i < persons.length; i += 1000) yield persons.slice(i, i + 1000);
  }
  const summary = await writeResearchExport(
    pages(),
    service,
    {
      domain: { code: domain, name: domain, birthDate: 'year-month' },
      k: K,
      types: ['Patient', 'Coverage'],
      today: TODAY,
      linesPerFile: 5000,
    },
    { file: (type, l) => Promise.resolve(void lines[type].push(...l)) },
  );
  return {
    patients: lines.Patient.map((l) => JSON.parse(l) as Patient),
    coverages: lines.Coverage.map((l) => JSON.parse(l) as Coverage),
    summary,
  };
}

/** Every string value in a resource (ids, identifier values, references, codes…). */
function strings(v: unknown, out: Set<string>): Set<string> {
  if (typeof v === 'string') out.add(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) strings(x, out);
  return out;
}

describe('two databases colluding', () => {
  const persons = population(20261201);
  const service = new PseudonymService({ keys: new FilePseudonymKeys(crypto.randomBytes(32)), domains });

  it('share no identifier value: ids, identifiers and references differ for every person', async () => {
    const a = await exportOf(persons, service, 'ndb');
    const b = await exportOf(persons, service, 'kaigo');
    expect(a.summary.persons).toBe(N);
    const idsOf = (x: typeof a): Set<string> => {
      const s = new Set<string>();
      for (const p of x.patients) strings([p.id, p.identifier], s);
      for (const c of x.coverages) strings([c.id, c.beneficiary], s);
      return s;
    };
    const ia = idsOf(a);
    const ib = idsOf(b);
    const shared = [...ia].filter((v) => ib.has(v) && !v.startsWith(ID_SYSTEMS.pseudonymPrefix));
    expect(shared).toEqual([]);
    // Nothing of the registry's either: no Patient id, member id, name or full postal code.
    const all = [...ia, ...ib, ...strings([a.patients, b.patients], new Set())].join('\n');
    for (const p of persons.slice(0, 200)) {
      expect(all).not.toContain(`"${p.patientId}"`);
      expect(all).not.toMatch(new RegExp(`\\b${p.patientId}\\b`));
    }
    expect(all).not.toContain('X:1:');
    expect(all).not.toContain('試験');
  });

  it('the same person’s two pseudonyms share no prefix beyond chance and pass a bit-independence check', async () => {
    const a = await service.pseudonymsOf(
      persons.map((p) => p.kid),
      'ndb',
    );
    const b = await service.pseudonymsOf(
      persons.map((p) => p.kid),
      'kaigo',
    );
    const bits = (p: string): Uint8Array => base32crockford.decode(p.slice(3));
    const agree = new Array<number>(128).fill(0);
    let firstCharShared = 0;
    let longest = 0;
    for (let i = 0; i < N; i++) {
      const x = a[i];
      const y = b[i];
      let l = 3;
      while (l < x.length && x[l] === y[l]) l++;
      longest = Math.max(longest, l - 3);
      if (l > 3) firstCharShared++;
      const bx = bits(x);
      const by = bits(y);
      for (let j = 0; j < 128; j++) if (((bx[j >> 3] ?? 0) >> (7 - (j & 7))) % 2 === ((by[j >> 3] ?? 0) >> (7 - (j & 7))) % 2) agree[j]++;
    }
    // A shared first character happens by chance 1 time in 32 (σ ≈ 0.0018 at 10,000); 6 shared characters, 1 in 10^9.
    expect(Math.abs(firstCharShared / N - 1 / 32)).toBeLessThan(4 * Math.sqrt(((1 / 32) * (31 / 32)) / N));
    expect(longest).toBeLessThan(6);
    // Each bit of one pseudonym agrees with the same bit of the other half the time (σ = 0.005): 4σ.
    for (const [j, n] of agree.entries()) expect(Math.abs(n / N - 0.5), `bit ${j}`).toBeLessThan(0.02);
  });

  it('joining the two releases on every field they share links at most 1/k of persons uniquely', async () => {
    const a = await exportOf(persons, service, 'ndb');
    const b = await exportOf(persons, service, 'kaigo');
    const keyed = (x: typeof a): Map<string, number> => {
      const kind = new Map(x.coverages.map((c) => [c.beneficiary?.reference, c.type?.coding?.[0]?.code]));
      const m = new Map<string, number>();
      for (const p of x.patients) {
        const key = JSON.stringify([
          p.gender,
          p.birthDate,
          p.address?.[0]?.postalCode,
          p.deceasedBoolean ?? false,
          kind.get(`Patient/${p.id ?? ''}`),
        ]);
        m.set(key, (m.get(key) ?? 0) + 1);
      }
      return m;
    };
    const ka = keyed(a);
    const kb = keyed(b);
    // A person is linked uniquely when their key names exactly one record on each side.
    let unique = 0;
    for (const [key, n] of ka) if (n === 1 && kb.get(key) === 1) unique++;
    expect(unique).toBeLessThanOrEqual(a.patients.length / K);
    // Every released key is shared by k or more on each side (the guard, over exactly what is released)…
    const smallest = Math.min(...[...ka.values()], ...[...kb.values()]);
    expect(smallest).toBeGreaterThanOrEqual(K);
    // …and the guard gave up only part of the population.
    expect(a.summary.released).toBeGreaterThan(N * 0.5);
    expect(a.summary.released + a.summary.suppressed).toBe(N);
  });
});
