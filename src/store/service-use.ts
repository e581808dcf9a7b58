/** SQL for service uses (R9): which organization served which person, first and last day, how many visits. */
import type { AuditedWriteSql } from './audit.ts';
import type { Db } from './db.ts';

/** That an organization served a person on a day (R9), recorded by a valid confirmation. */
export interface ServiceUse {
  patientId: string;
  /** 医療機関コード. */
  orgCode: string;
  /** YYYY-MM-DD. */
  day: string;
}

/**
 * The upsert of a batch of service uses as JSON parameter `$n`: one row per person and
 * organization, the period stretched to the new days and the visits counted. Several uses of
 * one pair are folded first (an upsert may touch a row only once), in key order so that two
 * concurrent batches lock rows in the same order. It commits in the audit batch's statement
 * (an audited write, store/audit.ts): a visit is on record exactly when its confirmation is.
 */
export const serviceUseUpsert: AuditedWriteSql = {
  kind: 'service_use',
  cte: (param) => `INSERT INTO registry.service_use (patient_id, org_code, first_day, last_day, visits)
     SELECT u."patientId", u."orgCode", min(u.day), max(u.day), count(*)
     FROM json_to_recordset($${param}::json) AS u("patientId" text, "orgCode" text, day date)
     GROUP BY 1, 2 ORDER BY 1, 2
     ON CONFLICT (patient_id, org_code) DO UPDATE SET first_day = least(registry.service_use.first_day, EXCLUDED.first_day),
       last_day = greatest(registry.service_use.last_day, EXCLUDED.last_day), visits = registry.service_use.visits + EXCLUDED.visits`,
};

export interface ServiceUseRow {
  orgCode: string;
  firstDay: string;
  lastDay: string;
  visits: number;
}

export async function serviceUseOf(db: Db, patientId: string): Promise<ServiceUseRow[]> {
  const { rows } = await db.query<{ org_code: string; first_day: string; last_day: string; visits: number }>(
    `SELECT org_code, to_char(first_day, 'YYYY-MM-DD') AS first_day, to_char(last_day, 'YYYY-MM-DD') AS last_day, visits
     FROM registry.service_use WHERE patient_id = $1 ORDER BY last_day DESC, org_code`,
    [patientId],
    'service_use_of',
  );
  return rows.map((r) => ({ orgCode: r.org_code, firstDay: r.first_day, lastDay: r.last_day, visits: r.visits }));
}
