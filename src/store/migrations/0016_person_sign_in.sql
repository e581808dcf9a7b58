-- The person's sign-in (issue 17 item 5): SMART standalone patient launch with PKCE, people
-- authenticated by an OpenID Connect identity provider, never by medid itself. Every table lives
-- in the database (not in a node's memory) so any medid node can take any step of a sign-in.

-- An authorization request waiting for the identity provider: the app's request, medid's own
-- PKCE verifier and nonce towards the IdP. Keyed by a hash of the state medid sent the IdP; a
-- row is taken (deleted) by the callback that uses it, so a state is redeemed once.
CREATE TABLE auth.person_login (
  state_hash    bytea PRIMARY KEY,
  client_id     text NOT NULL,
  redirect_uri  text NOT NULL,
  app_state     text,
  scope         text NOT NULL,
  code_challenge text NOT NULL,
  idp_verifier  text NOT NULL,
  idp_nonce     text NOT NULL,
  expires_at    timestamptz NOT NULL
);
CREATE INDEX person_login_expires ON auth.person_login (expires_at);

-- An authorization code medid issued to the app: only its hash, bound to the client, the
-- redirect URI and the PKCE challenge; deleted by the token request that redeems it.
CREATE TABLE auth.person_code (
  code_hash      bytea PRIMARY KEY,
  client_id      text NOT NULL,
  redirect_uri   text NOT NULL,
  code_challenge text NOT NULL,
  scope          text NOT NULL,
  patient_id     text NOT NULL,
  expires_at     timestamptz NOT NULL
);
CREATE INDEX person_code_expires ON auth.person_code (expires_at);

-- Which person an identity provider's subject is: bound by the My Number's keyed MAC the first
-- time the IdP presented the number (the number itself is never stored). Later sign-ins find the
-- person through the MAC even when the IdP does not present the number again; an IdP presenting
-- another number for the same subject is refused.
CREATE TABLE auth.person_subject (
  issuer      text NOT NULL,
  subject     text NOT NULL,
  mn_mac      bytea NOT NULL,
  mac_version int2 NOT NULL,
  bound_at    timestamptz NOT NULL,
  PRIMARY KEY (issuer, subject)
);
