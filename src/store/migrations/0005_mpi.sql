-- Patient matching ($match): each Patient's match features and its blocking keys, kept in step
-- with every write of the Patient; value frequencies and estimated weights written by
-- `medid mpi estimate`. Merged (replaced) Patients have no rows here: $match never returns them.

CREATE SCHEMA IF NOT EXISTS mpi;

CREATE TABLE mpi.features (
  patient_id text PRIMARY KEY,
  features   jsonb NOT NULL            -- src/mpi/features.ts MatchFeatures
);

CREATE TABLE mpi.block (
  key        text COLLATE "C" NOT NULL, -- src/mpi/features.ts blockingKeys, e.g. f:サト|1980
  patient_id text NOT NULL,
  PRIMARY KEY (key, patient_id)
);
CREATE INDEX block_patient ON mpi.block (patient_id);

-- How many persons carry each name value (frequency-aware weights); rebuilt by each estimate.
CREATE TABLE mpi.value_count (
  field text NOT NULL,
  value text COLLATE "C" NOT NULL,
  n     integer NOT NULL,
  PRIMARY KEY (field, value)
);

-- Estimated weights, newest last; the newest is used.
CREATE TABLE mpi.weights (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  estimated_at timestamptz NOT NULL DEFAULT now(),
  weights      jsonb NOT NULL
);
