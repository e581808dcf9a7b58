import { describe, expect, it } from 'vitest';
import type { SearchParam } from '../../../src/fhir/definitions/search-params.ts';
import { keysetSql, whereSql } from '../../../src/store/search-sql.ts';
import { Sql } from '../../../src/store/sql.ts';

const identifier: SearchParam = {
  code: 'identifier',
  type: 'token',
  url: 'u',
  description: undefined,
  expression: 'Patient.identifier',
  targets: [],
  extract: () => [],
};
const family: SearchParam = {
  code: 'family',
  type: 'string',
  url: 'u',
  description: undefined,
  expression: 'Patient.name.family',
  targets: [],
  extract: () => [],
};

describe('search SQL', () => {
  it('a token criterion is one EXISTS led by resource_type and param, values as parameters', () => {
    const b = new Sql();
    const sql = whereSql(b, 'r', 'Patient', [
      { kind: 'token', param: identifier, not: false, values: [{ system: 'urn:a', code: '1', anySystem: false }] },
    ]);
    expect(sql).toBe(
      'r.resource_type = $1 AND NOT r.deleted AND EXISTS (SELECT 1 FROM fhir.sp_token x1 WHERE x1.res = r.seq AND x1.resource_type = $2 AND x1.param = $3 AND ((x1.code = $4 AND x1.system = $5)))',
    );
    expect(b.params).toEqual(['Patient', 'Patient', 'identifier', '1', 'urn:a']);
  });
  it('string prefixes are index ranges, so LIKE wildcards in the value match only themselves', () => {
    const b = new Sql();
    whereSql(b, 'r', 'Patient', [{ kind: 'string', param: family, mode: 'prefix', values: [{ raw: '5%_', norm: '5%_' }] }]);
    expect(b.params.slice(-2)).toEqual(['5%_', '5%_\u{10FFFF}']);
  });
  it('user text never enters the SQL text', () => {
    const b = new Sql();
    const evil = "x'); DROP TABLE fhir.resource; --";
    const sql = whereSql(b, 'r', 'Patient', [{ kind: 'string', param: family, mode: 'exact', values: [{ raw: evil, norm: evil }] }]);
    expect(sql).not.toContain('DROP');
  });
  it('a keyset over one ascending key compares values then seq, NULLs last', () => {
    const b = new Sql();
    expect(keysetSql(b, [{ col: 'q.k0', cast: 'text', descending: false }], ['abc'], 'q.seq', 7, true)).toBe(
      '((q.k0 > $2::text OR q.k0 IS NULL) OR (q.k0 = $2::text AND q.seq > $1::int8))',
    );
  });
  it('a keyset after a NULL key only continues among NULLs', () => {
    const b = new Sql();
    expect(keysetSql(b, [{ col: 'q.k0', cast: 'text', descending: true }], [null], 'q.seq', 7, true)).toBe(
      '(FALSE OR (q.k0 IS NULL AND q.seq > $1::int8))',
    );
  });
});
