-- SMART on FHIR clients and assertion replay protection; the append-only audit log; and the
-- patient compartment of each resource version, so disclosures can be audited per patient
-- without re-reading resources.

CREATE SCHEMA IF NOT EXISTS auth;

-- Registered clients (EHRs, networks, insurers, databases, the authority's tools).
CREATE TABLE auth.client (
  client_id   text PRIMARY KEY CHECK (client_id ~ '^[A-Za-z0-9._:-]{1,128}$'),
  name        text NOT NULL,
  jwks        text,                         -- a JWKS (public keys) as JSON, or
  jwks_uri    text,                         -- where to fetch it
  scope       text NOT NULL,                -- space-separated SMART scopes the client may be granted
  org_kind    text NOT NULL CHECK (org_kind IN ('medical-institution', 'insurer', 'database', 'authority')),
  org_code    text NOT NULL,
  status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (jwks IS NOT NULL OR jwks_uri IS NOT NULL)
);

-- Client-assertion ids seen, kept until the assertion expires: a replayed assertion is refused
-- on every medid node because they share this table. Only a hash of the jti is kept.
CREATE TABLE auth.assertion_jti (
  client_id   text NOT NULL,
  jti_hash    bytea NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (client_id, jti_hash)
);
CREATE INDEX assertion_jti_expires ON auth.assertion_jti (expires_at);

CREATE SCHEMA IF NOT EXISTS audit;

-- Every disclosure and change: one row per patient concerned, in columns; the API presents
-- each row as a BALP AuditEvent (building that JSON on every read request would cost more
-- than the read itself). Append-only: the triggers below refuse UPDATE, DELETE and TRUNCATE.
CREATE TABLE audit.event (
  seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,   -- also the AuditEvent's id
  recorded     timestamptz NOT NULL,
  event_type   text NOT NULL,             -- rest | login
  action       text NOT NULL,             -- C R U D E
  subtype      text NOT NULL,             -- read, vread, search-type, create, …, login, or $operation
  subtype_ihe  text,                      -- an IHE event type code (ITI-119 for $match), if any
  outcome      smallint NOT NULL,         -- 0 success, 4 minor failure, 8 serious failure
  outcome_desc text,
  patient_id   text,                      -- the Patient this event is about, if any
  client_id    text,
  client_name  text,
  org_kind     text,
  org_code     text,
  purpose      text NOT NULL,             -- v3-ActReason
  request_id   text,
  remote_addr  text,
  token_id     text,                      -- the access token's jti
  entity_ref   text,                      -- Type/id[/_history/v] read, written or operated on
  query        text                       -- the query string of a search
);
-- Every read writes here, so indexes are few: by patient (the person's own view), by client
-- (what an organization did), and a BRIN on time, which costs almost nothing to maintain
-- because `recorded` grows with `seq`.
CREATE INDEX audit_event_patient ON audit.event (patient_id, seq) WHERE patient_id IS NOT NULL;
CREATE INDEX audit_event_client ON audit.event (client_id, seq);
CREATE INDEX audit_event_recorded ON audit.event USING brin (recorded);

CREATE FUNCTION audit.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit.event is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER event_no_update BEFORE UPDATE OR DELETE ON audit.event FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER event_no_truncate BEFORE TRUNCATE ON audit.event FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

-- Patient ids in the compartment of each resource version (Patient: itself).
ALTER TABLE fhir.resource ADD COLUMN compartment text[];
ALTER TABLE fhir.resource_version ADD COLUMN compartment text[];
