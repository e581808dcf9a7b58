/**
 * SQL for My Number card certificates (registry.card_certificate, migration 0018): which person
 * a card's 利用者証明用電子証明書 belongs to, by keyed MACs only, and the coverages the card path
 * of online eligibility confirmation answers with.
 */
import type { CoverageRow } from './coverages.ts';
import type { Db } from './db.ts';

export interface CertificateLink {
  certMac: Buffer;
  version: number;
  /** The person's My Number MAC (registry.my_number.mac). */
  myNumberMac: Buffer;
  /** The certificate's last valid day, YYYY-MM-DD. */
  notAfter: string;
}

export interface CertificateRow {
  myNumberMac: Buffer;
  notAfter: string;
  revoked: boolean;
}

/**
 * The certificate's row, locked for the rest of the transaction — and, when there is none yet, a
 * lock on its MAC, so two first links of one certificate serialize (the second sees the first).
 */
export async function lockCertificate(db: Db, certMac: Buffer): Promise<CertificateRow | undefined> {
  await db.query(`SELECT pg_advisory_xact_lock(hashtextextended('card-certificate|' || encode($1, 'hex'), 0))`, [certMac]);
  const { rows } = await db.query<{ my_number_mac: Buffer; not_after: string; revoked: boolean }>(
    `SELECT my_number_mac, to_char(not_after, 'YYYY-MM-DD') AS not_after, revoked_at IS NOT NULL AS revoked
     FROM registry.card_certificate WHERE cert_mac = $1 FOR UPDATE`,
    [certMac],
    'lock_card_certificate',
  );
  const r = rows[0];
  // bytea comes back as a Buffer from pg, as a Uint8Array from PGlite: one type for the caller.
  return r ? { myNumberMac: Buffer.from(r.my_number_mac), notAfter: r.not_after, revoked: r.revoked } : undefined;
}

export async function insertCertificate(db: Db, l: CertificateLink): Promise<void> {
  await db.query(
    `INSERT INTO registry.card_certificate (cert_mac, mac_version, my_number_mac, not_after) VALUES ($1, $2, $3, $4::date)`,
    [l.certMac, l.version, l.myNumberMac, l.notAfter],
    'insert_card_certificate',
  );
}

export async function setCertificateNotAfter(db: Db, certMac: Buffer, notAfter: string): Promise<void> {
  await db.query(`UPDATE registry.card_certificate SET not_after = $2::date WHERE cert_mac = $1`, [certMac, notAfter]);
}

export async function revokeCertificate(db: Db, certMac: Buffer): Promise<void> {
  await db.query(`UPDATE registry.card_certificate SET revoked_at = now() WHERE cert_mac = $1 AND revoked_at IS NULL`, [certMac]);
}

/** The certificate's link as the card path reads it: whose, until when, revoked or not. */
export interface CardHolder {
  /** The person's Patient, if their My Number is still bound to one (it always is, unless the database was edited). */
  patientId: string | undefined;
  notAfter: string;
  revoked: boolean;
}

const BY_CERTIFICATE = `WITH link AS (
       SELECT m.patient_id, to_char(c.not_after, 'YYYY-MM-DD') AS not_after, c.revoked_at IS NOT NULL AS revoked
       FROM registry.card_certificate c LEFT JOIN registry.my_number m ON m.mac = c.my_number_mac
       WHERE c.cert_mac = $1)
     SELECT 'link' AS kind, patient_id, not_after, revoked, NULL::text AS id, NULL::text AS content FROM link
     UNION ALL
     -- The holder's coverages, by index from the one person (target_id is C-collated: compare in it).
     SELECT 'coverage', l.patient_id, NULL, NULL, o.id, o.content FROM link l
       CROSS JOIN LATERAL (SELECT r.id, r.content FROM fhir.sp_reference ref JOIN fhir.resource r ON r.seq = ref.res AND NOT r.deleted
                           WHERE ref.resource_type = 'Coverage' AND ref.param = 'beneficiary'
                             AND ref.target_id = l.patient_id COLLATE "C" AND ref.target_type = 'Patient') o
       WHERE l.patient_id IS NOT NULL AND NOT l.revoked`;

/** The card's holder and, for a certificate not revoked, every coverage of theirs; one round trip. */
export async function coveragesByCertificate(
  db: Db,
  certMac: Buffer,
): Promise<{ holder: CardHolder | undefined; coverages: CoverageRow[] }> {
  const { rows } = await db.query<{
    kind: 'link' | 'coverage';
    patient_id: string | null;
    not_after: string | null;
    revoked: boolean | null;
    id: string | null;
    content: string | null;
  }>(BY_CERTIFICATE, [certMac], 'eligibility_by_certificate');
  let holder: CardHolder | undefined;
  const coverages: CoverageRow[] = [];
  for (const r of rows) {
    if (r.kind === 'link') holder = { patientId: r.patient_id ?? undefined, notAfter: r.not_after ?? '', revoked: r.revoked === true };
    else if (r.patient_id && r.id) coverages.push({ kind: 'card', id: r.id, patientId: r.patient_id, content: r.content ?? '{}' });
  }
  return { holder, coverages };
}
