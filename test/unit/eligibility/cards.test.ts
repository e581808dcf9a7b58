/**
 * The card classes (the code list, the IG's CodeSystem and the profile's invariant say the same
 * codes; stated or the ordinary one of the number's kind), the My Number card path's decision
 * by the day, and the certificate serial's one canonical form.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CodeSystem, Coverage, StructureDefinition } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { ID_SYSTEMS, SYSTEMS } from '../../../src/core/systems.ts';
import { CARD_CLASSES, cardClassOf, statedCardClass } from '../../../src/eligibility/card-class.ts';
import { decideByCard } from '../../../src/eligibility/my-number-card.ts';
import { parseJpkiCertificateSerial } from '../../../src/identifiers/jpki-user-certificate.ts';
import type { CoverageRow } from '../../../src/store/coverages.ts';

const PROFILES = path.resolve(import.meta.dirname, '..', '..', '..', 'profiles');
const read = (p: string): unknown => JSON.parse(fs.readFileSync(path.join(PROFILES, p), 'utf8'));

const coverage = (o: { member?: [string, string]; start: string; end?: string; cls?: string; status?: Coverage['status'] }): Coverage => ({
  resourceType: 'Coverage',
  status: o.status ?? 'active',
  ...(o.member ? { identifier: [{ system: o.member[0], value: o.member[1] }] } : {}),
  ...(o.cls ? { class: [{ type: { coding: [{ system: SYSTEMS.coverageClassType, code: 'card-class' }] }, value: o.cls }] } : {}),
  beneficiary: { reference: 'Patient/p' },
  payor: [{ display: 'x' }],
  period: { start: o.start, ...(o.end ? { end: o.end } : {}) },
});
const row = (id: string, c: Coverage): CoverageRow => ({ kind: 'card', id, patientId: 'p', content: JSON.stringify(c) });
const INSURED: [string, string] = [ID_SYSTEMS.insuredMemberId, '06138093:1:100:00'];
const WELFARE: [string, string] = [ID_SYSTEMS.publicPayerMemberId, '12131017::1234567:'];
const NANBYO: [string, string] = [ID_SYSTEMS.publicPayerMemberId, '54130019::0054321:'];

describe('card classes', () => {
  it('are the same codes in the code list, the IG CodeSystem and the profile invariant', () => {
    const cs = read('CodeSystem/card-class.json') as CodeSystem;
    expect(cs.url).toBe(SYSTEMS.cardClass);
    expect(cs.concept?.map((c) => [c.code, c.display])).toEqual(Object.entries(CARD_CLASSES));
    const sd = read('StructureDefinition/medid-coverage.json') as StructureDefinition;
    const inv = sd.differential?.element.flatMap((e) => e.constraint ?? []).find((c) => c.key === 'medid-cov-3');
    const pattern = new RegExp(/matches\('(.*)'\)/.exec(inv?.expression ?? '')?.[1] ?? 'x^');
    for (const code of Object.keys(CARD_CLASSES)) expect(pattern.test(code), code).toBe(true);
    for (const code of ['00', '08', '1', 'medical', 'public-recipient2']) expect(pattern.test(code), code).toBe(false);
    expect((read('CodeSystem/coverage-class-type.json') as CodeSystem).concept?.map((c) => c.code)).toEqual(['card-class']);
  });

  it('is the class stated, else the ordinary card of the number’s kind; an unknown stated code is no class', () => {
    expect(cardClassOf(coverage({ start: '2026-01-01', cls: '03' }), ID_SYSTEMS.insuredMemberId, '06138093')).toBe('03');
    expect(cardClassOf(coverage({ start: '2026-01-01' }), ID_SYSTEMS.insuredMemberId, '06138093')).toBe('01');
    expect(cardClassOf(coverage({ start: '2026-01-01' }), ID_SYSTEMS.publicPayerMemberId, '12131017')).toBe('medical-aid');
    expect(cardClassOf(coverage({ start: '2026-01-01' }), ID_SYSTEMS.publicPayerMemberId, '54130019')).toBe('public-recipient');
    expect(statedCardClass(coverage({ start: '2026-01-01', cls: '99' }))).toBeUndefined();
    expect(cardClassOf(coverage({ start: '2026-01-01', cls: '99' }), ID_SYSTEMS.insuredMemberId, '06138093')).toBe('01');
  });
});

describe('the My Number card path, by the day', () => {
  const holder = { patientId: 'p', notAfter: '2030-01-01', revoked: false };
  const rows = [
    row('pub', coverage({ member: NANBYO, start: '2026-01-01', end: '2026-12-31' })),
    row('old', coverage({ member: INSURED, start: '2010-04-01', end: '2026-03-31' })),
    row('new', coverage({ member: [ID_SYSTEMS.insuredMemberId, '00138156:7:1:00'], start: '2026-04-01', cls: '03' })),
    row('welfare', coverage({ member: WELFARE, start: '2030-01-01' })),
  ];

  it('answers every coverage in force, insured first, the latest started first, each with its class', () => {
    const d = decideByCard(holder, rows, '2026-04-01');
    expect(d).toMatchObject({ validity: '1', holder: 'p' });
    expect(d.coverages.map((c) => [c.candidate.id, c.validity, c.cardClass])).toEqual([
      ['new', '1', '03'],
      ['pub', '1', 'public-recipient'],
    ]);
    // The day before, the old card was still in force too.
    expect(decideByCard(holder, rows, '2026-03-31').coverages.map((c) => c.candidate.id)).toEqual(['old', 'pub']);
  });

  it('answers the latest that ended when none is in force, and not found without any by then', () => {
    const ended = [rows[1], row('cancelled', coverage({ member: WELFARE, start: '2020-01-01', status: 'cancelled' }))];
    const d = decideByCard(holder, ended, '2026-05-01');
    expect(d.validity).toBe('2');
    expect(d.coverages.map((c) => [c.candidate.id, c.validity, c.candidate.coverage.period?.end])).toEqual([['old', '2', '2026-03-31']]);
    expect(decideByCard(holder, [rows[3]], '2026-05-01')).toMatchObject({ validity: '4', holder: 'p', coverages: [] });
    expect(decideByCard(holder, [], '2026-05-01')).toEqual({ validity: '4', holder: 'p', coverages: [] });
  });

  it('refuses a certificate unknown, revoked or past its last day (the last day still counts)', () => {
    expect(decideByCard(undefined, [], '2026-04-01')).toMatchObject({ validity: '4', holder: undefined, refusal: 'unknown' });
    expect(decideByCard({ ...holder, revoked: true }, rows, '2026-04-01')).toMatchObject({
      validity: '4',
      holder: 'p',
      refusal: 'revoked',
    });
    const last = { ...holder, notAfter: '2026-04-01' };
    expect(decideByCard(last, rows, '2026-04-01').validity).toBe('1');
    expect(decideByCard(last, rows, '2026-04-02')).toMatchObject({ validity: '4', refusal: 'expired', coverages: [] });
  });
});

describe('a certificate serial', () => {
  it('has one canonical form however a reader prints it, and its messages never repeat it', () => {
    for (const typed of ['00:8a:3f:11', '8A3F11', '8a 3f 11', '0x8A3F11', '００８Ａ３Ｆ１１'])
      expect(parseJpkiCertificateSerial(typed)).toEqual({ ok: true, value: '8A3F11' });
    for (const bad of ['', '0', '00:00', 'xyz', '12.34', 'A'.repeat(41)]) {
      const r = parseJpkiCertificateSerial(bad);
      expect(r.ok, bad).toBe(false);
      if (!r.ok && bad.length > 2) expect(r.message).not.toContain(bad);
    }
  });
});
