-- What a utilizing database sees (issue 16 items 3–4): each domain's birth-date precision, and
-- pseudonymized Bulk exports beside the insurers' ones.

-- Year-month by default; a domain whose purpose needs less gets the year only.
ALTER TABLE pseudonym.domain ADD COLUMN birth_date text NOT NULL DEFAULT 'year-month' CHECK (birth_date IN ('year-month', 'year'));

-- An export job is an insurer's (its payer's persons, identified) or a database's (its domain's
-- pseudonyms, after the small-cell guard, whose report the manifest repeats).
ALTER TABLE registry.export_job ALTER COLUMN payer DROP NOT NULL;
ALTER TABLE registry.export_job ADD COLUMN domain text;
ALTER TABLE registry.export_job ADD COLUMN summary jsonb;
ALTER TABLE registry.export_job ADD CONSTRAINT export_job_one_owner CHECK ((payer IS NULL) <> (domain IS NULL));
-- A file holds one resource type; a pseudonymized file names no person, so the persons it
-- discloses are kept beside it for the audit record written when it is downloaded.
ALTER TABLE registry.export_file ADD COLUMN type text NOT NULL DEFAULT 'Patient';
ALTER TABLE registry.export_file ADD COLUMN patients text[];
