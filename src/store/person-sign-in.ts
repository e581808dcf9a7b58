/** SQL for the person's sign-in: pending authorization requests, issued codes, subject bindings (migration 0016). */
import type { Db } from './db.ts';

export interface PendingLogin {
  clientId: string;
  redirectUri: string;
  appState: string | null;
  scope: string;
  codeChallenge: string;
  idpVerifier: string;
  idpNonce: string;
}

export async function savePendingLogin(db: Db, stateHash: Buffer, l: PendingLogin, expiresAt: Date): Promise<void> {
  await db.query(
    `INSERT INTO auth.person_login (state_hash, client_id, redirect_uri, app_state, scope, code_challenge, idp_verifier, idp_nonce, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [stateHash, l.clientId, l.redirectUri, l.appState, l.scope, l.codeChallenge, l.idpVerifier, l.idpNonce, expiresAt.toISOString()],
  );
}

/** Takes (deletes and returns) a pending login that has not expired: a state is redeemed once, on any node. */
export async function takePendingLogin(db: Db, stateHash: Buffer, now: Date): Promise<PendingLogin | undefined> {
  const { rows } = await db.query<{
    client_id: string;
    redirect_uri: string;
    app_state: string | null;
    scope: string;
    code_challenge: string;
    idp_verifier: string;
    idp_nonce: string;
    expires_at: Date | string;
  }>(`DELETE FROM auth.person_login WHERE state_hash = $1 RETURNING *`, [stateHash]);
  const r = rows[0];
  if (!r || new Date(r.expires_at).getTime() <= now.getTime()) return undefined;
  return {
    clientId: r.client_id,
    redirectUri: r.redirect_uri,
    appState: r.app_state,
    scope: r.scope,
    codeChallenge: r.code_challenge,
    idpVerifier: r.idp_verifier,
    idpNonce: r.idp_nonce,
  };
}

export interface IssuedCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string;
  patientId: string;
}

export async function saveCode(db: Db, codeHash: Buffer, c: IssuedCode, expiresAt: Date): Promise<void> {
  await db.query(
    `INSERT INTO auth.person_code (code_hash, client_id, redirect_uri, code_challenge, scope, patient_id, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [codeHash, c.clientId, c.redirectUri, c.codeChallenge, c.scope, c.patientId, expiresAt.toISOString()],
  );
}

/** Takes (deletes and returns) an unexpired code: a second redemption finds nothing. */
export async function takeCode(db: Db, codeHash: Buffer, now: Date): Promise<IssuedCode | undefined> {
  const { rows } = await db.query<{
    client_id: string;
    redirect_uri: string;
    code_challenge: string;
    scope: string;
    patient_id: string;
    expires_at: Date | string;
  }>(`DELETE FROM auth.person_code WHERE code_hash = $1 RETURNING *`, [codeHash]);
  const r = rows[0];
  if (!r || new Date(r.expires_at).getTime() <= now.getTime()) return undefined;
  return { clientId: r.client_id, redirectUri: r.redirect_uri, codeChallenge: r.code_challenge, scope: r.scope, patientId: r.patient_id };
}

/** Removes expired pending logins and codes (the registry sweep). */
export async function sweepSignIns(db: Db, now: Date): Promise<number> {
  const a = await db.query(`DELETE FROM auth.person_login WHERE expires_at <= $1`, [now.toISOString()]);
  const b = await db.query(`DELETE FROM auth.person_code WHERE expires_at <= $1`, [now.toISOString()]);
  return a.rowCount + b.rowCount;
}

/** The MAC an IdP subject is bound to. */
export async function subjectMac(db: Db, issuer: string, subject: string): Promise<Buffer | undefined> {
  const { rows } = await db.query<{ mn_mac: Buffer | Uint8Array }>(
    `SELECT mn_mac FROM auth.person_subject WHERE issuer = $1 AND subject = $2`,
    [issuer, subject],
  );
  const m = rows[0]?.mn_mac;
  return m === undefined ? undefined : Buffer.from(m);
}

/** Binds a subject to a MAC once; returns the MAC it is bound to afterwards (an earlier one wins). */
export async function bindSubject(db: Db, issuer: string, subject: string, mac: Buffer, version: number, at: Date): Promise<Buffer> {
  const { rows } = await db.query<{ mn_mac: Buffer | Uint8Array }>(
    `WITH ins AS (INSERT INTO auth.person_subject (issuer, subject, mn_mac, mac_version, bound_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (issuer, subject) DO NOTHING RETURNING mn_mac)
     SELECT mn_mac FROM ins UNION ALL SELECT mn_mac FROM auth.person_subject WHERE issuer = $1 AND subject = $2 LIMIT 1`,
    [issuer, subject, mac, version, at.toISOString()],
  );
  return Buffer.from(rows[0]?.mn_mac ?? mac);
}
