/**
 * SQL for regional networks' local patient ids (migration 0013): which person each local id
 * names, a person's local ids, and feeding or removing one. A row names the person it was fed
 * for; both lookups follow registry merges (registry.person.merged_into) to the surviving person,
 * at most MERGE_DEPTH merges deep. Callers run a feed in one transaction.
 */
import type { Db } from './db.ts';

/** Merges followed from a duplicate to its survivor (a chain longer than this is not followed). */
const MERGE_DEPTH = 8;

export interface NetworkIdPerson {
  /** The person the id was fed for. */
  fedFor: string;
  /** The person it names now: `fedFor`, or the person that one was merged into. */
  patientId: string;
}

/** The person a local id names, or undefined when nobody was fed with it. */
export async function personOfNetworkId(db: Db, system: string, value: string): Promise<NetworkIdPerson | undefined> {
  const { rows } = await db.query<{ fed_for: string; patient_id: string }>(
    `WITH RECURSIVE chain (patient_id, merged_into, status, depth) AS (
       SELECT p.patient_id, p.merged_into, p.status, 0
         FROM privacy.network_patient_id n JOIN registry.person p ON p.patient_id = n.patient_id
        WHERE n.system = $1 AND n.value = $2
       UNION ALL
       SELECT q.patient_id, q.merged_into, q.status, c.depth + 1
         FROM chain c JOIN registry.person q ON q.kid = c.merged_into
        WHERE c.status = 'merged' AND c.depth < ${MERGE_DEPTH}
     )
     SELECT (SELECT patient_id FROM chain WHERE depth = 0) AS fed_for, patient_id FROM chain ORDER BY depth DESC LIMIT 1`,
    [system, value],
    'network_id_person',
  );
  const r = rows[0];
  return r ? { fedFor: r.fed_for, patientId: r.patient_id } : undefined;
}

/**
 * The local ids that name a person — fed for it or for a duplicate merged into it — in the
 * systems asked for (undefined: every network's), the person's own first.
 */
export async function networkIdsOfPerson(
  db: Db,
  patientId: string,
  systems: readonly string[] | undefined,
): Promise<{ system: string; value: string }[]> {
  const { rows } = await db.query<{ system: string; value: string }>(
    `WITH RECURSIVE merged (kid, patient_id, depth) AS (
       SELECT kid, patient_id, 0 FROM registry.person WHERE patient_id = $1
       UNION ALL
       SELECT p.kid, p.patient_id, m.depth + 1
         FROM merged m JOIN registry.person p ON p.merged_into = m.kid
        WHERE p.status = 'merged' AND m.depth < ${MERGE_DEPTH}
     )
     SELECT n.system, n.value FROM privacy.network_patient_id n JOIN merged m ON n.patient_id = m.patient_id
      WHERE $2::text[] IS NULL OR n.system = ANY($2::text[])
      ORDER BY m.depth, n.system, n.value`,
    [patientId, systems ? [...systems] : null],
    'network_ids_of_person',
  );
  return rows;
}

/**
 * Feeds `value` as the person's local id in `system`, replacing the one the person had there
 * (returned). A value already fed for someone is the primary key's to refuse (409 `duplicate`).
 */
export async function feedNetworkId(
  db: Db,
  f: { system: string; value: string; patientId: string; at: string },
): Promise<{ previous: string | undefined }> {
  const { rows } = await db.query<{ value: string }>(
    `DELETE FROM privacy.network_patient_id WHERE patient_id = $1 AND system = $2 RETURNING value`,
    [f.patientId, f.system],
    'network_id_replace',
  );
  await db.query(
    `INSERT INTO privacy.network_patient_id (system, value, patient_id, fed_at) VALUES ($1, $2, $3, $4::timestamptz)`,
    [f.system, f.value, f.patientId, f.at],
    'network_id_insert',
  );
  return { previous: rows[0]?.value };
}

/** Removes a local id; returns the person it was fed for, or undefined when it named nobody. */
export async function removeNetworkId(db: Db, system: string, value: string): Promise<string | undefined> {
  const { rows } = await db.query<{ patient_id: string }>(
    `DELETE FROM privacy.network_patient_id WHERE system = $1 AND value = $2 RETURNING patient_id`,
    [system, value],
    'network_id_remove',
  );
  return rows[0]?.patient_id;
}
