/**
 * Lookups of current resources by what points at them and by identifier, over the search index
 * tables (the repository exposes them: Repository.referring, Repository.byIdentifier).
 */
import type { Db } from './db.ts';

/** Current resources of `type` referring to `Target/id` through search parameter `param` (e.g. Consent.patient). */
export async function referringResources(
  db: Db,
  type: string,
  param: string,
  targetType: string,
  targetIds: readonly string[],
): Promise<{ id: string; content: string }[]> {
  if (targetIds.length === 0) return [];
  const { rows } = await db.query<{ id: string; content: string }>(
    `SELECT DISTINCT r.id, r.content FROM fhir.sp_reference ref JOIN fhir.resource r ON r.seq = ref.res AND NOT r.deleted
     WHERE ref.resource_type = $1 AND ref.param = $2 AND ref.target_type = $3 AND ref.target_id = ANY($4::text[])`,
    [type, param, targetType, [...targetIds]],
    'referring_resources',
  );
  return rows;
}

/** Current resources of `type` carrying any of these identifier values in `system`. */
export async function resourcesByIdentifier(
  db: Db,
  type: string,
  system: string,
  values: readonly string[],
): Promise<{ id: string; content: string }[]> {
  if (values.length === 0) return [];
  const { rows } = await db.query<{ id: string; content: string }>(
    `SELECT DISTINCT r.id, r.content FROM fhir.sp_token t JOIN fhir.resource r ON r.seq = t.res AND NOT r.deleted
     WHERE t.resource_type = $1 AND t.param = 'identifier' AND t.system = $2 AND t.code = ANY($3::text[])`,
    [type, system, [...values]],
    'resources_by_identifier',
  );
  return rows;
}
