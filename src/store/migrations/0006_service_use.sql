-- Service-use history (R9): which organization served which person, from the first to the last
-- confirmed day. One row per person and organization, stretched by each successful eligibility
-- confirmation in one statement (an upsert), so confirming stays one round trip; $record-locations
-- renders each row as an EpisodeOfCare. Rows are never deleted (the person's history).

CREATE TABLE registry.service_use (
  patient_id  text NOT NULL,
  org_code    text NOT NULL,            -- 医療機関コード (10 digits)
  first_day   date NOT NULL,
  last_day    date NOT NULL,
  visits      integer NOT NULL DEFAULT 1,
  PRIMARY KEY (patient_id, org_code)
);
CREATE TRIGGER service_use_no_delete BEFORE DELETE ON registry.service_use FOR EACH ROW EXECUTE FUNCTION registry.refuse_delete();
