-- My Number, kept only as a keyed MAC (the key lives outside the database): one person per My
-- Number. Rows are never deleted, so a number once registered stays bound to its person.

CREATE SCHEMA IF NOT EXISTS registry;

CREATE TABLE registry.my_number (
  mac          bytea PRIMARY KEY,        -- HMAC-SHA256(K_mn, "medid/mn/v1|" + digits)
  mac_version  smallint NOT NULL,
  patient_id   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX my_number_patient ON registry.my_number (patient_id);

CREATE FUNCTION registry.refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER my_number_no_delete BEFORE DELETE ON registry.my_number FOR EACH ROW EXECUTE FUNCTION registry.refuse_delete();
CREATE TRIGGER my_number_no_truncate BEFORE TRUNCATE ON registry.my_number FOR EACH STATEMENT EXECUTE FUNCTION registry.refuse_delete();
