/**
 * A tiny SQL builder: values only ever enter as `$n` parameters; identifiers (tables, columns)
 * only from closed lists in the calling code. Nothing else in medid concatenates SQL.
 */

export class Sql {
  readonly params: unknown[] = [];

  /** Adds a value and returns its placeholder, with an optional cast (`$3::text[]`). */
  p(value: unknown, cast?: string): string {
    this.params.push(value);
    return cast ? `$${this.params.length}::${cast}` : `$${this.params.length}`;
  }
}

/** Escapes LIKE metacharacters so a user's `%` or `_` matches itself. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
