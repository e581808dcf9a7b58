-- Authorized linkage between utilizing databases (issue 16 item 6, privacy-design.md §5): a
-- linkage order is inert until k distinct authority officers have signed its canonical text;
-- then each of its databases converts its own pseudonyms into the order's project pseudonyms,
-- under a key derived from the master (outside the database) and this order's salt. At closure,
-- revocation or expiry the salt is destroyed, and the project pseudonyms can never be made again.

CREATE TABLE pseudonym.linkage_order (
  id            text PRIMARY KEY,             -- the order's Task id
  canonical     text NOT NULL,                -- the order as RFC 8785 JSON: what officers sign
  order_hash    text NOT NULL,                -- SHA-256 of `canonical`, base64url
  domains       text[] NOT NULL CHECK (cardinality(domains) >= 2),
  period_start  date NOT NULL,
  period_end    date NOT NULL CHECK (period_end >= period_start),
  requested_by  text NOT NULL,                -- the client that filed it (never one of its approvers)
  status        text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'active', 'closed', 'revoked', 'expired')),
  salt          bytea CHECK (salt IS NULL OR length(salt) = 32),
  filed_at      timestamptz NOT NULL,
  activated_at  timestamptz,
  ended_at      timestamptz,
  -- A salt exists exactly while the order is active: none before approval, none ever after.
  CHECK ((status = 'active') = (salt IS NOT NULL))
);

-- Each officer's signed approval, kept as signed (anyone can verify it again with the officer's key).
CREATE TABLE pseudonym.linkage_approval (
  order_id    text NOT NULL REFERENCES pseudonym.linkage_order (id),
  officer     text NOT NULL,                  -- the officer's client id
  jws         text NOT NULL,
  approved_at timestamptz NOT NULL,
  PRIMARY KEY (order_id, officer)
);

-- Conversion batches: counts, never values.
CREATE TABLE pseudonym.linkage_batch (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id   text NOT NULL REFERENCES pseudonym.linkage_order (id),
  domain     text NOT NULL,
  submitted  integer NOT NULL,
  converted  integer NOT NULL,
  at         timestamptz NOT NULL
);

-- Orders, approvals and batches are a record: never deleted.
CREATE FUNCTION pseudonym.refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% rows are never deleted', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER linkage_order_no_delete BEFORE DELETE ON pseudonym.linkage_order FOR EACH ROW EXECUTE FUNCTION pseudonym.refuse_delete();
CREATE TRIGGER linkage_approval_no_delete BEFORE DELETE ON pseudonym.linkage_approval FOR EACH ROW EXECUTE FUNCTION pseudonym.refuse_delete();
CREATE TRIGGER linkage_batch_no_delete BEFORE DELETE ON pseudonym.linkage_batch FOR EACH ROW EXECUTE FUNCTION pseudonym.refuse_delete();

-- A salt, once destroyed, never comes back; an ended order never starts again.
CREATE FUNCTION pseudonym.linkage_order_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.canonical <> OLD.canonical OR NEW.id <> OLD.id THEN
    RAISE EXCEPTION 'linkage_order: an order never changes' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.status IN ('closed', 'revoked', 'expired') AND (NEW.status <> OLD.status OR NEW.salt IS NOT NULL) THEN
    RAISE EXCEPTION 'linkage_order: an ended order stays ended' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.status = 'active' AND NEW.status = 'active' AND NEW.salt IS DISTINCT FROM OLD.salt THEN
    RAISE EXCEPTION 'linkage_order: the salt never changes' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER linkage_order_guard BEFORE UPDATE ON pseudonym.linkage_order FOR EACH ROW EXECUTE FUNCTION pseudonym.linkage_order_guard();
