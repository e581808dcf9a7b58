-- Regional networks' own patient ids (issue 16 item 7, R12): a network feeds the local id it
-- gives a person enrolled in it (Patient/$feed-network-id, privacy/network-ids.ts), and
-- Patient/$ihe-pix cross-references it. Kept here, not on the Patient: a network's local-ID
-- domain is seen by the authority and that network only, and everyone who reads a Patient
-- would see an identifier written on it.
--
-- The primary key is the database's guarantee that one local id names one person; the unique
-- (patient_id, system) that a person has one local id per network (a new one replaces it).
-- A row names the person it was fed for; a registry merge moves nothing here — lookups follow
-- registry.person.merged_into to the surviving person, so an unmerge needs no undo here either.
CREATE TABLE privacy.network_patient_id (
  system     text COLLATE "C" NOT NULL,   -- …/sid/network-patient-id/<network code>
  value      text COLLATE "C" NOT NULL,
  patient_id text NOT NULL REFERENCES registry.person (patient_id),
  fed_at     timestamptz NOT NULL,
  PRIMARY KEY (system, value),
  UNIQUE (patient_id, system)
);

-- The persons merged into one (few): the local ids of a surviving person include those fed for
-- the duplicates merged into it.
CREATE INDEX person_merged_into ON registry.person (merged_into) WHERE merged_into IS NOT NULL;
