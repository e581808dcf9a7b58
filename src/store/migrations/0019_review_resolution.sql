-- Resolving registrations held for review (Task/$resolve): the review row records the decision,
-- once. A resolution binds the held My Number MAC to the person and then forgets it here (the
-- binding in registry.my_number is the one place it lives on); the MAC's key version is kept
-- beside it from the hold on, so the binding stores the version the MAC was made with.
ALTER TABLE registry.review
  ADD COLUMN mn_mac_version   smallint,
  ADD COLUMN resolved_at      timestamptz,
  ADD COLUMN resolved_patient text,
  ADD COLUMN resolution       text CHECK (resolution IN ('person', 'new-person')),
  ADD CONSTRAINT review_resolved_whole CHECK ((resolved_at IS NULL) = (resolved_patient IS NULL) AND (resolved_at IS NULL) = (resolution IS NULL));
