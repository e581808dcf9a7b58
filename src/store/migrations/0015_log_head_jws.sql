-- A signed tree head is also a JWS (EdDSA) over {origin, size, root, time}, kept beside its C2SP
-- checkpoint (audit/tree-heads.ts writes both, always). Nullable only for heads stored by other
-- means (a checkpoint imported or written by a test): their JWS is absent, never made up.
ALTER TABLE audit.log_head ADD COLUMN jws text;
