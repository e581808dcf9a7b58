-- The access log, leaner (issue 17 item 3: the log may cost at most 10 % of audited throughput).
--
-- A leaf no longer keeps its entry's text: the entry is the event's columns plus the leaf's person
-- and seq, the event's nonce and the hash of the person's previous leaf, so `medid log verify` and
-- the inclusion proof rebuild it (audit/log-entry.ts), and the hash still commits to every field.
-- The ~1 KB of text per event, written in the statement a disclosure waits for, was the largest
-- part of what the log added to it.
--
-- Every logged event must hold its entry's nonce for that. Events that waited in audit.log_pending
-- got theirs only in the leaf's text: it is copied to the event row first; those still waiting
-- get one now (they have no leaf, so no hash committed to any nonce yet). Nothing else of an event
-- is touched.
ALTER TABLE audit.event DISABLE TRIGGER event_no_update;
UPDATE audit.event e SET nonce = l.entry::json ->> 'nonce'
  FROM audit.log_leaf l
 WHERE l.event = e.seq AND e.nonce IS NULL;
UPDATE audit.event e
   SET nonce = rtrim(translate(encode(decode(replace(gen_random_uuid()::text, '-', ''), 'hex'), 'base64'), '+/', '-_'), '=')
 WHERE e.nonce IS NULL AND EXISTS (SELECT 1 FROM audit.log_pending p WHERE p.event = e.seq);
ALTER TABLE audit.event ENABLE TRIGGER event_no_update;

ALTER TABLE audit.log_leaf DROP COLUMN entry;

-- One byte per entry field (in the entry's RFC 8785 key order), a short fingerprint of its value:
-- only so that `medid log verify` can say which field of a rewritten event changed. Not part of
-- the entry or its hash, proves nothing; absent for leaves written before this migration.
ALTER TABLE audit.log_leaf ADD COLUMN fields bytea;

-- Subtrees below level 8 (256 leaves) are no longer stored: each is folded from at most 256 leaf
-- hashes when a proof, a root or the appender's frontier needs it (audit/stored-tree.ts). Those
-- stored before stay, and are still checked.
