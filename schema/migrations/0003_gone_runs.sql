-- Runs the provider answers "not found" for when polled by id (retention, deleted, a
-- wrong id in the inbox): no longer polled, unless they show up again in a listing.
CREATE TABLE IF NOT EXISTS gone_runs (
  source LowCardinality(String),
  run_id String,
  gone_at DateTime64(3, 'UTC'),
  reason String,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (source, run_id);
