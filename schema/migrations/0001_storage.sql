-- Storage tables. Every synced entity is versioned: re-inserting a row is harmless,
-- the highest `version` per key wins (ReplacingMergeTree), and the analyst-facing
-- views in 0002 read the latest version without the caller writing FINAL.

CREATE TABLE IF NOT EXISTS run_versions (
  source LowCardinality(String),
  run_id String,
  provider LowCardinality(String),
  workflow_id String,
  workflow_name String,
  workflow_version String,
  status LowCardinality(String),
  provider_status String,
  is_terminal UInt8,
  created_at Nullable(DateTime64(3, 'UTC')),
  started_at Nullable(DateTime64(3, 'UTC')),
  finished_at Nullable(DateTime64(3, 'UTC')),
  updated_at Nullable(DateTime64(3, 'UTC')),
  queue_ms Nullable(Int64),
  duration_ms Nullable(Int64),
  total_ms Nullable(Int64),
  trigger String,
  triggered_by String,
  parent_run_id String,
  retry_of_run_id String,
  error String,
  cost Nullable(Float64),
  is_test UInt8,
  attributes Map(String, String),
  fingerprint String,
  first_seen_at DateTime64(3, 'UTC'),
  synced_at DateTime64(3, 'UTC'),
  sync_id String,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (source, run_id);

CREATE TABLE IF NOT EXISTS step_versions (
  source LowCardinality(String),
  run_id String,
  step_id String,
  provider LowCardinality(String),
  step_ref String,
  attempt UInt32,
  status LowCardinality(String),
  provider_status String,
  is_terminal UInt8,
  started_at Nullable(DateTime64(3, 'UTC')),
  finished_at Nullable(DateTime64(3, 'UTC')),
  duration_ms Nullable(Int64),
  error String,
  attributes Map(String, String),
  synced_at DateTime64(3, 'UTC'),
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (source, run_id, step_id);

CREATE TABLE IF NOT EXISTS event_versions (
  source LowCardinality(String),
  run_id String,
  event_id String,
  provider LowCardinality(String),
  seq Int64,
  event_type LowCardinality(String),
  occurred_at Nullable(DateTime64(3, 'UTC')),
  step_ref String,
  message String,
  data String,
  synced_at DateTime64(3, 'UTC'),
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (source, run_id, event_id);

CREATE TABLE IF NOT EXISTS link_versions (
  source LowCardinality(String),
  run_id String,
  url String,
  provider LowCardinality(String),
  label String,
  icon String,
  added_at Nullable(DateTime64(3, 'UTC')),
  synced_at DateTime64(3, 'UTC'),
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (source, run_id, url);

-- The latest detail answer of each run, credentials scrubbed, so rows can be re-derived without refetching.
CREATE TABLE IF NOT EXISTS raw_runs (
  source LowCardinality(String),
  run_id String,
  provider LowCardinality(String),
  fetched_at DateTime64(3, 'UTC'),
  payload String CODEC(ZSTD(3)),
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (source, run_id);

CREATE TABLE IF NOT EXISTS sync_run_versions (
  source LowCardinality(String),
  sync_id String,
  provider LowCardinality(String),
  started_at DateTime64(3, 'UTC'),
  finished_at Nullable(DateTime64(3, 'UTC')),
  status LowCardinality(String),
  pages UInt32,
  api_calls UInt32,
  runs_new UInt32,
  runs_updated UInt32,
  rows_written UInt64,
  retries UInt32,
  rate_limited UInt32,
  quarantined UInt32,
  error String,
  watermark_before Nullable(DateTime64(3, 'UTC')),
  watermark_after Nullable(DateTime64(3, 'UTC')),
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (source, sync_id);

-- Where a source stands: written only when a sync succeeds.
CREATE TABLE IF NOT EXISTS sync_state (
  source LowCardinality(String),
  watermark Nullable(DateTime64(3, 'UTC')),
  last_sync_id String,
  updated_at DateTime64(3, 'UTC'),
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY source;

-- Records that failed validation (and data warnings such as negative durations).
CREATE TABLE IF NOT EXISTS quarantine (
  source LowCardinality(String),
  received_at DateTime64(3, 'UTC'),
  provider LowCardinality(String),
  sync_id String,
  endpoint String,
  record_key String,
  severity LowCardinality(String),
  reason String,
  payload String CODEC(ZSTD(3))
) ENGINE = MergeTree
ORDER BY (source, received_at);

-- Run ids handed to runsync from outside (DX has no list endpoint).
CREATE TABLE IF NOT EXISTS inbox (
  source LowCardinality(String),
  run_id String,
  added_at DateTime64(3, 'UTC'),
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (source, run_id);
