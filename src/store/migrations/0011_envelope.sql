-- Sealed delivery (R18, R21; privacy-design.md §4 "Delivery"): a provider seals the insured
-- number or medical ID of the person its data is about, with a one-time work number, to the
-- authority; the utilizing database forwards the envelope to $pseudonymize. The
-- registry opens it (it alone resolves identifiers), so the work numbers seen are kept here, in
-- the registry's schema: only a hash of (database, provider, work number), until the envelope
-- expires, so an envelope is redeemed once on every medid node.
CREATE TABLE registry.envelope_work (
  work_hash  bytea PRIMARY KEY,
  expires_at timestamptz NOT NULL
);
CREATE INDEX envelope_work_expires ON registry.envelope_work (expires_at);

-- Every provision of information logs both organizations (R21): beside the requesting one
-- (org_kind, org_code), the one that provided what was resolved — the provider that sealed an
-- envelope. Nullable: other events name one organization. Adding nullable columns rewrites
-- nothing, and the append-only triggers refuse row changes, not this.
ALTER TABLE audit.event ADD COLUMN provider_kind text, ADD COLUMN provider_code text;
