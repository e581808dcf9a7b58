/**
 * Prepared-statement names stay bounded however many shapes of SQL clients provoke: the named
 * shapes are the most recently used few hundred (a fuzzer's one-off shapes cannot pin them),
 * shapes counted on their way to a name are bounded in number and in length, and one connection
 * keeps a bounded number of statements prepared, deallocating the least recently used.
 */
import { describe, expect, it } from 'vitest';
import { MAX_NAMED_SQL_CHARS, PreparedOnConnection, StatementNames } from '../../../src/store/prepared.ts';

const nameAfterUses = (names: StatementNames, sql: string): string | undefined => {
  let name: string | undefined;
  for (let i = 0; i < 3; i++) name = names.nameFor(sql);
  return name;
};

describe('prepared statement names', () => {
  it('names a shape after a few uses, with a stable name', () => {
    const names = new StatementNames();
    expect(names.nameFor('SELECT 1')).toBeUndefined();
    expect(names.nameFor('SELECT 1')).toBeUndefined();
    const name = names.nameFor('SELECT 1');
    expect(name).toMatch(/^s_[0-9a-f]{20}$/);
    expect(names.nameFor('SELECT 1')).toBe(name);
    expect(nameAfterUses(new StatementNames(), 'SELECT 1')).toBe(name);
  });

  it('keeps the most recently used shapes named: a flood of odd shapes cannot pin the names', () => {
    const names = new StatementNames(8);
    const hot = nameAfterUses(names, 'SELECT hot');
    for (let i = 0; i < 1000; i++) {
      nameAfterUses(names, `SELECT odd_${i}`);
      expect(names.nameFor('SELECT hot')).toBe(hot);
    }
    expect(names.size.named).toBe(8);
    // A shape that came after the flood still earns a name (the first-come names would not allow it).
    expect(nameAfterUses(names, 'SELECT late')).toMatch(/^s_/);
  });

  it('bounds the shapes counted on their way to a name, by number and by length', () => {
    const names = new StatementNames();
    const filler = 'x'.repeat(8 * 1024);
    for (let i = 0; i < 20_000; i++) names.nameFor(`SELECT ${i} /* ${filler} */`);
    expect(names.size.tracked).toBeLessThanOrEqual(4096);
    expect(names.size.trackedChars).toBeLessThanOrEqual(4 * 1024 * 1024);
  });

  it('never names a statement longer than MAX_NAMED_SQL_CHARS', () => {
    const names = new StatementNames();
    expect(nameAfterUses(names, `SELECT 1 /* ${'y'.repeat(MAX_NAMED_SQL_CHARS)} */`)).toBeUndefined();
    expect(names.size).toEqual({ named: 0, tracked: 0, trackedChars: 0 });
  });

  it('keeps at most `max` statements prepared on a connection, deallocating the least recently used', () => {
    const conn = new PreparedOnConnection(3);
    expect([conn.use('a'), conn.use('b'), conn.use('c')]).toEqual([[], [], []]);
    expect(conn.use('a')).toEqual([]); // used again: now the most recent
    expect(conn.use('d')).toEqual(['b']);
    expect(conn.use('e')).toEqual(['c']);
    expect(conn.size).toBe(3);
    for (let i = 0; i < 100; i++) conn.use(`n${i}`);
    expect(conn.size).toBe(3);
    conn.keep('n0'); // its DEALLOCATE failed: still prepared, still counted
    expect(conn.size).toBe(4);
    expect(conn.use('z')).toEqual(['n97', 'n98']);
    expect(conn.size).toBe(3);
  });
});
