/**
 * SQL of the My Number MAC's rotation (privacy-design.md §2.1; privacy/my-number/rotation.ts):
 * every column that holds a My Number MAC, read a batch at a time at the old version and
 * rewritten with the chained MAC of the new one. The columns, a closed list:
 * registry.my_number.mac (with mac_version), registry.card_certificate.my_number_mac (follows
 * the binding it points to), auth.person_subject.mn_mac (mac_version) and registry.review.mn_mac
 * (mn_mac_version; rows held before that column existed are version 1).
 */
import type { Db } from './db.ts';

export type MacTable = 'my_number' | 'person_subject' | 'review';

/** Up to `limit` MACs of `version` still to rewrite in `table`. */
export async function macsAtVersion(db: Db, table: MacTable, version: number, limit: number): Promise<Buffer[]> {
  const sql = {
    my_number: `SELECT mac FROM registry.my_number WHERE mac_version = $1 LIMIT $2`,
    person_subject: `SELECT DISTINCT mn_mac AS mac FROM auth.person_subject WHERE mac_version = $1 LIMIT $2`,
    review: `SELECT DISTINCT mn_mac AS mac FROM registry.review WHERE mn_mac IS NOT NULL AND coalesce(mn_mac_version, 1) = $1 LIMIT $2`,
  }[table];
  const { rows } = await db.query<{ mac: Uint8Array }>(sql, [version, limit]);
  return rows.map((r) => Buffer.from(r.mac));
}

/** Rewrites MACs of `from` as their new values at `to`; returns the rows changed. */
export async function rewriteMacs(
  db: Db,
  table: MacTable,
  pairs: readonly { old: Buffer; next: Buffer }[],
  from: number,
  to: number,
): Promise<number> {
  if (pairs.length === 0) return 0;
  const json = JSON.stringify(pairs.map((p) => ({ o: p.old.toString('hex'), n: p.next.toString('hex') })));
  const u = `json_to_recordset($1::json) AS u(o text, n text)`;
  if (table === 'my_number') {
    // The cards bound to a person follow the binding (card_certificate keeps no version of its own).
    await db.query(
      `UPDATE registry.card_certificate c SET my_number_mac = decode(u.n, 'hex') FROM ${u} WHERE c.my_number_mac = decode(u.o, 'hex')`,
      [json],
    );
    const { rowCount } = await db.query(
      `UPDATE registry.my_number m SET mac = decode(u.n, 'hex'), mac_version = $3 FROM ${u} WHERE m.mac = decode(u.o, 'hex') AND m.mac_version = $2`,
      [json, from, to],
    );
    return rowCount;
  }
  if (table === 'person_subject') {
    const { rowCount } = await db.query(
      `UPDATE auth.person_subject s SET mn_mac = decode(u.n, 'hex'), mac_version = $3 FROM ${u} WHERE s.mn_mac = decode(u.o, 'hex') AND s.mac_version = $2`,
      [json, from, to],
    );
    return rowCount;
  }
  const { rowCount } = await db.query(
    `UPDATE registry.review r SET mn_mac = decode(u.n, 'hex'), mn_mac_version = $3 FROM ${u}
     WHERE r.mn_mac = decode(u.o, 'hex') AND coalesce(r.mn_mac_version, 1) = $2`,
    [json, from, to],
  );
  return rowCount;
}

/** How many MACs each table holds at each version (the rotation's report, and its check). */
export async function macVersions(db: Db): Promise<{ table: MacTable; version: number; n: number }[]> {
  const { rows } = await db.query<{ t: MacTable; v: number; n: number }>(
    `SELECT 'my_number' AS t, mac_version::int AS v, count(*)::int AS n FROM registry.my_number GROUP BY mac_version
     UNION ALL SELECT 'person_subject', mac_version::int, count(*)::int FROM auth.person_subject GROUP BY mac_version
     UNION ALL SELECT 'review', coalesce(mn_mac_version, 1)::int, count(*)::int FROM registry.review WHERE mn_mac IS NOT NULL GROUP BY 2
     ORDER BY 1, 2`,
  );
  return rows.map((r) => ({ table: r.t, version: r.v, n: r.n }));
}
