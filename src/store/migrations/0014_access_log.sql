-- The access log (issue 17, privacy-design.md §6): every audit event is a leaf of one Merkle
-- tree (RFC 9162 §2.1), so that nobody — the authority included — can rewrite or drop an event
-- without the signed tree heads and the persons' chains showing it. Events recorded before this
-- migration are not in the log.

-- The entry's random nonce, also on the event, so a batch's leaves find their events in the
-- statement that inserts both (the nonce is in the hashed entry; the event id is not).
ALTER TABLE audit.event ADD COLUMN nonce text;

-- One row per leaf: its index in the tree, the event it logs, the canonical entry it hashes and
-- that hash; the person's pseudonym in the audit domain and the person's entry count (a person's
-- chain: each entry holds the previous one's leaf hash).
CREATE TABLE audit.log_leaf (
  idx     bigint PRIMARY KEY CHECK (idx >= 0),
  event   bigint NOT NULL UNIQUE,
  hash    bytea NOT NULL CHECK (length(hash) = 32),
  entry   text NOT NULL,
  person  text,
  pseq    integer,
  CHECK ((person IS NULL) = (pseq IS NULL)),
  UNIQUE (person, pseq)
);

-- The complete subtrees above the leaves (level ≥ 1), each stored once when its last leaf comes.
CREATE TABLE audit.log_node (
  level   smallint NOT NULL CHECK (level >= 1),
  idx     bigint NOT NULL CHECK (idx >= 0),
  hash    bytea NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (level, idx)
);

-- Signed tree heads: the C2SP checkpoint (with its Ed25519 signed-note line) of a size.
CREATE TABLE audit.log_head (
  size        bigint PRIMARY KEY CHECK (size >= 0),
  root        bytea NOT NULL CHECK (length(root) = 32),
  checkpoint  text NOT NULL,
  signed_at   timestamptz NOT NULL
);

-- Events written inside another transaction (a write and its audit commit together) wait here
-- until the appender gives them their leaves, right after that transaction commits.
CREATE TABLE audit.log_pending (
  event bigint PRIMARY KEY
);

CREATE FUNCTION audit.log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit.% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER log_leaf_no_change BEFORE UPDATE OR DELETE ON audit.log_leaf FOR EACH ROW EXECUTE FUNCTION audit.log_refuse_change();
CREATE TRIGGER log_leaf_no_truncate BEFORE TRUNCATE ON audit.log_leaf FOR EACH STATEMENT EXECUTE FUNCTION audit.log_refuse_change();
CREATE TRIGGER log_node_no_change BEFORE UPDATE OR DELETE ON audit.log_node FOR EACH ROW EXECUTE FUNCTION audit.log_refuse_change();
CREATE TRIGGER log_node_no_truncate BEFORE TRUNCATE ON audit.log_node FOR EACH STATEMENT EXECUTE FUNCTION audit.log_refuse_change();
CREATE TRIGGER log_head_no_change BEFORE UPDATE OR DELETE ON audit.log_head FOR EACH ROW EXECUTE FUNCTION audit.log_refuse_change();
CREATE TRIGGER log_head_no_truncate BEFORE TRUNCATE ON audit.log_head FOR EACH STATEMENT EXECUTE FUNCTION audit.log_refuse_change();
