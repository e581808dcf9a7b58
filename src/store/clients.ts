/** SQL for registered clients and the client-assertion replay store. */
import crypto from 'node:crypto';
import type { Db } from './db.ts';

export interface ClientRow {
  clientId: string;
  name: string;
  jwks: string | null;
  jwksUri: string | null;
  scope: string;
  orgKind: string;
  orgCode: string;
  purposes: string[];
  status: 'active' | 'disabled';
}

interface Raw {
  client_id: string;
  name: string;
  jwks: string | null;
  jwks_uri: string | null;
  scope: string;
  org_kind: string;
  org_code: string;
  purposes: string[] | null;
  status: 'active' | 'disabled';
}
const toRow = (r: Raw): ClientRow => ({
  clientId: r.client_id,
  name: r.name,
  jwks: r.jwks,
  jwksUri: r.jwks_uri,
  scope: r.scope,
  orgKind: r.org_kind,
  orgCode: r.org_code,
  purposes: r.purposes ?? [],
  status: r.status,
});

export async function upsertClient(db: Db, c: ClientRow): Promise<void> {
  await db.query(
    `INSERT INTO auth.client (client_id, name, jwks, jwks_uri, scope, org_kind, org_code, purposes, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text[], $9)
     ON CONFLICT (client_id) DO UPDATE SET name = EXCLUDED.name, jwks = EXCLUDED.jwks, jwks_uri = EXCLUDED.jwks_uri,
       scope = EXCLUDED.scope, org_kind = EXCLUDED.org_kind, org_code = EXCLUDED.org_code, purposes = EXCLUDED.purposes,
       status = EXCLUDED.status, updated_at = now()`,
    [c.clientId, c.name, c.jwks, c.jwksUri, c.scope, c.orgKind, c.orgCode, c.purposes, c.status],
  );
}

export async function getClient(db: Db, clientId: string): Promise<ClientRow | undefined> {
  const { rows } = await db.query<Raw>(
    'SELECT client_id, name, jwks, jwks_uri, scope, org_kind, org_code, purposes, status FROM auth.client WHERE client_id = $1',
    [clientId],
    'get_client',
  );
  return rows[0] ? toRow(rows[0]) : undefined;
}

export async function listClients(db: Db): Promise<ClientRow[]> {
  const { rows } = await db.query<Raw>(
    'SELECT client_id, name, jwks, jwks_uri, scope, org_kind, org_code, purposes, status FROM auth.client ORDER BY client_id',
  );
  return rows.map(toRow);
}

export async function setClientStatus(db: Db, clientId: string, status: 'active' | 'disabled'): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE auth.client SET status = $2, updated_at = now() WHERE client_id = $1', [clientId, status]);
  return rowCount > 0;
}

/**
 * Records a client assertion's jti until it expires; false when it was already recorded
 * (a replay). Expired entries of any client are purged now and then on the way.
 */
export async function recordAssertionJti(db: Db, clientId: string, jti: string, expiresAt: Date): Promise<boolean> {
  const hash = crypto.createHash('sha256').update(jti).digest();
  const { rows } = await db.query<{ ok: number }>(
    `INSERT INTO auth.assertion_jti (client_id, jti_hash, expires_at) VALUES ($1, $2, $3)
     ON CONFLICT (client_id, jti_hash) DO NOTHING RETURNING 1 AS ok`,
    [clientId, hash, expiresAt.toISOString()],
    'record_jti',
  );
  if (Math.random() < 0.01) {
    await db.query('DELETE FROM auth.assertion_jti WHERE expires_at < now()');
  }
  return rows.length === 1;
}
