-- A change that breaks linkage (R6, privacy-design.md §3 case 2): on the authority's decision a
-- person gets a new person key (KID) and a new medical ID, so every domain pseudonym changes.
--
-- The key is replaced where it lives, in registry.person.kid, and the rows that name the person
-- by it follow (ON UPDATE CASCADE): afterwards the old key names nobody, and nothing in the
-- registry keeps it. A second "pseudonym key" column beside the row key would have kept the old
-- one as the row key for ever — a link in clear, which MEDID_BREAK_LINKAGE_LINK=none promises
-- not to keep — and every query deriving pseudonyms would have had to pick the right column.
-- Every foreign key to registry.person (kid) must cascade updates (a test checks the catalog).
ALTER TABLE registry.medical_id DROP CONSTRAINT medical_id_kid_fkey,
  ADD CONSTRAINT medical_id_kid_fkey FOREIGN KEY (kid) REFERENCES registry.person (kid) ON UPDATE CASCADE;
ALTER TABLE registry.person_identifier DROP CONSTRAINT person_identifier_kid_fkey,
  ADD CONSTRAINT person_identifier_kid_fkey FOREIGN KEY (kid) REFERENCES registry.person (kid) ON UPDATE CASCADE;
ALTER TABLE registry.merge DROP CONSTRAINT merge_source_kid_fkey,
  ADD CONSTRAINT merge_source_kid_fkey FOREIGN KEY (source_kid) REFERENCES registry.person (kid) ON UPDATE CASCADE;
ALTER TABLE registry.merge DROP CONSTRAINT merge_target_kid_fkey,
  ADD CONSTRAINT merge_target_kid_fkey FOREIGN KEY (target_kid) REFERENCES registry.person (kid) ON UPDATE CASCADE;
ALTER TABLE registry.person DROP CONSTRAINT person_merged_into_fkey,
  ADD CONSTRAINT person_merged_into_fkey FOREIGN KEY (merged_into) REFERENCES registry.person (kid) ON UPDATE CASCADE;

-- A medical ID still never changes, nor moves to another person: its kid changes only when its
-- person's key was replaced (the cascade above), i.e. the old key names no person any more and
-- the new one does.
CREATE OR REPLACE FUNCTION registry.medical_id_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.mid <> OLD.mid OR (NEW.kid <> OLD.kid AND (
       EXISTS (SELECT 1 FROM registry.person WHERE kid = OLD.kid)
       OR NOT EXISTS (SELECT 1 FROM registry.person WHERE kid = NEW.kid))) THEN
    RAISE EXCEPTION 'medical_id: mid and kid never change' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.status <> NEW.status AND NOT (OLD.status = 'active' OR (OLD.status = 'replaced' AND NEW.status = 'retired')) THEN
    RAISE EXCEPTION 'medical_id: status % cannot become %', OLD.status, NEW.status USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;

-- The authority's decisions to break linkage, append-only. `note` is the recorded reason (free
-- text: it may describe the person's circumstances, so it stays here — never in the audit log,
-- the server log or a response). `sealed_link` is the old→new link as a JWE to the oversight
-- body's public key (MEDID_BREAK_LINKAGE_LINK=sealed), which medid cannot open; NULL with none.
-- Neither key is here in clear; there is deliberately no table of retired keys (see
-- registry/README.md): a 128-bit random key is not drawn twice.
CREATE TABLE registry.linkage_break (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  patient_id  text NOT NULL REFERENCES registry.person (patient_id),
  decided_on  date NOT NULL,
  note        text NOT NULL CHECK (length(note) > 0),
  sealed_link text
);
CREATE INDEX linkage_break_patient ON registry.linkage_break (patient_id);
CREATE TRIGGER linkage_break_no_update BEFORE UPDATE ON registry.linkage_break FOR EACH ROW EXECUTE FUNCTION registry.refuse_delete();
CREATE TRIGGER linkage_break_no_delete BEFORE DELETE ON registry.linkage_break FOR EACH ROW EXECUTE FUNCTION registry.refuse_delete();
CREATE TRIGGER linkage_break_no_truncate BEFORE TRUNCATE ON registry.linkage_break FOR EACH STATEMENT EXECUTE FUNCTION registry.refuse_delete();
