-- The pseudonymization service's own schema (issue 16, privacy-design.md §1, §4): the closed
-- list of pseudonym domains, one per utilizing database. The domain keys are not here: they
-- derive from a master secret held outside the database.
CREATE SCHEMA IF NOT EXISTS pseudonym;

CREATE TABLE pseudonym.domain (
  code       text COLLATE "C" PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9-]{1,63}$'),
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The national databases the seeds name, so a fresh deployment can register their clients;
-- the authority adds the rest (medid domain add, MEDID_DOMAINS_FILE).
INSERT INTO pseudonym.domain (code, name) VALUES
  ('ndb', 'NDB（レセプト情報・特定健診等情報データベース）'),
  ('kaigo', '介護DB（介護保険総合データベース）'),
  ('dpc', 'DPCデータベース'),
  ('nanbyo', '難病データベース'),
  ('shoman', '小児慢性特定疾病児童等データベース'),
  ('gan-toroku', '全国がん登録データベース');
