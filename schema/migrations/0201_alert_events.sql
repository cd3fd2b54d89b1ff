-- Alerts: every firing and every resolution is one row; delivery updates the same row
-- (a higher version), so `delivered` and `error` say how its last delivery went.
CREATE TABLE IF NOT EXISTS alert_events (
  alert String,
  key String,
  state LowCardinality(String),
  at DateTime64(3, 'UTC'),
  message String,
  delivered UInt8,
  attempts UInt32,
  error String,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (alert, key, at, state);
