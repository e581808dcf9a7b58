-- Who may see whom (issue 13): the purposes each client may use and whether it may break the
-- glass; regional networks as an organization kind; the consent rules every disclosure asks;
-- break-the-glass grants.

ALTER TABLE auth.client DROP CONSTRAINT client_org_kind_check;
ALTER TABLE auth.client ADD CONSTRAINT client_org_kind_check
  CHECK (org_kind IN ('medical-institution', 'insurer', 'database', 'regional-network', 'authority'));
-- v3-ActReason codes the client may put in a token request; empty means its kind's default.
ALTER TABLE auth.client ADD COLUMN purposes text[] NOT NULL DEFAULT '{}';

CREATE SCHEMA IF NOT EXISTS privacy;

-- The person's Consents, compiled (privacy/consent/rules.ts): one row per provision that
-- permits or denies. Derived data, rewritten with each version of the Consent in its write's
-- transaction, so the access predicate (store/access-sql.ts) reads rows, never JSON.
CREATE TABLE privacy.consent_rule (
  consent_id   text NOT NULL,
  patient_id   text NOT NULL,
  effect       text NOT NULL CHECK (effect IN ('permit', 'deny')),
  actor        text COLLATE "C",          -- 'kind:code' of the organization, NULL = everyone
  purposes     text[] NOT NULL DEFAULT '{}',  -- v3-ActReason codes; empty = every purpose
  classes      text[] NOT NULL DEFAULT '{}',  -- resource types; empty = every type
  period_start date,
  period_end   date
);
CREATE INDEX consent_rule_patient ON privacy.consent_rule (patient_id, actor);
CREATE INDEX consent_rule_consent ON privacy.consent_rule (consent_id);

-- Break-the-glass grants (R24): one person, one organization, a reason, a few hours. Kept for
-- ever (the authority's daily report, the person's own view); never updated.
CREATE TABLE privacy.btg_grant (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  patient_id  text NOT NULL,
  actor       text COLLATE "C" NOT NULL,   -- 'kind:code'
  client_id   text NOT NULL,
  reason      text NOT NULL,
  granted_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL
);
CREATE INDEX btg_grant_patient ON privacy.btg_grant (patient_id, actor, expires_at);
CREATE INDEX btg_grant_granted ON privacy.btg_grant (granted_at);
CREATE TRIGGER btg_grant_append_only BEFORE UPDATE OR DELETE ON privacy.btg_grant FOR EACH ROW EXECUTE FUNCTION registry.refuse_delete();

-- The registry's rule in the database: which live Patient carries which medical ID as its current
-- identifier, whatever path wrote it. The primary key refuses a second Patient with the same ID;
-- the one statement that writes it (store/access.ts) inserts only an ID issued to the Patient's
-- own person, set-based (a row trigger cost a fifth of the registration rate).
CREATE TABLE registry.patient_medical_id (
  mid        text PRIMARY KEY,
  patient_id text NOT NULL
);
CREATE INDEX patient_medical_id_patient ON registry.patient_medical_id (patient_id);
