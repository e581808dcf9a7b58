-- The access log's order, apart from its hashes (issue 17 item 3: the log may cost at most 10 % of
-- audited throughput).
--
-- A disclosure waits for its event's place in the log — its leaf index — and that place is written
-- in the statement that inserts the event (or, for a write's events, right after its transaction
-- commits, before its response leaves). Everything that goes into the leaf follows from what that
-- commit fixed: the event row with its nonce, and, in index order, the person's seq and previous
-- leaf hash. So the entry is hashed, chained and folded into the tree a few milliseconds later, in
-- index order, by the appender (audit/access-log.ts), off the path a response waits on.
--
-- This is not a weaker log: until a signed tree head covers a leaf, its stored hash could be
-- rewritten as easily as its event row by whoever can bypass the triggers — heads are what make
-- it tamper-evident, and a head is only ever signed over hashed leaves. `medid log verify` checks
-- that every numbered event is hashed under the same index and reports those still waiting.
CREATE TABLE audit.log_order (
  idx    bigint PRIMARY KEY CHECK (idx >= 0),
  event  bigint NOT NULL UNIQUE
);

CREATE TRIGGER log_order_no_change BEFORE UPDATE OR DELETE ON audit.log_order FOR EACH ROW EXECUTE FUNCTION audit.log_refuse_change();
CREATE TRIGGER log_order_no_truncate BEFORE TRUNCATE ON audit.log_order FOR EACH STATEMENT EXECUTE FUNCTION audit.log_refuse_change();

-- Every leaf so far was numbered and hashed at once: its place is its index.
INSERT INTO audit.log_order (idx, event) SELECT idx, event FROM audit.log_leaf;

-- A leaf's event is its place's: the leaf row no longer names it (one unique index less in what
-- every event costs).
ALTER TABLE audit.log_leaf DROP COLUMN event;
