-- A hash of what a run's rows say (its records after cleaning): a run fetched again with
-- nothing changed is not written again.
ALTER TABLE run_versions ADD COLUMN IF NOT EXISTS content_hash String DEFAULT '';
