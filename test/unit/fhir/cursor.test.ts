import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeCursor, encodeCursor } from '../../../src/fhir/search/cursor.ts';
import { isOutcomeError } from '../../../src/core/outcome.ts';

describe('cursors', () => {
  it('round-trip any position', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('next' as const, 'previous' as const),
        fc.nat(),
        fc.array(fc.option(fc.string(), { nil: null }), { maxLength: 3 }),
        (direction, seq, values) => {
          expect(decodeCursor(encodeCursor({ direction, seq, values }))).toEqual({ direction, seq, values });
        },
      ),
    );
  });
  it('refuse anything the server did not issue with a 400 outcome', () => {
    for (const bad of [
      '',
      'abc',
      Buffer.from('["x",1]').toString('base64url'),
      Buffer.from('["n","1"]').toString('base64url'),
      Buffer.from('["n",1,5]').toString('base64url'),
    ]) {
      try {
        decodeCursor(bad);
        expect.unreachable(bad);
      } catch (e) {
        expect(isOutcomeError(e)).toBe(true);
      }
    }
  });
});
