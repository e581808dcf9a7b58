/**
 * Keyset paging cursors. A cursor holds the sort values and `seq` of the row at a page edge and
 * the direction to go; the next page is "rows after this one in sort order", so pages stay
 * stable while other resources are created or deleted (no OFFSET drift).
 */
import { errors } from '../../core/outcome.ts';
import type { Cursor } from './model.ts';

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.direction === 'next' ? 'n' : 'p', c.seq, ...c.values])).toString('base64url');
}

export function decodeCursor(text: string): Cursor {
  try {
    const arr = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(arr) &&
      (arr[0] === 'n' || arr[0] === 'p') &&
      Number.isSafeInteger(arr[1]) &&
      arr.slice(2).every((v) => v === null || typeof v === 'string')
    ) {
      return { direction: arr[0] === 'n' ? 'next' : 'previous', seq: arr[1] as number, values: arr.slice(2) as (string | null)[] };
    }
  } catch {
    // fall through to the error below
  }
  throw errors.badRequest('Search parameter _cursor: not a cursor this server issued', 'invalid-search-value', '_cursor');
}
