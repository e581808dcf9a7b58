-- The registry (privacy-design.md §2–3): persons by an internal key (KID) that never leaves the
-- database, every medical ID ever issued, and the identifiers that decide who a record is.
-- Nothing here is ever deleted: a medical ID once issued stays in registry.medical_id for ever,
-- so the primary key refuses to issue it again, whatever its status.

-- One row per person. `kid` is random, never in a FHIR resource, log or URL; later
-- purpose-specific pseudonyms derive from it, so the medical ID can change without breaking them.
CREATE TABLE registry.person (
  kid          bytea PRIMARY KEY CHECK (length(kid) = 16),
  patient_id   text NOT NULL UNIQUE,
  status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deceased', 'retired', 'merged')),
  -- normalized kana family+given | birth date | sex: the exact demographic rule's key
  demo_key     text NOT NULL,
  deceased_on  date,
  retire_after date,                      -- deceased: research use until this day, then retired
  merged_into  bytea REFERENCES registry.person (kid),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX person_demo_key ON registry.person (demo_key);
CREATE INDEX person_retire ON registry.person (retire_after) WHERE status = 'deceased';

-- Every medical ID ever issued. Status only moves forward: active → replaced | retired.
CREATE TABLE registry.medical_id (
  mid        text PRIMARY KEY CHECK (mid ~ '^1[0-9]{13}$'),
  kid        bytea NOT NULL REFERENCES registry.person (kid),
  status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'replaced', 'retired')),
  issued_at  timestamptz NOT NULL DEFAULT now(),
  ended_at   timestamptz
);
CREATE UNIQUE INDEX medical_id_one_active ON registry.medical_id (kid) WHERE status = 'active';
CREATE INDEX medical_id_kid ON registry.medical_id (kid);

CREATE FUNCTION registry.medical_id_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.mid <> OLD.mid OR NEW.kid <> OLD.kid THEN
    RAISE EXCEPTION 'medical_id: mid and kid never change' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.status <> NEW.status AND NOT (OLD.status = 'active' OR (OLD.status = 'replaced' AND NEW.status = 'retired')) THEN
    RAISE EXCEPTION 'medical_id: status % cannot become %', OLD.status, NEW.status USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER medical_id_guard BEFORE UPDATE ON registry.medical_id FOR EACH ROW EXECUTE FUNCTION registry.medical_id_guard();
CREATE TRIGGER medical_id_no_delete BEFORE DELETE ON registry.medical_id FOR EACH ROW EXECUTE FUNCTION registry.refuse_delete();
CREATE TRIGGER medical_id_no_truncate BEFORE TRUNCATE ON registry.medical_id FOR EACH STATEMENT EXECUTE FUNCTION registry.refuse_delete();
CREATE TRIGGER person_no_delete BEFORE DELETE ON registry.person FOR EACH ROW EXECUTE FUNCTION registry.refuse_delete();
CREATE TRIGGER person_no_truncate BEFORE TRUNCATE ON registry.person FOR EACH STATEMENT EXECUTE FUNCTION registry.refuse_delete();

-- Identifiers that name exactly one person: insured member ids (保険者番号:記号:番号:枝番) and
-- public-payer member ids, current and past. The primary key is the database's guarantee that
-- one number never belongs to two persons. `payer` is the insurer or public payer number, for
-- an insurer's export of its own persons.
CREATE TABLE registry.person_identifier (
  system       text NOT NULL,
  value        text COLLATE "C" NOT NULL,
  kid          bytea NOT NULL REFERENCES registry.person (kid),
  payer        text NOT NULL,
  period_start date,
  period_end   date,
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (system, value)
);
CREATE INDEX person_identifier_kid ON registry.person_identifier (kid);
CREATE INDEX person_identifier_payer ON registry.person_identifier (payer, kid);

-- Merges of duplicates, with what each moved, so a merge can be undone within its window.
CREATE TABLE registry.merge (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source_kid      bytea NOT NULL REFERENCES registry.person (kid),
  target_kid      bytea NOT NULL REFERENCES registry.person (kid),
  source_version  integer NOT NULL,       -- Patient versions before the merge
  target_version  integer NOT NULL,
  target_result   integer NOT NULL,       -- the target's version the merge wrote
  moved           jsonb NOT NULL,         -- [{system, value}] moved to the target
  moved_my_number boolean NOT NULL,
  merged_at       timestamptz NOT NULL,
  undo_until      timestamptz NOT NULL,
  undone_at       timestamptz,
  finalized_at    timestamptz
);
CREATE UNIQUE INDEX merge_open_source ON registry.merge (source_kid) WHERE undone_at IS NULL;

-- Records held for the authority's staff (neither clearly new nor clearly existing). The Task
-- carries the record without My Number; its MAC waits here until the review is decided.
CREATE TABLE registry.review (
  task_id     text PRIMARY KEY,
  record_key  text NOT NULL UNIQUE,       -- hash of the submitted record: a re-submission finds it
  mn_mac      bytea,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Bulk exports of an insurer's persons with their medical IDs (R3), FHIR Bulk Data style:
-- a job, then NDJSON files kept in the database (any node can serve them) until they expire.
CREATE TABLE registry.export_job (
  id               text PRIMARY KEY,
  client_id        text NOT NULL,
  payer            text NOT NULL,
  request          text NOT NULL,
  since            timestamptz,
  status           text NOT NULL CHECK (status IN ('in-progress', 'complete', 'error')),
  transaction_time timestamptz NOT NULL,
  expires_at       timestamptz NOT NULL,
  completed_at     timestamptz,
  error            text
);
CREATE TABLE registry.export_file (
  job      text NOT NULL REFERENCES registry.export_job (id) ON DELETE CASCADE,
  n        integer NOT NULL,
  lines    integer NOT NULL,
  content  text NOT NULL,
  PRIMARY KEY (job, n)
);
