-- The マイナ保険証 path of online eligibility confirmation (issue 18 item 3): which person a My
-- Number card's 利用者証明用電子証明書 (JPKI user-authentication certificate) belongs to.
--
-- The card reader presents the certificate, never the My Number; the authority links the
-- certificate's serial to the person through the My Number its issuer associates with it
-- (Patient/$register-card, the 利用登録). Neither number is kept: the serial as a keyed MAC under
-- its own key (derived from the registry secret, outside the database), the person as the keyed
-- MAC registry.my_number already holds, so a merge, which moves that binding to the survivor,
-- carries the card along and a leaked table links nothing to anyone.
CREATE TABLE registry.card_certificate (
  cert_mac      bytea PRIMARY KEY,          -- HMAC-SHA256(K_cert, "medid/jpki-cert/v1|" + serial)
  mac_version   smallint NOT NULL,
  my_number_mac bytea NOT NULL,             -- registry.my_number.mac of the person
  not_after     date NOT NULL,              -- the certificate's last valid day (JST)
  revoked_at    timestamptz,                -- J-LIS reported it revoked (失効): the card no longer confirms anyone
  linked_at     timestamptz NOT NULL DEFAULT now()
);
-- A person's certificates (a renewed card has a new one), for the authority's questions.
CREATE INDEX card_certificate_person ON registry.card_certificate (my_number_mac);
-- Append-only like the binding it leads to: a revoked certificate stays, marked, so it can never
-- be linked again to someone else.
CREATE TRIGGER card_certificate_no_delete BEFORE DELETE ON registry.card_certificate FOR EACH ROW EXECUTE FUNCTION registry.refuse_delete();
CREATE TRIGGER card_certificate_no_truncate BEFORE TRUNCATE ON registry.card_certificate FOR EACH STATEMENT EXECUTE FUNCTION registry.refuse_delete();
