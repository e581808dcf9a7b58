-- The FHIR resource store: current versions, every version, and the search index tables.
-- Append-only: a later change is a new numbered file, never an edit of this one.

CREATE SCHEMA IF NOT EXISTS fhir;

-- Current version of each resource. `seq` is fixed at creation and orders searches by default:
-- paging by it stays stable while resources are created, updated or deleted elsewhere.
CREATE TABLE fhir.resource (
  resource_type text NOT NULL,
  id            text NOT NULL,
  seq           bigint GENERATED ALWAYS AS IDENTITY,
  version_id    integer NOT NULL,
  last_updated  timestamptz NOT NULL,
  deleted       boolean NOT NULL DEFAULT false,
  content       text,                       -- the resource JSON, with meta; NULL once deleted
  PRIMARY KEY (resource_type, id),
  UNIQUE (seq)
);
CREATE INDEX resource_type_seq ON fhir.resource (resource_type, seq) WHERE NOT deleted;
CREATE INDEX resource_type_updated ON fhir.resource (resource_type, last_updated, seq) WHERE NOT deleted;

-- Every version, including deletions (content NULL). `vseq` orders history newest first.
CREATE TABLE fhir.resource_version (
  vseq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  resource_type text NOT NULL,
  id            text NOT NULL,
  version_id    integer NOT NULL,
  last_updated  timestamptz NOT NULL,
  deleted       boolean NOT NULL,
  content       text,
  UNIQUE (resource_type, id, version_id)
);
CREATE INDEX resource_version_type ON fhir.resource_version (resource_type, vseq);

-- Search index tables. `res` is fhir.resource.seq; `param` the search parameter code.
-- Text keys use the C collation so prefix LIKE can walk the btree.
CREATE TABLE fhir.sp_token (
  res           bigint NOT NULL,
  resource_type text NOT NULL,
  param         text NOT NULL,
  system        text COLLATE "C",
  code          text COLLATE "C",
  display       text                        -- normalized Coding.display / CodeableConcept.text, for :text
);
CREATE INDEX sp_token_code ON fhir.sp_token (resource_type, param, code, system);
CREATE INDEX sp_token_res ON fhir.sp_token (res);

CREATE TABLE fhir.sp_string (
  res           bigint NOT NULL,
  resource_type text NOT NULL,
  param         text NOT NULL,
  value         text COLLATE "C" NOT NULL, -- normalized: NFKC, lower case, kana folded, no spaces
  exact         text NOT NULL               -- as written, for :exact
);
CREATE INDEX sp_string_value ON fhir.sp_string (resource_type, param, value);
CREATE INDEX sp_string_res ON fhir.sp_string (res);

CREATE TABLE fhir.sp_date (
  res           bigint NOT NULL,
  resource_type text NOT NULL,
  param         text NOT NULL,
  lo            timestamptz NOT NULL,       -- the value's range is [lo, hi)
  hi            timestamptz NOT NULL
);
CREATE INDEX sp_date_lo ON fhir.sp_date (resource_type, param, lo);
CREATE INDEX sp_date_hi ON fhir.sp_date (resource_type, param, hi);
CREATE INDEX sp_date_res ON fhir.sp_date (res);

CREATE TABLE fhir.sp_reference (
  res           bigint NOT NULL,
  resource_type text NOT NULL,
  param         text NOT NULL,
  target_type   text,
  target_id     text COLLATE "C",
  url           text COLLATE "C"            -- references that are not Type/id on this server
);
CREATE INDEX sp_reference_target ON fhir.sp_reference (resource_type, param, target_id, target_type);
CREATE INDEX sp_reference_revinclude ON fhir.sp_reference (target_type, target_id);
CREATE INDEX sp_reference_res ON fhir.sp_reference (res);

CREATE TABLE fhir.sp_number (
  res           bigint NOT NULL,
  resource_type text NOT NULL,
  param         text NOT NULL,
  value         numeric NOT NULL
);
CREATE INDEX sp_number_value ON fhir.sp_number (resource_type, param, value);
CREATE INDEX sp_number_res ON fhir.sp_number (res);

CREATE TABLE fhir.sp_quantity (
  res           bigint NOT NULL,
  resource_type text NOT NULL,
  param         text NOT NULL,
  value         numeric NOT NULL,
  system        text COLLATE "C",
  code          text COLLATE "C"
);
CREATE INDEX sp_quantity_value ON fhir.sp_quantity (resource_type, param, value);
CREATE INDEX sp_quantity_res ON fhir.sp_quantity (res);

CREATE TABLE fhir.sp_uri (
  res           bigint NOT NULL,
  resource_type text NOT NULL,
  param         text NOT NULL,
  value         text COLLATE "C" NOT NULL
);
CREATE INDEX sp_uri_value ON fhir.sp_uri (resource_type, param, value);
CREATE INDEX sp_uri_res ON fhir.sp_uri (res);
