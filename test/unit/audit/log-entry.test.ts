/**
 * The access log's entry text as the appender and `medid log verify` build it (entryFormOf,
 * straight from an audit row) is the RFC 8785 form of the entry object (entryOf) the dependency-free
 * verifier canonicalizes — for any row: quotes, control characters, non-BMP characters, absent
 * values; and the field fingerprints name the fields that differ.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changedFields, ENTRY_FIELDS, entryForm, entryFormOf, entryOf } from '../../../src/audit/log-entry.ts';
import { canonicalJson } from '../../../src/audit/verify/log-verify.ts';
import type { AuditRow } from '../../../src/store/audit.ts';

const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const maybe = fc.option(text, { nil: null });

const row: fc.Arbitrary<AuditRow> = fc.record({
  recorded: fc
    .date({ min: new Date(Date.UTC(2000, 0, 1)), max: new Date(Date.UTC(2100, 0, 1)), noInvalidDate: true })
    .map((d) => d.toISOString()),
  eventType: fc.constantFrom('rest' as const, 'login' as const),
  action: fc.constantFrom('C', 'R', 'U', 'D', 'E'),
  subtype: text,
  subtypeIhe: maybe,
  outcome: fc.constantFrom(0, 4, 8, 12),
  outcomeDesc: maybe,
  patientId: maybe,
  clientId: maybe,
  clientName: maybe,
  orgKind: maybe,
  orgCode: maybe,
  purpose: text,
  requestId: maybe,
  remoteAddr: maybe,
  tokenId: maybe,
  entityRef: maybe,
  query: maybe,
  providerKind: maybe,
  providerCode: maybe,
});
const link = fc.option(
  fc.record({ person: text, seq: fc.integer({ min: 1, max: 1_000_000 }), prev: fc.stringMatching(/^[0-9a-f]{64}$/) }),
  { nil: null },
);

describe('access-log entries', () => {
  it('are written straight from the row exactly as the entry object canonicalizes', () => {
    fc.assert(
      fc.property(row, link, fc.string({ minLength: 1, maxLength: 24 }), (r, l, nonce) => {
        const direct = entryFormOf(r, l, nonce);
        const entry = entryOf(r, l, nonce);
        expect(direct.text).toBe(canonicalJson(entry));
        const generic = entryForm(entry);
        expect(generic.text).toBe(direct.text);
        expect(generic.fields?.equals(direct.fields)).toBe(true);
        expect(Object.keys(JSON.parse(direct.text) as object)).toEqual([...ENTRY_FIELDS]);
      }),
    );
  });

  it('refuse a lone surrogate, as RFC 8785 does', () => {
    const r = fc.sample(row, 1)[0];
    expect(() => entryFormOf({ ...r, clientName: 'a\ud800b' }, null, 'n')).toThrow(TypeError);
    expect(() => canonicalJson(entryOf({ ...r, clientName: 'a\ud800b' }, null, 'n'))).toThrow(TypeError);
  });

  it('name the fields a rewritten row changes by their fingerprints', () => {
    const r = fc.sample(row, 1)[0];
    const before = entryFormOf({ ...r, purpose: 'TREAT' }, null, 'n').fields;
    const after = entryFormOf({ ...r, purpose: 'HMARKT' }, null, 'n').fields;
    expect(changedFields(before, after)).toEqual(['purpose']);
    expect(changedFields(before, before)).toEqual([]);
    expect(changedFields(null, after)).toEqual([]);
  });
});
